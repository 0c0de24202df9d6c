//! Platform-certificate mode: download `GET /v3/certificates`, decrypt each certificate with the
//! APIv3 key, read it as X.509 and keep its key in the [`KeyRing`]. Implements
//! pay.weixin.qq.com merchant docs, 平台证书 > 下载平台证书 (`GET /v3/certificates`).
//!
//! When to download is decided here; how to send the request is not. The download goes through
//! a [`CertificateSource`] (the [`Client`](super::client::Client) is one), so this module does
//! not import the client and the client only calls in.
//!
//! The schedule:
//! - the service downloads at start and on its timer with [`PlatformCertificates::refresh_with_retry`]:
//!   a failed download is retried after 0.5 s, doubling up to 30 s, until one succeeds, so a
//!   WeChat outage while an instance starts costs seconds, not the next timer tick;
//! - an answer or callback naming a serial we do not hold asks for a download
//!   ([`PlatformCertificates::refresh_for_unknown_serial`]). While we hold a key, such requests
//!   are limited to one per [`MIN_REFRESH_GAP`] (so forged serials cannot make us hammer
//!   WeChat); while we hold no key at all nothing verifies anyway, and one is made at once,
//!   at most one per [`RECOVERY_GAP`]. Requests that arrive while a download is running wait for
//!   it and use its result instead of starting another.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use super::crypto::{self, Clock, SignedHeaders};
use super::error::WechatError;
use super::keyring::{CertKey, KeyRing};
use super::keys::{PublicKey, parse_pem};
use super::x509;

/// Shortest time between two downloads asked for by unknown serials while we hold a key.
pub const MIN_REFRESH_GAP: Duration = Duration::from_secs(60);

/// Shortest time between two downloads asked for by unknown serials while we hold no key.
pub const RECOVERY_GAP: Duration = Duration::from_millis(500);

/// Wait before the first retry of a failed download; doubled after each failure.
pub const FIRST_RETRY: Duration = Duration::from_millis(500);

/// Longest wait between two retries of a failed download.
pub const MAX_RETRY: Duration = Duration::from_secs(30);

/// Path of the certificate download.
pub const CERTIFICATES_PATH: &str = "/v3/certificates";

/// One signed `GET /v3/certificates`: the raw 2xx body and its headers, not yet verified
/// (the certificates that verify it are inside). A non-2xx or a transport failure is an error.
pub trait CertificateSource: Send + Sync {
    /// Sends the download, naming `serial` in `Wechatpay-Serial` when we hold a key.
    fn download(
        &self,
        serial: Option<&str>,
    ) -> impl Future<Output = Result<(http::HeaderMap, bytes::Bytes), WechatError>> + Send;
}

/// The wait before retry number `failures` (1 = after the first failure).
pub fn retry_delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    (FIRST_RETRY * 2u32.pow(doublings)).min(MAX_RETRY)
}

#[derive(Debug, Default)]
struct Schedule {
    /// When the last download ended.
    last_attempt: Option<Instant>,
    /// Failed downloads since the last success.
    failures: u32,
}

/// The certificates' keeper: the APIv3 key that decrypts them, the ring they go into and the
/// download schedule. Shared by clones of a client. `Debug` leaves the key out.
pub struct PlatformCertificates {
    api_v3_key: Option<Vec<u8>>,
    keys: Arc<KeyRing>,
    clock: Arc<dyn Clock>,
    /// Held for the whole of a download: one at a time.
    schedule: tokio::sync::Mutex<Schedule>,
    /// Downloads ended, ever: lets a waiter see that one ran while it waited.
    ended: AtomicU64,
}

impl std::fmt::Debug for PlatformCertificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformCertificates")
            .field("enabled", &self.may_download())
            .field("certificates", &self.keys.certificate_count())
            .finish_non_exhaustive()
    }
}

impl PlatformCertificates {
    /// A keeper installing into `keys`; `api_v3_key` enables downloads.
    pub fn new(api_v3_key: Option<Vec<u8>>, keys: Arc<KeyRing>, clock: Arc<dyn Clock>) -> Self {
        Self {
            api_v3_key,
            keys,
            clock,
            schedule: tokio::sync::Mutex::new(Schedule::default()),
            ended: AtomicU64::new(0),
        }
    }

