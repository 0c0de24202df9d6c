//! `BusinessHooks`: where a business plugs its own rules into the money moments, without
//! touching the bookkeeping. Every method has a no-op default, so a shop that only wants "ship
//! on paid" writes [`BusinessHooks::order_paid`] and nothing else.
//!
//! - The `before_*` hooks run before anything is recorded or sent to WeChat; an `Err` is a veto
//!   whose `code` and `message` reach the caller's envelope, and WeChat never hears of it. They
//!   run for every request, repeats of the same number included.
//! - The other hooks run after a state change has been committed, exactly once per change,
//!   whichever way WeChat's answer arrived (pay callback of either shape, the query route,
//!   reconciliation). They cannot undo the change, so they return nothing: a failure inside
//!   one is the business's to log and retry. For delivery that survives a crash between the
//!   commit and the hook, consume the signed business webhook (the outbox) instead.

use async_trait::async_trait;

use super::model::{
    OrderDraft, OrderView, Prepay, RefundDraft, RefundRecord, TransferDraft, TransferView,
};
use super::service::ServiceError;
use super::unmatched::UnmatchedRecord;
use crate::wechatpay::model::Transaction;

/// The business side of the money moments. Object-safe; held as `Arc<dyn BusinessHooks>`.
#[async_trait]
pub trait BusinessHooks: Send + Sync {
    /// Before an order is recorded and sent to WeChat. `Err` refuses the order.
    async fn before_order(&self, _order: &OrderDraft) -> Result<(), ServiceError> {
        Ok(())
    }

    /// Before a refund is reserved and sent to WeChat. `Err` refuses the refund.
    async fn before_refund(&self, _refund: &RefundDraft) -> Result<(), ServiceError> {
        Ok(())
    }

    /// Before a transfer is recorded and sent to WeChat. `Err` refuses the transfer.
    async fn before_transfer(&self, _transfer: &TransferDraft) -> Result<(), ServiceError> {
        Ok(())
    }

    /// WeChat accepted a new order and its prepay is stored.
    async fn order_placed(&self, _order: &OrderDraft, _prepay: &Prepay) {}

    /// The order is now PAID (`order.paid`).
    async fn order_paid(&self, _order: &OrderView, _transaction: &Transaction) {}

    /// A payment arrived that does not match the order; it is held as AMOUNT_MISMATCH
    /// (`order.amount_mismatch`).
    async fn payment_mismatched(
        &self,
        _order: &OrderView,
        _transaction: &Transaction,
        _reason: &str,
    ) {
    }

    /// A pending order is now CLOSED (`order.closed`).
    async fn order_closed(&self, _order: &OrderView) {}

    /// A refund reached SUCCESS, CLOSED or ABNORMAL (`refund.succeeded`, `refund.failed`).
    async fn refund_settled(&self, _refund: &RefundRecord, _order: &OrderView) {}

    /// A transfer reached SUCCESS, FAIL or CANCELLED (`transfer.succeeded`, `transfer.failed`).
    async fn transfer_settled(&self, _transfer: &TransferView) {}

    /// WeChat reported money that matches nothing the ledger holds, now recorded OPEN for an
    /// admin (`payment.unmatched`, `order.paid_after_close`, `refund.unmatched`,
    /// `transfer.unmatched`): `record.kind` says payment, refund or transfer.
    async fn payment_unmatched(&self, _record: &UnmatchedRecord) {}
}

/// No business rules: the ledger alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl BusinessHooks for NoHooks {}
