//! The WeChat Pay v3 signature and encryption rules as small pure functions: the message
//! formats, header names and the 300-second window live here and nowhere else. Time and
//! randomness come in as arguments (see [`Clock`]) so every rule is testable with fixed vectors.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

pub use super::aead::{AeadError, decrypt_aes_gcm_any, decrypt_resource, encrypt_resource};
pub use super::clock::{Clock, FixedClock, SystemClock};
use super::keys::PublicKey;

/// The `Authorization` scheme for merchant requests.
pub const AUTH_SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";
/// Largest accepted distance between a signed timestamp and now, in seconds (inclusive).
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;
/// Prefix of the deliberately wrong signatures WeChat sends to probe verification.
pub const SIGNTEST_PREFIX: &str = "WECHATPAY/SIGNTEST/";
/// Header: signing timestamp of a response or callback.
pub const HEADER_TIMESTAMP: &str = "Wechatpay-Timestamp";
/// Header: nonce of a response or callback.
pub const HEADER_NONCE: &str = "Wechatpay-Nonce";
/// Header: Base64 signature of a response or callback.
pub const HEADER_SIGNATURE: &str = "Wechatpay-Signature";
/// Header: key id (platform certificate serial or `PUB_KEY_ID_…`).
pub const HEADER_SERIAL: &str = "Wechatpay-Serial";
/// Header: signature type on callbacks.
pub const HEADER_SIGNATURE_TYPE: &str = "Wechatpay-Signature-Type";
/// Header: WeChat's request id (support asks for it).
pub const HEADER_REQUEST_ID: &str = "Request-ID";
/// Length of generated nonces.
pub const NONCE_LEN: usize = 32;

/// The 5-line request message: `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n`.
pub fn request_message(
    method: &str,
    url: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut m = format!("{method}\n{url}\n{timestamp}\n{nonce}\n").into_bytes();
    m.extend_from_slice(body);
    m.push(b'\n');
    m
}

/// The 3-line response/callback message: `TIMESTAMP\nNONCE\nBODY\n` (raw body bytes).
pub fn response_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut m = format!("{timestamp}\n{nonce}\n").into_bytes();
    m.extend_from_slice(body);
    m.push(b'\n');
    m
}

/// JSAPI / Mini Program `paySign` message: `appId\ntimeStamp\nnonceStr\npackage\n`.
pub fn jsapi_pay_message(app_id: &str, timestamp: &str, nonce: &str, package: &str) -> Vec<u8> {
    format!("{app_id}\n{timestamp}\n{nonce}\n{package}\n").into_bytes()
}

/// APP `sign` message: `appid\ntimestamp\nnoncestr\nprepayid\n` (raw prepay id).
pub fn app_pay_message(app_id: &str, timestamp: &str, nonce: &str, prepay_id: &str) -> Vec<u8> {
    format!("{app_id}\n{timestamp}\n{nonce}\n{prepay_id}\n").into_bytes()
}

/// The `Authorization` header value for a signed request.
pub fn authorization(
    mchid: &str,
    nonce: &str,
    timestamp: i64,
    serial_no: &str,
    signature: &str,
) -> String {
    format!(
        "{AUTH_SCHEME} mchid=\"{mchid}\",nonce_str=\"{nonce}\",timestamp=\"{timestamp}\",serial_no=\"{serial_no}\",signature=\"{signature}\""
    )
}

/// The fields of a parsed `Authorization` header (simulator side).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizationFields {
    /// Merchant id.
    pub mchid: String,
    /// Request nonce.
    pub nonce_str: String,
    /// Signing time, Unix seconds, as sent.
    pub timestamp: String,
    /// Merchant certificate serial.
    pub serial_no: String,
    /// Base64 signature.
    pub signature: String,
}

/// Parses an `Authorization` header; the error names what is wrong.
pub fn parse_authorization(value: &str) -> Result<AuthorizationFields, String> {
    let rest = value
        .strip_prefix(AUTH_SCHEME)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or_else(|| format!("Authorization scheme must be {AUTH_SCHEME}"))?;
    let mut f = AuthorizationFields::default();
    for pair in rest.split(',') {
        let (k, v) = pair
            .split_once('=')
            .ok_or("Authorization field without '='")?;
        let v = v.trim().strip_prefix('"').and_then(|v| v.strip_suffix('"'));
        let v = v.ok_or_else(|| format!("Authorization field {} must be quoted", k.trim()))?;
        let slot = match k.trim() {
            "mchid" => &mut f.mchid,
            "nonce_str" => &mut f.nonce_str,
            "timestamp" => &mut f.timestamp,
            "serial_no" => &mut f.serial_no,
            "signature" => &mut f.signature,
            other => return Err(format!("unknown Authorization field {other}")),
        };
        *slot = v.to_string();
    }
    for (name, v) in [
        ("mchid", &f.mchid),
        ("nonce_str", &f.nonce_str),
        ("timestamp", &f.timestamp),
        ("serial_no", &f.serial_no),
        ("signature", &f.signature),
    ] {
        if v.is_empty() {
            return Err(format!("Authorization is missing {name}"));
        }
    }
    Ok(f)
}

