//! The data the money moments exchange: drafts (what is about to be sent to WeChat),
//! admissions (what the ledger decided), records and views (what it stores and shows), and the
//! states an order goes through.

use serde::Serialize;

pub use super::states::{OrderState, RefundState, TransferState};
use super::types::{AmountFen, OpenId, OutBillNo, OutRefundNo, OutTradeNo};

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// Holder of the admin credential.
    Admin,
    /// A Mini Program user identified by the platform-injected openid.
    User(OpenId),
    /// The service itself (reconciliation, callbacks).
    System,
}

/// WeChat's ordering APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TradeType {
    /// Mini Program / Official Account.
    Jsapi,
    /// Mobile app.
    App,
    /// Mobile browser.
    H5,
    /// QR code.
    Native,
}

impl TradeType {
    /// The name stored in the ledger and shown in views.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jsapi => "JSAPI",
            Self::App => "APP",
            Self::H5 => "H5",
            Self::Native => "NATIVE",
        }
    }
}

/// An order about to be sent to WeChat.
#[derive(Debug, Clone)]
pub struct OrderDraft {
    /// Our order number.
    pub out_trade_no: OutTradeNo,
    /// Which ordering API.
    pub trade_type: TradeType,
    /// AppID the order is placed under.
    pub appid: String,
    /// Our merchant id.
    pub mchid: String,
    /// The caller's openid (the payer for JSAPI); `None` for admin-placed APP/H5/Native orders.
    pub owner: Option<OpenId>,
    /// Order total.
    pub amount: AmountFen,
    /// `CNY`.
    pub currency: String,
    /// What the user sees on the bill.
    pub description: String,
    /// Unix seconds after which the order can no longer be paid.
    pub expires_at: i64,
    /// SHA-256 hex of the caller-chosen content: equal fingerprints mean "the same order".
    pub fingerprint: String,
    /// The exact JSON body sent to WeChat; a retry resends these bytes.
    pub request_body: String,
}

/// What WeChat answered to an order: one of the three is set, by trade type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Prepay {
    /// JSAPI / APP.
    pub prepay_id: Option<String>,
    /// Native.
    pub code_url: Option<String>,
    /// H5.
    pub h5_url: Option<String>,
    /// When WeChat issued it (Unix seconds); WeChat keeps it for 2 hours.
    pub created_at: i64,
}

/// Answer to [`crate::pay::book::Book::record_order`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderAdmission {
    /// First time this number is seen: it is now recorded; call WeChat with the draft's body.
    New,
    /// The same order was recorded before (same fingerprint).
    Existing {
        /// The stored body, to resend byte for byte.
        request_body: String,
        /// The stored prepay, if WeChat answered before.
        prepay: Option<Prepay>,
        /// Current state; the orchestrator refuses to re-order a paid or closed order.
        state: OrderState,
    },
}

/// A notification or query result whose authenticity has been established.
#[derive(Debug, Clone)]
pub struct Notice<T> {
    /// The notification `id` when it came from a callback; `None` from a query.
    pub notification_id: Option<String>,
    /// `event_type`, or `QUERY` when it came from a query.
    pub event_type: String,
    /// The decrypted, authenticated object.
    pub object: T,
}

/// How a callback was applied. Every variant is acknowledged to WeChat (no retry); only an
/// `Err(ServiceError)` makes WeChat retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeOutcome {
    /// The state changed.
    Applied,
    /// Seen before, or nothing to change: a no-op.
    Duplicate,
    /// It does not match what we stored; recorded as such and raised as an alert.
    Mismatch(String),
    /// It names something we never recorded, and no money moved (nothing to keep).
    Unknown,
    /// Money that matches nothing the ledger holds (an unknown or closed order, a refund or
    /// transfer we never made): recorded as an unmatched record with its event, for an admin.
    Unmatched,
}

