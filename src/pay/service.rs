//! What the money moments share: their data (re-exported from `model.rs`), the refusal type
//! [`ServiceError`] that a business rule, a hook veto or the storage port answers with, and the
//! WeChat queries reconciliation needs. The moments themselves are [`super::book::Book`]; the
//! storage port is [`super::port::LedgerStore`]; the business hooks are
//! [`super::hooks::BusinessHooks`].

use async_trait::async_trait;

pub use super::model::*;
use super::types::{OutBillNo, OutRefundNo, OutTradeNo};
use crate::wechatpay::model::{Refund, Transaction, TransferBill};

/// How a [`ServiceError`] maps to HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceErrorKind {
    /// The request breaks a business rule the caller can fix (400).
    Invalid,
    /// The caller may not do this (403).
    Forbidden,
    /// The referenced order, refund or transfer does not exist (404).
    NotFound,
    /// The request conflicts with what is stored (409): reused number, wrong state.
    Conflict,
    /// Storage failed; the caller or WeChat should retry (500, callbacks answer FAIL).
    Unavailable,
}

/// A refusal or failure of a money moment (a rule, a hook veto, the storage port). `code` is the stable machine value that
/// reaches the envelope's `error` field; `message` is for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    /// HTTP class.
    pub kind: ServiceErrorKind,
    /// Stable machine code, e.g. `OUT_TRADE_NO_USED`, `REFUND_EXCEEDS_PAID`.
    pub code: &'static str,
    /// Human message naming the field or rule.
    pub message: String,
}

impl ServiceError {
    /// A refusal of the given kind.
    pub fn new(kind: ServiceErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
        }
    }
    /// A storage failure; the detail is for the log, not the caller.
    pub fn storage(detail: impl std::fmt::Display) -> Self {
        Self::new(
            ServiceErrorKind::Unavailable,
            "STORAGE_ERROR",
            detail.to_string(),
        )
    }
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ServiceError {}

/// The WeChat Pay queries reconciliation needs, implemented by the v3 client (and by fakes in
/// tests). `Ok(None)` means WeChat says the object does not exist.
#[async_trait]
pub trait WechatQueries: Send + Sync {
    /// `GET /v3/pay/transactions/out-trade-no/{out_trade_no}`.
    async fn query_order(&self, out_trade_no: &OutTradeNo) -> Result<Option<Transaction>, String>;
    /// `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close`.
    async fn close_order(&self, out_trade_no: &OutTradeNo) -> Result<(), String>;
    /// `GET /v3/refund/domestic/refunds/{out_refund_no}`.
    async fn query_refund(&self, out_refund_no: &OutRefundNo) -> Result<Option<Refund>, String>;
    /// `GET /v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{out_bill_no}`.
    async fn query_transfer(&self, out_bill_no: &OutBillNo)
    -> Result<Option<TransferBill>, String>;
}
