//! The v3 HTTP client: one pipeline for every endpoint. Serialise once, sign those exact bytes
//! (`WECHATPAY2-SHA256-RSA2048`, 32-character CSPRNG nonce), always send `Wechatpay-Serial`,
//! time out, verify the answer's signature over the raw bytes (204s included), and keep
//! WeChat's errors as data.

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::certs::{CERTIFICATES_PATH, CertificateSource, PlatformCertificates};
use super::crypto::{self, Clock, SignedHeaders, VerifyError};
pub use super::error::{WechatError, WechatRefusal};
use super::keyring::KeyRing;
use super::keys::MerchantKey;

/// Our User-Agent, as the official SDKs send one.
pub const USER_AGENT: &str = concat!(
    "pay-common/",
    env!("CARGO_PKG_VERSION"),
    " (Rust; aws-lc-rs)"
);

/// HTTP method of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
}

impl Method {
    /// As signed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

/// One WeChat Pay endpoint: a request type that knows its method, target and body.
pub trait Endpoint {
    /// What a verified 2xx decodes into (`()` for 204s).
    type Output: DeserializeOwned;
    /// The official doc page this implements.
    const DOC: &'static str;
    /// HTTP method.
    const METHOD: Method;
    /// Path and query exactly as sent (already percent-encoded).
    fn target(&self) -> String;
    /// The exact body bytes, if any.
    fn body(&self) -> Option<&[u8]> {
        None
    }
}

/// A verified answer.
#[derive(Debug, Clone)]
pub struct Verified<T> {
    /// HTTP status (200 or 204).
    pub status: u16,
    /// Decoded body.
    pub data: T,
    /// Raw body bytes as verified.
    pub raw: bytes::Bytes,
    /// `Request-ID`.
    pub request_id: Option<String>,
}

impl<T> Verified<T> {
    /// The verified body as JSON, exactly as WeChat sent it (`null` for a 204).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.raw).unwrap_or(serde_json::Value::Null)
    }
}

/// The signing identity of the merchant.
#[derive(Debug)]
pub struct Signer {
    /// Merchant id.
    pub mchid: String,
    /// Merchant certificate serial.
    pub serial: String,
    /// Merchant private key.
    pub key: Arc<MerchantKey>,
}

/// The WeChat Pay v3 client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: Arc<str>,
    signer: Arc<Signer>,
    /// Verification keys (shared with the callback verifier and the certificate refresher).
    pub keys: Arc<KeyRing>,
    clock: Arc<dyn Clock>,
    certs: Arc<PlatformCertificates>,
}

impl Client {
    /// A client for `base_url` (no trailing slash) with a per-request timeout.
    /// `api_v3_key` enables platform-certificate mode (downloading `/v3/certificates`).
    pub fn new(
        base_url: &str,
        timeout: Duration,
        signer: Arc<Signer>,
        keys: Arc<KeyRing>,
        api_v3_key: Option<Vec<u8>>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            // WeChat closes idle connections after 8 s; drop ours before that.
            .pool_idle_timeout(Duration::from_secs(7))
            .user_agent(USER_AGENT)
            .build()
            .expect("HTTP client with rustls");
        let certs = Arc::new(PlatformCertificates::new(
            api_v3_key,
            keys.clone(),
            clock.clone(),
        ));
        Self {
            http,
            base_url: base_url.trim_end_matches('/').into(),
            signer,
            keys,
            clock,
            certs,
        }
    }

    /// The merchant id requests are signed for.
    pub fn mchid(&self) -> &str {
        &self.signer.mchid
    }

    /// Sends an endpoint request and verifies the answer.
    pub async fn execute<E: Endpoint>(
        &self,
        endpoint: &E,
    ) -> Result<Verified<E::Output>, WechatError> {
        let serial = self.keys.preferred().map(|(s, _)| s);
        let (status, headers, raw) = self
            .send(
                E::METHOD,
                &endpoint.target(),
                endpoint.body(),
                serial.as_deref(),
            )
            .await?;
        self.verify(&headers, &raw).await?;
        let data = decode::<E::Output>(status, &raw)?;
        Ok(Verified {
            status,
            data,
            raw,
            request_id: request_id(&headers),
        })
    }

    /// Verifies a 2xx answer. In platform-certificate mode an unknown serial asks for a
    /// certificate download (see [`certs`](super::certs) for when one is made) and a second try.
    pub async fn verify(&self, headers: &http::HeaderMap, raw: &[u8]) -> Result<(), WechatError> {
        let signed = SignedHeaders::from_headers(headers);
        let check = || {
            let key = self.keys.get(&signed.serial);
            crypto::verify_signed(&signed, raw, self.clock.now(), |_| key.as_deref())
        };
        match check() {
            Err(VerifyError::UnknownSerial(_)) if self.may_download_certificates() => {
                self.certs.refresh_for_unknown_serial(self).await;
                check().map_err(WechatError::Unverified)
            }
            other => other.map_err(WechatError::Unverified),
        }
    }