/// Why a signed response or callback was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// A required header is absent or empty.
    MissingHeader(&'static str),
    /// The timestamp is not a number.
    BadTimestamp,
    /// The timestamp is outside the window; carries the distance in seconds.
    Expired(i64),
    /// `Wechatpay-Serial` names no key we hold.
    UnknownSerial(String),
    /// A `WECHATPAY/SIGNTEST/` probe: deliberately invalid.
    SignTestProbe,
    /// The signature does not match the message.
    BadSignature,
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::MissingHeader(h) => write!(f, "missing header {h}"),
            Self::BadTimestamp => write!(f, "{HEADER_TIMESTAMP} is not a Unix timestamp"),
            Self::Expired(d) => write!(
                f,
                "{HEADER_TIMESTAMP} is {d} s away from now (limit {MAX_CLOCK_SKEW_SECS} s)"
            ),
            Self::UnknownSerial(s) => write!(f, "{HEADER_SERIAL} {s} is not a key we hold"),
            Self::SignTestProbe => write!(f, "signature probe (WECHATPAY/SIGNTEST) rejected"),
            Self::BadSignature => write!(f, "signature does not verify"),
        }
    }
}

impl std::error::Error for VerifyError {}

/// The four signature headers of a response or callback.
#[derive(Debug, Clone, Default)]
pub struct SignedHeaders {
    /// `Wechatpay-Timestamp`.
    pub timestamp: String,
    /// `Wechatpay-Nonce`.
    pub nonce: String,
    /// `Wechatpay-Signature`.
    pub signature: String,
    /// `Wechatpay-Serial`.
    pub serial: String,
}

impl SignedHeaders {
    /// Reads the headers from an HTTP header map (case-insensitive names).
    pub fn from_headers(h: &http::HeaderMap) -> Self {
        let get = |n: &str| {
            h.get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        Self {
            timestamp: get(HEADER_TIMESTAMP),
            nonce: get(HEADER_NONCE),
            signature: get(HEADER_SIGNATURE),
            serial: get(HEADER_SERIAL),
        }
    }
}

/// Checks a signing timestamp against `now`: at most [`MAX_CLOCK_SKEW_SECS`] either way.
pub fn check_timestamp(timestamp: &str, now: i64) -> Result<i64, VerifyError> {
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    let skew = now - ts;
    if skew.abs() > MAX_CLOCK_SKEW_SECS {
        return Err(VerifyError::Expired(skew));
    }
    Ok(ts)
}

/// Verifies a response or callback: headers present, timestamp fresh, serial known,
/// signature over `TIMESTAMP\nNONCE\nBODY\n` valid. `lookup` maps a serial to its key.
pub fn verify_signed<'k>(
    headers: &SignedHeaders,
    body: &[u8],
    now: i64,
    lookup: impl FnOnce(&str) -> Option<&'k PublicKey>,
) -> Result<(), VerifyError> {
    for (name, v) in [
        (HEADER_TIMESTAMP, &headers.timestamp),
        (HEADER_NONCE, &headers.nonce),
        (HEADER_SIGNATURE, &headers.signature),
        (HEADER_SERIAL, &headers.serial),
    ] {
        if v.trim().is_empty() {
            return Err(VerifyError::MissingHeader(name));
        }
    }
    check_timestamp(&headers.timestamp, now)?;
    if headers.signature.starts_with(SIGNTEST_PREFIX) {
        return Err(VerifyError::SignTestProbe);
    }
    let key = lookup(&headers.serial)
        .ok_or_else(|| VerifyError::UnknownSerial(headers.serial.clone()))?;
    let message = response_message(&headers.timestamp, &headers.nonce, body);
    if key.verify(&message, &headers.signature) {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

/// `n` random characters from `[0-9A-Za-z]`, from the system CSPRNG (rejection sampling, so
/// every character is equally likely).
pub fn random_alphanumeric(n: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        aws_lc_rs::rand::fill(&mut buf).expect("system randomness");
        for b in buf {
            // 62 * 4 = 248: bytes at or above it would bias the distribution.
            if b < 248 && out.len() < n {
                out.push(ALPHABET[(b % 62) as usize] as char);
            }
        }
    }
    out
}

/// Constant-time equality for secrets (the length is not treated as secret): AWS-LC's
/// `CRYPTO_memcmp` through aws-lc-rs, not a comparison of our own.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// Standard Base64 (used by signatures and ciphertexts).
pub fn base64_encode(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq(b"admin-token", b"admin-token"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"admin-token", b"admin-tokeN"));
        assert!(!constant_time_eq(b"admin-token", b"admin-toke"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