    /// Downloads are possible whenever the APIv3 key is known: during a merchant's migration
    /// WeChat signs with the platform certificate and the public key side by side, so a
    /// public-key setup must still accept certificate serials.
    pub fn may_download(&self) -> bool {
        self.api_v3_key.is_some()
    }

    /// Periodic downloads run in platform-certificate mode: no public key configured, or
    /// certificates already in use next to it.
    pub fn periodic(&self) -> bool {
        self.may_download() && (!self.keys.has_public_key() || self.keys.certificate_count() > 0)
    }

    /// Downloads and installs now (one download at a time).
    pub async fn refresh(&self, source: &impl CertificateSource) -> Result<usize, WechatError> {
        let mut schedule = self.schedule.lock().await;
        self.attempt(&mut schedule, source).await
    }

    /// Downloads until one succeeds, waiting [`retry_delay`] between failures; stops early
    /// when another download succeeded meanwhile. Returns the number of certificates held.
    pub async fn refresh_with_retry(&self, source: &impl CertificateSource) -> usize {
        loop {
            let failures = {
                let mut schedule = self.schedule.lock().await;
                match self.attempt(&mut schedule, source).await {
                    Ok(n) => return n,
                    Err(e) => {
                        let delay = retry_delay(schedule.failures);
                        tracing::warn!(
                            error = %e,
                            failures = schedule.failures,
                            retry_in_ms = delay.as_millis() as u64,
                            "platform certificate download failed"
                        );
                        schedule.failures
                    }
                }
            };
            tokio::time::sleep(retry_delay(failures)).await;
            if self.schedule.lock().await.failures == 0 {
                return self.keys.certificate_count();
            }
        }
    }

    /// An answer or callback named a serial we do not hold: download if the schedule allows
    /// (see the module header). Failures are logged; the caller simply looks the serial up
    /// again.
    pub async fn refresh_for_unknown_serial(&self, source: &impl CertificateSource) {
        let seen = self.ended.load(Ordering::Acquire);
        let mut schedule = self.schedule.lock().await;
        if self.ended.load(Ordering::Acquire) != seen {
            // A download ended while we waited; its keys (if any) are installed.
            return;
        }
        let gap = if self.keys.preferred().is_some() {
            MIN_REFRESH_GAP
        } else {
            RECOVERY_GAP
        };
        if schedule.last_attempt.is_some_and(|t| t.elapsed() < gap) {
            return;
        }
        if let Err(e) = self.attempt(&mut schedule, source).await {
            tracing::warn!(error = %e, "platform certificate refresh failed");
        }
    }

    async fn attempt(
        &self,
        schedule: &mut Schedule,
        source: &impl CertificateSource,
    ) -> Result<usize, WechatError> {
        let result = self.download(source).await;
        schedule.last_attempt = Some(Instant::now());
        schedule.failures = match result {
            Ok(_) => 0,
            Err(_) => schedule.failures.saturating_add(1),
        };
        self.ended.fetch_add(1, Ordering::Release);
        result
    }

