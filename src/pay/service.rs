//! The `OrderService` trait: the business hooks of the old template (after ordering, on the
//! pay callback, after a refund is accepted, on the refund callback, after a transfer is
//! accepted, on the transfer callback), plus the "before" moments a ledger needs so that nothing
//! is lost between recording and calling WeChat. Every method receives typed data and may veto
//! with a [`ServiceError`] whose code reaches the caller's envelope.
//!
//! The shipped implementations are the persistent ledger (`store::Ledger`) and
//! [`super::memory::MemoryOrderService`] for tests.

use async_trait::async_trait;

pub use super::model::*;
use super::types::{OutBillNo, OutRefundNo, OutTradeNo};
use crate::wechatpay::model::{Refund, Transaction, TransferBill};

/// How an [`OrderService`] refusal maps to HTTP.
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

/// A refusal or failure from an [`OrderService`]. `code` is the stable machine value that
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

/// The business hooks. Object-safe: the service holds an `Arc<dyn OrderService>`.
#[async_trait]
pub trait OrderService: Send + Sync {
    /// Before WeChat is called: record the order (so a crash after the call loses nothing),
    /// or recognise a repeat. Same number with a different fingerprint → `Conflict`
    /// (`OUT_TRADE_NO_USED`).
    async fn record_order(&self, draft: &OrderDraft) -> Result<OrderAdmission, ServiceError>;

    /// Moment 1 — after WeChat accepted the order: the order request and WeChat's prepay.
    async fn order_placed(&self, order: &OrderDraft, prepay: &Prepay) -> Result<(), ServiceError>;

    /// Moment 2 — an authenticated transaction (pay callback or query): apply at most once;
    /// only NOTPAY/USERPAYING → PAID, and only if amount, appid, mchid and out_trade_no match.
    async fn payment_notified(
        &self,
        notice: &Notice<Transaction>,
    ) -> Result<NoticeOutcome, ServiceError>;

    /// The order was closed at WeChat (close route or reconciliation).
    async fn order_closed(&self, out_trade_no: &OutTradeNo) -> Result<(), ServiceError>;

    /// Before WeChat is called: decide the amount from the stored order and reserve it so the
    /// cumulative refunds never exceed what was paid. A repeat of the same `out_refund_no` with
    /// the same content returns the earlier reservation.
    async fn reserve_refund(&self, draft: &RefundDraft) -> Result<RefundAdmission, ServiceError>;

    /// Moment 3 — WeChat accepted the refund.
    async fn refund_accepted(&self, refund: &Refund) -> Result<(), ServiceError>;

    /// WeChat definitively refused the refund: release the reservation.
    async fn refund_rejected(
        &self,
        out_refund_no: &OutRefundNo,
        reason: &str,
    ) -> Result<(), ServiceError>;

    /// Moment 4 — an authenticated refund result (callback or query).
    async fn refund_notified(&self, notice: &Notice<Refund>)
    -> Result<NoticeOutcome, ServiceError>;

    /// Before WeChat is called: record the transfer or recognise a repeat.
    async fn record_transfer(
        &self,
        draft: &TransferDraft,
    ) -> Result<TransferAdmission, ServiceError>;

    /// Moment 5 — WeChat accepted the transfer.
    async fn transfer_accepted(&self, bill: &TransferBill) -> Result<(), ServiceError>;

    /// WeChat definitively refused the transfer.
    async fn transfer_rejected(
        &self,
        out_bill_no: &OutBillNo,
        reason: &str,
    ) -> Result<(), ServiceError>;

    /// Moment 6 — an authenticated transfer result (callback or query).
    async fn transfer_notified(
        &self,
        notice: &Notice<TransferBill>,
    ) -> Result<NoticeOutcome, ServiceError>;

    /// The ledger's view of an order, `None` if unknown.
    async fn find_order(
        &self,
        out_trade_no: &OutTradeNo,
    ) -> Result<Option<OrderView>, ServiceError>;

    /// The order number and owner recorded for WeChat's transaction id, if any.
    async fn find_by_transaction_id(
        &self,
        transaction_id: &str,
    ) -> Result<Option<OrderView>, ServiceError>;

    /// The order a refund belongs to, if the refund is known.
    async fn find_refund(
        &self,
        out_refund_no: &OutRefundNo,
    ) -> Result<Option<RefundRecord>, ServiceError>;

    /// The payee openid recorded for a transfer, if known.
    async fn transfer_payee(&self, out_bill_no: &OutBillNo)
    -> Result<Option<String>, ServiceError>;
}

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
