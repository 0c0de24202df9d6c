//! The storage port: what the money use cases ([`super::book::Book`]) need from a ledger, and
//! nothing more. Every write is atomic and guarded by the row's current state, records the
//! notification id when there is one (a replay changes nothing), and writes its outbox event
//! in the same transaction. The port decides nothing: which step a notice asks for, whether an
//! amount fits, whether a number was reused, all of that is decided in `pay/` before a port
//! method is called. The shipped implementation is `store::Ledger` (SQLite, PostgreSQL,
//! MySQL/MariaDB); `tests/ledger/` is the conformance suite every implementation must pass.

use async_trait::async_trait;

use super::model::{
    OrderDraft, OrderState, OrderView, Prepay, RefundRecord, TransferDraft, TransferView,
};
use super::service::ServiceError;
use super::states::{RefundState, TransferState};
use super::unmatched::{
    UnmatchedDraft, UnmatchedFilter, UnmatchedRecord, UnmatchedResolution, UnmatchedStep,
};
use crate::wechatpay::model::{Refund, Transaction};

/// The result of an insert keyed by an idempotency number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted<T> {
    /// The number was new; the row is now recorded.
    New,
    /// A row existed under that number; what it holds, for the caller to compare.
    Existing(T),
}

/// What is stored under an order number, as far as a repeated order needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOrder {
    /// The fingerprint recorded with it.
    pub fingerprint: String,
    /// The exact body sent to WeChat.
    pub request_body: String,
    /// WeChat's prepay, once it answered.
    pub prepay: Option<Prepay>,
    /// Current state.
    pub state: OrderState,
}

/// What is stored under a transfer bill number, as far as a repeated transfer needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTransfer {
    /// The fingerprint recorded with it.
    pub fingerprint: String,
    /// The exact body sent to WeChat.
    pub request_body: String,
}

/// Where a notice came from, for the replay guard: a callback's notification id is recorded
/// once (a second sighting is a replay); a query result has no id.
#[derive(Debug, Clone, Copy)]
pub struct Sighting<'a> {
    /// The callback's notification id; `None` for query results.
    pub notification_id: Option<&'a str>,
    /// Its event type (or `QUERY`, `ACCEPTED`).
    pub event_type: &'a str,
}

/// How a guarded write went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written<T> {
    /// The notification id had been recorded before: nothing was done.
    Replay,
    /// The guard did not match (already in that state, or past it): nothing changed.
    Unchanged,
    /// The row changed and its event (if the step has one) is in the outbox; the row as now stored.
    Changed(T),
}

/// What a payment notice does to a pending order. Decided by `pay` ([`PayStep::decide`] in
/// `book.rs`), persisted by the port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayStep {
    /// NOTPAY → USERPAYING (no event).
    UserPaying,
    /// Pending → PAID, event `order.paid`.
    Pay,
    /// Pending → AMOUNT_MISMATCH, event `order.amount_mismatch` with this reason.
    Mismatch(String),
    /// Nothing to change (the id is still recorded).
    Nothing,
}

/// How a refund result settles the money, decided by `pay`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundSettlement {
    /// The new state (SUCCESS, CLOSED or ABNORMAL).
    pub state: RefundState,
    /// WeChat's refund id, if it gave one.
    pub refund_id: Option<String>,
    /// Whether the reservation is released now (`false` keeps it: ABNORMAL).
    pub release: bool,
    /// How much of the released reservation moves to the refunded total.
    pub refunded: i64,
    /// The outbox event and its `final` flag.
    pub event: (&'static str, bool),
    /// The unmatched record the refund gives back, and where this result moves it.
    pub unmatched: Option<UnmatchedStep>,
}

/// How WeChat's refusal of a refund is recorded (RESERVED → REJECTED), decided by `pay`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRejection {
    /// Release the order's reservation (`false` for a refund of unmatched money: none stands
    /// behind it).
    pub release: bool,
    /// The unmatched record the refund was to give back, and where it goes now.
    pub unmatched: Option<UnmatchedStep>,
}

/// How a transfer result is recorded, decided by `pay`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferSettlement {
    /// WeChat's bill state.
    pub state: TransferState,
    /// WeChat's bill number, if it gave one.
    pub transfer_bill_no: Option<String>,
    /// Why it failed, if it did.
    pub fail_reason: Option<String>,
    /// The outbox event, when this state is final.
    pub event: Option<&'static str>,
    /// Give a payout allowance's claimed amount back (the bill ended without paying out).
    pub give_back: bool,
}

/// The rows reconciliation looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Orders still pending (NOTPAY, USERPAYING).
    Orders,
    /// Refunds not final (RESERVED, PROCESSING, ABNORMAL).
    Refunds,
    /// Transfers not final (neither SUCCESS, FAIL, CANCELLED nor REJECTED).
    Transfers,
}

/// A lease on due rows: rows created at or before `created_before` whose lease is free at
/// `now` are leased until `until`, at most `limit` of them.
#[derive(Debug, Clone, Copy)]
pub struct Lease {
    /// Only rows created at or before this (Unix seconds): the grace period.
    pub created_before: i64,
    /// Now (Unix seconds): expired leases are free.
    pub now: i64,
    /// Lease end (Unix seconds).
    pub until: i64,
    /// At most this many rows.
    pub limit: i64,
}

/// Rows leased by one claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The claim's token (what the rows' lease is written under).
    pub token: String,
    /// The leased rows' keys.
    pub keys: Vec<String>,
}