    /// Periodic certificate downloads run in platform-certificate mode: no public key
    /// configured, or certificates already in use next to it.
    pub fn certificates_enabled(&self) -> bool {
        self.certs.periodic()
    }

    /// An unknown serial may ask for a certificate download whenever the APIv3 key is known.
    pub fn may_download_certificates(&self) -> bool {
        self.certs.may_download()
    }

    /// Downloads and installs the platform certificates now.
    pub async fn refresh_certificates(&self) -> Result<usize, WechatError> {
        self.certs.refresh(self).await
    }

    /// Downloads the platform certificates, retrying failures with a short backoff until one
    /// succeeds (what the service runs at start and on its timer). Returns how many are held.
    pub async fn refresh_certificates_with_retry(&self) -> usize {
        self.certs.refresh_with_retry(self).await
    }

    /// A serial we do not hold was named (an answer or a callback): download if the schedule
    /// allows, so a forged serial cannot make us hammer WeChat.
    pub async fn refresh_certificates_rate_limited(&self) {
        self.certs.refresh_for_unknown_serial(self).await;
    }

    /// Signs and sends one request; a non-2xx becomes `WechatError::Api`. The caller verifies.
    pub async fn send(
        &self,
        method: Method,
        target: &str,
        body: Option<&[u8]>,
        wechatpay_serial: Option<&str>,
    ) -> Result<(u16, http::HeaderMap, bytes::Bytes), WechatError> {
        let body = body.unwrap_or_default();
        let nonce = crypto::random_alphanumeric(crypto::NONCE_LEN);
        let ts = self.clock.now();
        let message = crypto::request_message(method.as_str(), target, ts, &nonce, body);
        let signature = self.signer.key.sign(&message);
        let auth = crypto::authorization(
            &self.signer.mchid,
            &nonce,
            ts,
            &self.signer.serial,
            &signature,
        );
        let url = format!("{}{}", self.base_url, target);
        let mut auth_value =
            http::HeaderValue::from_str(&auth).map_err(|e| WechatError::Request(e.to_string()))?;
        auth_value.set_sensitive(true);
        let mut req = match method {
            Method::Get => self.http.get(&url),
            Method::Post => self
                .http
                .post(&url)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec()),
        }
        .header(http::header::AUTHORIZATION, auth_value)
        .header(http::header::ACCEPT, "application/json");
        if let Some(serial) = wechatpay_serial {
            req = req.header(crypto::HEADER_SERIAL, serial);
        }
        let resp = req.send().await.map_err(transport_error)?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let raw = resp.bytes().await.map_err(transport_error)?;
        if !(200..300).contains(&status) {
            return Err(WechatError::Api(api_error(status, &headers, &raw)));
        }
        Ok((status, headers, raw))
    }
}

impl CertificateSource for Client {
    async fn download(
        &self,
        serial: Option<&str>,
    ) -> Result<(http::HeaderMap, bytes::Bytes), WechatError> {
        let (_, headers, raw) = self
            .send(Method::Get, CERTIFICATES_PATH, None, serial)
            .await?;
        Ok((headers, raw))
    }
}

fn transport_error(e: reqwest::Error) -> WechatError {
    if e.is_timeout() {
        WechatError::Timeout
    } else {
        WechatError::Transport(without_url(&e))
    }
}

/// reqwest errors print the URL; ours holds no secrets, but keep messages short and stable.
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(url) = e.url() {
        s = s.replace(url.as_str(), "");
    }
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        s = format!("{s}: {inner}");
        source = inner.source();
    }
    s
}

fn request_id(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get(crypto::HEADER_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn api_error(status: u16, headers: &http::HeaderMap, raw: &[u8]) -> WechatRefusal {
    #[derive(serde::Deserialize, Default)]
    struct Body {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
        #[serde(default)]
        detail: Option<serde_json::Value>,
    }
    let body: Body = serde_json::from_slice(raw).unwrap_or_default();
    let code = if body.code.is_empty() {
        format!("HTTP_{status}")
    } else {
        body.code
    };
    let message = if body.message.is_empty() {
        String::from_utf8_lossy(&raw[..raw.len().min(200)]).into_owned()
    } else {
        body.message
    };
    WechatRefusal {
        status,
        code,
        message,
        detail: body.detail,
        request_id: request_id(headers),
    }
}

fn decode<T: DeserializeOwned>(status: u16, raw: &[u8]) -> Result<T, WechatError> {
    let raw = if status == 204 || raw.is_empty() {
        &b"null"[..]
    } else {
        raw
    };
    serde_json::from_slice(raw).map_err(|e| WechatError::Decode(e.to_string()))
}
