//! Platform-certificate mode: download `GET /v3/certificates`, decrypt each certificate with the
//! APIv3 key, and keep their keys in the [`KeyRing`](super::keyring::KeyRing). Refreshed on a timer and, rate-limited, when
//! an answer names a serial we do not hold (so an attacker cannot make us hammer WeChat).
//! Implements pay.weixin.qq.com merchant docs, 平台证书 > 下载平台证书 (`GET /v3/certificates`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::client::{Client, Method, WechatError};
use super::crypto;
use super::der;
use super::keyring::CertKey;
use super::keys::{PublicKey, parse_pem};

/// Shortest time between two refreshes triggered by unknown serials.
pub const MIN_REFRESH_GAP: Duration = Duration::from_secs(60);

/// Path of the certificate download.
pub const CERTIFICATES_PATH: &str = "/v3/certificates";

/// Refresh bookkeeping, shared by clones of a client.
#[derive(Debug)]
pub struct CertState {
    api_v3_key: Option<Vec<u8>>,
    last_attempt: tokio::sync::Mutex<Option<Instant>>,
}

impl CertState {
    pub(super) fn new(api_v3_key: Option<Vec<u8>>) -> Self {
        Self {
            api_v3_key,
            last_attempt: tokio::sync::Mutex::new(None),
        }
    }
}

#[derive(Debug, Deserialize)]
struct CertificateList {
    data: Vec<CertificateEntry>,
}

#[derive(Debug, Deserialize)]
struct CertificateEntry {
    serial_no: String,
    #[serde(default)]
    effective_time: String,
    #[serde(default)]
    expire_time: String,
    encrypt_certificate: EncryptedCertificate,
}

#[derive(Debug, Deserialize)]
struct EncryptedCertificate {
    #[serde(default)]
    associated_data: String,
    nonce: String,
    ciphertext: String,
}

fn rfc3339(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

impl Client {
    /// Periodic refresh runs in platform-certificate mode: no public key configured, or
    /// certificates already in use next to it.
    pub fn certificates_enabled(&self) -> bool {
        self.may_download_certificates()
            && (!self.keys.has_public_key() || self.keys.certificate_count() > 0)
    }

    /// An unknown serial may trigger a (rate-limited) download whenever the APIv3 key is known:
    /// during a merchant's migration WeChat signs with the platform certificate and the public
    /// key side by side, so a public-key setup must still accept certificate serials.
    pub fn may_download_certificates(&self) -> bool {
        self.certs.api_v3_key.is_some()
    }

    /// Downloads and installs the platform certificates. Trust in the first download comes from
    /// AES-GCM (only WeChat and we know the APIv3 key); the answer's signature must then verify
    /// with one of the certificates it carries.
    pub async fn refresh_certificates(&self) -> Result<usize, WechatError> {
        // Held for the whole download: a rate-limited refresh asked for meanwhile waits for
        // this one instead of skipping it and verifying against keys not yet installed.
        let mut last_attempt = self.certs.last_attempt.lock().await;
        *last_attempt = Some(Instant::now());
        self.download_certificates().await
    }

    async fn download_certificates(&self) -> Result<usize, WechatError> {
        let key = self
            .certs
            .api_v3_key
            .as_deref()
            .ok_or_else(|| WechatError::Request("no APIv3 key".into()))?;
        let serial = self.keys.preferred().map(|(s, _)| s);
        let (_, headers, raw) = self
            .send(Method::Get, CERTIFICATES_PATH, None, serial.as_deref())
            .await?;
        let list: CertificateList =
            serde_json::from_slice(&raw).map_err(|e| WechatError::Decode(e.to_string()))?;
        let mut certs = HashMap::new();
        for entry in list.data {
            let c = &entry.encrypt_certificate;
            let pem = crypto::decrypt_resource(key, &c.nonce, &c.associated_data, &c.ciphertext)
                .map_err(|e| {
                    WechatError::Decode(format!("certificate {}: {e}", entry.serial_no))
                })?;
            let pem = String::from_utf8(pem)
                .map_err(|_| WechatError::Decode("certificate is not UTF-8".into()))?;
            let der_bytes = parse_pem(&pem, "certificate")
                .map_err(|e| WechatError::Decode(e.to_string()))?
                .der;
            let info = der::parse_certificate(&der_bytes)
                .map_err(|e| WechatError::Decode(e.to_string()))?;
            let public = PublicKey::from_spki(info.spki_der)
                .map_err(|e| WechatError::Decode(e.to_string()))?;
            let cert = CertKey {
                key: Arc::new(public),
                effective: rfc3339(&entry.effective_time).unwrap_or(0),
                expires: rfc3339(&entry.expire_time).unwrap_or(i64::MAX),
            };
            certs.insert(entry.serial_no, cert);
        }
        let signed = crypto::SignedHeaders::from_headers(&headers);
        let key = certs
            .get(&signed.serial)
            .map(|c| c.key.clone())
            .or_else(|| self.keys.get(&signed.serial));
        crypto::verify_signed(&signed, &raw, self.clock.now(), |_| key.as_deref())
            .map_err(WechatError::Unverified)?;
        let n = certs.len();
        self.keys.set_certificates(certs);
        Ok(n)
    }

    /// Refreshes unless a refresh was attempted within [`MIN_REFRESH_GAP`].
    pub async fn refresh_certificates_rate_limited(&self) {
        let mut last_attempt = self.certs.last_attempt.lock().await;
        if last_attempt.is_some_and(|t| t.elapsed() < MIN_REFRESH_GAP) {
            return;
        }
        *last_attempt = Some(Instant::now());
        if let Err(e) = self.download_certificates().await {
            tracing::warn!(error = %e, "platform certificate refresh failed");
        }
    }
}