    /// Trust in the first download comes from AES-GCM (only WeChat and we know the APIv3
    /// key); the answer's signature must then verify with one of the certificates it carries
    /// (or a key we already hold).
    async fn download(&self, source: &impl CertificateSource) -> Result<usize, WechatError> {
        let key = self
            .api_v3_key
            .as_deref()
            .ok_or_else(|| WechatError::Request("no APIv3 key".into()))?;
        let serial = self.keys.preferred().map(|(s, _)| s);
        let (headers, raw) = source.download(serial.as_deref()).await?;
        let certs = decode_list(key, &raw)?;
        let signed = SignedHeaders::from_headers(&headers);
        let signer = certs
            .get(&signed.serial)
            .map(|c| c.key.clone())
            .or_else(|| self.keys.get(&signed.serial));
        crypto::verify_signed(&signed, &raw, self.clock.now(), |_| signer.as_deref())
            .map_err(WechatError::Unverified)?;
        let n = certs.len();
        self.keys.set_certificates(certs);
        Ok(n)
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

/// Decrypts and reads every certificate of a `/v3/certificates` answer, by serial. The
/// validity comes from the list's times, else from the certificate itself.
pub fn decode_list(api_v3_key: &[u8], raw: &[u8]) -> Result<HashMap<String, CertKey>, WechatError> {
    let list: CertificateList =
        serde_json::from_slice(raw).map_err(|e| WechatError::Decode(e.to_string()))?;
    let mut certs = HashMap::new();
    for entry in list.data {
        let named = |e: &dyn std::fmt::Display| {
            WechatError::Decode(format!("certificate {}: {e}", entry.serial_no))
        };
        let c = &entry.encrypt_certificate;
        let pem = crypto::decrypt_resource(api_v3_key, &c.nonce, &c.associated_data, &c.ciphertext)
            .map_err(|e| named(&e))?;
        let pem = String::from_utf8(pem).map_err(|_| named(&"not UTF-8"))?;
        let der = parse_pem(&pem, "certificate").map_err(|e| named(&e))?.der;
        let info = x509::parse_certificate(&der).map_err(|e| named(&e))?;
        let public = PublicKey::from_spki(info.spki_der).map_err(|e| named(&e))?;
        let cert = CertKey {
            key: Arc::new(public),
            effective: rfc3339(&entry.effective_time).unwrap_or(info.not_before),
            expires: rfc3339(&entry.expire_time).unwrap_or(info.not_after),
        };
        certs.insert(entry.serial_no, cert);
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SystemClock;
    use crate::keys::MerchantKey;
    use std::sync::atomic::AtomicUsize;

    /// WeChat unreachable: every download fails, and each one is counted.
    #[derive(Default)]
    struct Down {
        calls: AtomicUsize,
    }

    impl CertificateSource for Down {
        async fn download(
            &self,
            _serial: Option<&str>,
        ) -> Result<(http::HeaderMap, bytes::Bytes), WechatError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Err(WechatError::Transport("connection refused".into()))
        }
    }

    impl Down {
        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    fn keeper(ring: KeyRing) -> PlatformCertificates {
        PlatformCertificates::new(
            Some(b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb".to_vec()),
            Arc::new(ring),
            Arc::new(SystemClock),
        )
    }

    #[test]
    fn retries_back_off_from_half_a_second_to_thirty() {
        let waits: Vec<u64> = (1..=9).map(|n| retry_delay(n).as_millis() as u64).collect();
        assert_eq!(
            waits,
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        assert_eq!(retry_delay(u32::MAX), MAX_RETRY);
    }

    #[tokio::test(start_paused = true)]
    async fn with_no_key_held_an_unknown_serial_downloads_soon_after_a_failure() {
        let certs = keeper(KeyRing::new(None));
        let source = Down::default();
        assert!(certs.refresh(&source).await.is_err());
        certs.refresh_for_unknown_serial(&source).await;
        assert_eq!(source.calls(), 1, "a second download right after a failure");
        tokio::time::advance(RECOVERY_GAP).await;
        certs.refresh_for_unknown_serial(&source).await;
        assert_eq!(
            source.calls(),
            2,
            "no download once the recovery gap passed"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn with_a_key_held_unknown_serials_download_once_a_minute() {
        let public = MerchantKey::generate().public_key();
        let certs = keeper(KeyRing::new(Some(("PUB_KEY_ID_0114".into(), public))));
        let source = Down::default();
        certs.refresh_for_unknown_serial(&source).await;
        assert_eq!(source.calls(), 1);
        tokio::time::advance(MIN_REFRESH_GAP - Duration::from_secs(1)).await;
        certs.refresh_for_unknown_serial(&source).await;
        assert_eq!(
            source.calls(),
            1,
            "a forged serial bought a second download"
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        certs.refresh_for_unknown_serial(&source).await;
        assert_eq!(source.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_download_is_retried_with_backoff() {
        let certs = Arc::new(keeper(KeyRing::new(None)));
        let source = Arc::new(Down::default());
        let task = {
            let (certs, source) = (certs.clone(), source.clone());
            tokio::spawn(async move { certs.refresh_with_retry(source.as_ref()).await })
        };
        // Attempts at 0, 0.5, 1.5, 3.5 and 7.5 s of paused time.
        let start = tokio::time::Instant::now();
        for (at_ms, calls) in [(100, 1), (600, 2), (1600, 3), (3600, 4), (7600, 5)] {
            tokio::time::sleep_until(start + Duration::from_millis(at_ms)).await;
            assert_eq!(source.calls(), calls, "downloads by {at_ms} ms");
        }
        task.abort();
    }
}