/// The storage port. Object-safe: the use cases hold an `Arc<dyn LedgerStore>`.
#[async_trait]
pub trait LedgerStore: Send + Sync {
    /// Connected and writable: background passes skip while it is not (the store reconnects
    /// by itself). A store without such a notion is always ready.
    fn is_ready(&self) -> bool {
        true
    }
    /// Records the order under its number, or returns what is stored under it.
    async fn insert_order(&self, d: &OrderDraft) -> Result<Inserted<StoredOrder>, ServiceError>;
    /// Stores WeChat's prepay; `false` if the order is unknown.
    async fn store_prepay(&self, out_trade_no: &str, p: &Prepay) -> Result<bool, ServiceError>;
    /// The order with its refunds.
    async fn find_order(&self, out_trade_no: &str) -> Result<Option<OrderView>, ServiceError>;
    /// The order paid by WeChat's transaction id, with its refunds.
    async fn find_order_by_transaction(
        &self,
        transaction_id: &str,
    ) -> Result<Option<OrderView>, ServiceError>;
    /// Records the sighting and applies `step` if the order is still pending, with its event.
    /// `order` is the order as read when `step` was decided; the changed view is `order` with
    /// the step applied (the write's state guard admits only a still-pending order, whose other
    /// fields cannot have moved), so the store need not read it again.
    async fn record_payment(
        &self,
        seen: Sighting<'_>,
        order: &OrderView,
        tx: &Transaction,
        step: &PayStep,
    ) -> Result<Written<OrderView>, ServiceError>;
    /// Pending → CLOSED with `order.closed`.
    async fn close_order(&self, out_trade_no: &str) -> Result<Written<OrderView>, ServiceError>;

    /// One refund.
    async fn find_refund(&self, out_refund_no: &str) -> Result<Option<RefundRecord>, ServiceError>;
    /// Reserves `r.amount` on a PAID order that still has that much left and inserts the
    /// refund row, atomically; `false` (nothing changed) if the totals moved or the number was
    /// taken meanwhile.
    async fn reserve_refund(
        &self,
        r: &RefundRecord,
        reason: Option<&str>,
    ) -> Result<bool, ServiceError>;
    /// Stores WeChat's refund id and moves RESERVED → PROCESSING; `false` if unknown.
    async fn mark_refund_accepted(&self, r: &Refund) -> Result<bool, ServiceError>;
    /// RESERVED → REJECTED, releasing the reservation and moving the unmatched record as `r`
    /// says.
    async fn reject_refund(
        &self,
        out_refund_no: &str,
        reason: &str,
        r: &RefundRejection,
    ) -> Result<Written<RefundRecord>, ServiceError>;
    /// Records the sighting and settles a refund that is not final yet, moving the money and
    /// writing the event; the refunded order when the ledger holds one.
    async fn settle_refund(
        &self,
        seen: Sighting<'_>,
        out_refund_no: &str,
        s: &RefundSettlement,
    ) -> Result<Written<(RefundRecord, Option<OrderView>)>, ServiceError>;

    /// Records the transfer under its number, or returns what is stored under it.
    async fn insert_transfer(
        &self,
        d: &TransferDraft,
    ) -> Result<Inserted<StoredTransfer>, ServiceError>;
    /// One transfer.
    async fn find_transfer(&self, out_bill_no: &str) -> Result<Option<TransferView>, ServiceError>;
    /// Stores WeChat's bill number and non-final state; `false` if unknown.
    async fn mark_transfer_accepted(
        &self,
        out_bill_no: &str,
        transfer_bill_no: Option<&str>,
        state: TransferState,
    ) -> Result<bool, ServiceError>;
    /// RECORDED → REJECTED.
    async fn reject_transfer(
        &self,
        out_bill_no: &str,
        reason: &str,
    ) -> Result<Written<TransferView>, ServiceError>;
    /// Records the sighting and moves a transfer that is not final to `s.state`, with the event.
    async fn settle_transfer(
        &self,
        seen: Sighting<'_>,
        out_bill_no: &str,
        s: &TransferSettlement,
    ) -> Result<Written<TransferView>, ServiceError>;

    /// Records the sighting and the unmatched money with its event (`d.event`), once per
    /// `(d.kind, d.wechat_no)`: `Unchanged` when that object is already recorded.
    async fn record_unmatched(
        &self,
        seen: Sighting<'_>,
        d: &UnmatchedDraft,
    ) -> Result<Written<UnmatchedRecord>, ServiceError>;
    /// Unmatched records, newest first.
    async fn unmatched(&self, f: &UnmatchedFilter) -> Result<Vec<UnmatchedRecord>, ServiceError>;
    /// One unmatched record.
    async fn find_unmatched(&self, id: &str) -> Result<Option<UnmatchedRecord>, ServiceError>;
    /// OPEN → the resolution's state with `unmatched.resolved` (and the refund row, for a
    /// refund), atomically; `Unchanged` (nothing written) when the record is no longer OPEN or
    /// the refund number is taken.
    async fn resolve_unmatched(
        &self,
        id: &str,
        r: &UnmatchedResolution,
    ) -> Result<Written<UnmatchedRecord>, ServiceError>;

    /// Leases due rows of one kind.
    async fn claim_due(&self, due: Due, lease: Lease) -> Result<Claimed, ServiceError>;
    /// Gives back this claim's leases on `keys` (rows a pass did not get to), so the next pass
    /// takes them.
    async fn release(&self, due: Due, claim: &Claimed, keys: &[String])
    -> Result<(), ServiceError>;
}