/// A refund request after authorisation, before the ledger decides the amount.
#[derive(Debug, Clone)]
pub struct RefundDraft {
    /// Our refund number (the idempotency key).
    pub out_refund_no: OutRefundNo,
    /// The order, when the caller named it by our number.
    pub out_trade_no: Option<OutTradeNo>,
    /// The order, when the caller named it by WeChat's id.
    pub transaction_id: Option<String>,
    /// Requested amount; `None` = everything still refundable.
    pub amount: Option<AmountFen>,
    /// The order total the caller believes (`amount.total`); must match the ledger when given.
    pub caller_total: Option<AmountFen>,
    /// Reason shown to the user.
    pub reason: Option<String>,
    /// Who asked; a `User` may only refund their own order.
    pub actor: Actor,
}

/// The ledger's view of one refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundRecord {
    /// Our refund number.
    pub out_refund_no: String,
    /// The order refunded.
    pub out_trade_no: String,
    /// WeChat's transaction id of the order, when known.
    pub transaction_id: Option<String>,
    /// Refund amount (fen).
    pub amount: i64,
    /// The order's paid total (fen): what `amount.total` must say to WeChat.
    pub order_total: i64,
    /// Where the refund stands.
    pub state: RefundState,
    /// WeChat's refund id once accepted.
    pub refund_id: Option<String>,
    /// The unmatched record this refund gives back (`admin/unmatched_resolve`), if any: no
    /// order reservation stands behind it, so its result moves no order's totals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unmatched_id: Option<String>,
}

/// Answer to [`crate::pay::book::Book::reserve_refund`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundAdmission {
    /// The reserved (or previously reserved) refund; send exactly these amounts to WeChat.
    pub refund: RefundRecord,
    /// `false` when the same `out_refund_no` had been reserved before.
    pub fresh: bool,
}

/// A transfer about to be sent to WeChat.
#[derive(Debug, Clone)]
pub struct TransferDraft {
    /// Our bill number (the idempotency key).
    pub out_bill_no: OutBillNo,
    /// AppID.
    pub appid: String,
    /// Payee.
    pub openid: OpenId,
    /// Amount.
    pub amount: AmountFen,
    /// SHA-256 hex of the caller-chosen content.
    pub fingerprint: String,
    /// The exact JSON body sent to WeChat.
    pub request_body: String,
    /// Who asked.
    pub actor: Actor,
}

/// Answer to [`crate::pay::book::Book::record_transfer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferAdmission {
    /// Recorded now; send the draft's body.
    New,
    /// Recorded before with the same content; resend the stored body (WeChat answers with
    /// the same bill).
    Existing {
        /// Stored body.
        request_body: String,
    },
}

/// The ledger's view of an order, for owners and admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderView {
    /// Our order number.
    pub out_trade_no: String,
    /// Owner openid (masked only in logs, not here: the owner is the one reading it).
    pub owner: Option<String>,
    /// AppID.
    pub appid: String,
    /// Merchant id.
    pub mchid: String,
    /// JSAPI, APP, H5 or NATIVE.
    pub trade_type: String,
    /// Order total (fen).
    pub amount: i64,
    /// Currency.
    pub currency: String,
    /// Description.
    pub description: String,
    /// Current state.
    pub state: OrderState,
    /// WeChat's transaction id once paid.
    pub transaction_id: Option<String>,
    /// Sum of successful refunds (fen).
    pub refunded: i64,
    /// Sum of refunds reserved or in progress (fen).
    pub refund_pending: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, once paid.
    pub paid_at: Option<i64>,
    /// Unix seconds after which it cannot be paid.
    pub expires_at: i64,
    /// The refunds of this order.
    pub refunds: Vec<RefundRecord>,
}

/// The ledger's view of one transfer (the payload of `transfer.*` events).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferView {
    /// Our bill number.
    pub out_bill_no: String,
    /// AppID.
    pub appid: String,
    /// Payee openid.
    pub openid: String,
    /// Amount (fen).
    pub amount: i64,
    /// Where the transfer stands.
    pub state: TransferState,
    /// WeChat's bill number once accepted.
    pub transfer_bill_no: Option<String>,
    /// Why it failed, when it did.
    pub fail_reason: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}
