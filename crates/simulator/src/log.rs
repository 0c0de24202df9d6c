//! The simulator's logs: every `/v3` request with its verdict and every callback attempt,
//! capped so a long benchmark run cannot grow memory without bound, with running totals.

use serde::Serialize;

/// One `/v3` request and what the simulator made of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    /// HTTP method.
    pub method: String,
    /// Path and query as received.
    pub target: String,
    /// Endpoint name (see `docs/simulator.md`), empty for unknown routes.
    pub endpoint: String,
    /// Whether the signature checks passed.
    pub accepted: bool,
    /// Status answered.
    pub status: u16,
    /// Error code answered, if any.
    pub code: Option<String>,
    /// Why it was rejected or failed, if it was.
    pub reason: Option<String>,
}

/// What a callback attempt was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryKind {
    /// The notification itself (first try or a retry).
    Normal,
    /// A second copy after an acknowledged one (fault `duplicate`).
    Duplicate,
    /// An older state delivered after the newer one (fault `out_of_order`).
    Stale,
    /// A `WECHATPAY/SIGNTEST/` probe (fault `sign_test_probe`).
    Probe,
    /// The resource ciphertext altered (fault `tampered_ciphertext`).
    Tampered,
}

/// One callback attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// Where it was posted.
    pub url: String,
    /// e.g. `TRANSACTION.SUCCESS`.
    pub event_type: String,
    /// The envelope `id`.
    pub notification_id: String,
    /// Normal, or which fault produced it.
    pub kind: DeliveryKind,
    /// 1 for the first try of this notification.
    pub attempt: u32,
    /// HTTP status answered; `None` when the connection failed.
    pub status: Option<u16>,
    /// Transport error, if any.
    pub error: Option<String>,
}

/// Most entries each log keeps, so a long benchmark run cannot grow memory without bound.
pub const LOG_CAP: usize = 50_000;

/// Appends `item`, first dropping the older half of a full log.
pub fn push_capped<T>(log: &mut Vec<T>, item: T) {
    if log.len() >= LOG_CAP {
        log.drain(..LOG_CAP / 2);
    }
    log.push(item);
}
