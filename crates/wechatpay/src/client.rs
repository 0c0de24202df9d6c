//! The v3 HTTP client: one pipeline for every endpoint. Serialise once, sign those exact bytes
//! (`WECHATPAY2-SHA256-RSA2048`, 32-character CSPRNG nonce), always send `Wechatpay-Serial`,
//! time out, verify the answer's signature over the raw bytes (204s included), and keep
//! WeChat's errors as data.

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::crypto::{self, Clock, SignedHeaders, VerifyError};
use super::keyring::KeyRing;
use super::keys::MerchantKey;

/// Our User-Agent, as the official SDKs send one.
pub const USER_AGENT: &str = concat!(
    "pay-common/",
    env!("CARGO_PKG_VERSION"),
    " (Rust; aws-lc-rs)"
);

/// What WeChat answered with an error, kept as data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WechatRefusal {
    /// HTTP status.
    pub status: u16,
    /// WeChat's code, e.g. `ORDERPAID`, `PARAM_ERROR`.
    pub code: String,
    /// WeChat's human message.
    pub message: String,
    /// WeChat's `detail` object, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
    /// `Request-ID`, for WeChat support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Why a call did not produce a verified answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WechatError {
    /// WeChat answered with a non-2xx status.
    Api(WechatRefusal),
    /// No answer within the timeout.
    Timeout,
    /// Connection or protocol failure.
    Transport(String),
    /// A 2xx whose signature did not verify: treated as no answer at all.
    Unverified(VerifyError),
    /// A verified 2xx whose body is not what the endpoint returns.
    Decode(String),
    /// We could not build the request (e.g. nothing to encrypt a sensitive field with).
    Request(String),
}

impl std::fmt::Display for WechatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Api(e) => write!(
                f,
                "WeChat Pay answered {} {}: {}",
                e.status, e.code, e.message
            ),
            Self::Timeout => write!(f, "WeChat Pay did not answer in time"),
            Self::Transport(e) => write!(f, "WeChat Pay unreachable: {e}"),
            Self::Unverified(e) => write!(f, "WeChat Pay answer failed verification: {e}"),
            Self::Decode(e) => write!(f, "WeChat Pay answer not understood: {e}"),
            Self::Request(e) => write!(f, "request not sent: {e}"),
        }
    }
}

impl std::error::Error for WechatError {}

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
    pub(super) clock: Arc<dyn Clock>,
    pub(super) certs: Arc<super::certs::CertState>,
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
        let certs = Arc::new(super::certs::CertState::new(api_v3_key));
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

    /// Verifies a 2xx answer. In platform-certificate mode an unknown serial triggers one
    /// rate-limited certificate refresh and a second try.
    pub async fn verify(&self, headers: &http::HeaderMap, raw: &[u8]) -> Result<(), WechatError> {
        let signed = SignedHeaders::from_headers(headers);
        let check = || {
            let key = self.keys.get(&signed.serial);
            crypto::verify_signed(&signed, raw, self.clock.now(), |_| key.as_deref())
        };
        match check() {
            Err(VerifyError::UnknownSerial(_)) if self.may_download_certificates() => {
                self.refresh_certificates_rate_limited().await;
                check().map_err(WechatError::Unverified)
            }
            other => other.map_err(WechatError::Unverified),
        }
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
