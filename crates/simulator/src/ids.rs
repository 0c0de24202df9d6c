//! Identifiers and timestamps in the shapes WeChat issues them: digit strings, UUID-like
//! notification ids and RFC 3339 times in China Standard Time.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::offset;

/// `n` random decimal digits.
pub fn digits(n: usize) -> String {
    let mut buf = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut buf).expect("system randomness");
    buf.iter().map(|b| char::from(b'0' + b % 10)).collect()
}

/// `n` random lowercase hex characters.
pub fn hex(n: usize) -> String {
    let mut buf = vec![0u8; n.div_ceil(2)];
    aws_lc_rs::rand::fill(&mut buf).expect("system randomness");
    let s: String = buf.iter().map(|b| format!("{b:02x}")).collect();
    s[..n].to_string()
}

/// A notification id shaped like WeChat's (`8-4-4-4-12` hex, 36 chars).
pub fn notification_id() -> String {
    format!("{}-{}-{}-{}-{}", hex(8), hex(4), hex(4), hex(4), hex(12))
}

/// A request id for the `Request-ID` header.
pub fn request_id() -> String {
    format!("08{}", hex(40).to_uppercase())
}

/// Unix seconds as RFC 3339 in UTC+8, the way WeChat writes times.
pub fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(offset!(+8))
        .format(&Rfc3339)
        .unwrap_or_default()
}
