//! The storage port ([`LedgerStore`]) on the SQL ledger: each method calls the matching guarded
//! write or read, retries it on deadlocks and busy locks, runs it to completion whatever the
//! caller does, and turns [`super::StoreError`] into [`ServiceError`]. Nothing here decides;
//! `pay::book` does.

use async_trait::async_trait;

use super::Ledger;
use super::error::to_completion;
use crate::pay::port::*;
use crate::pay::service::{
    OrderDraft, OrderView, Prepay, RefundRecord, ServiceError, TransferDraft, TransferState,
    TransferView,
};
use crate::pay::unmatched::{
    UnmatchedDraft, UnmatchedFilter, UnmatchedRecord, UnmatchedResolution,
};
use crate::wechatpay::model::{Refund, Transaction};

/// A [`Sighting`] with owned strings, to move into [`to_completion!`]'s task.
pub(super) struct Seen {
    notification_id: Option<String>,
    event_type: String,
}

impl From<Sighting<'_>> for Seen {
    fn from(s: Sighting<'_>) -> Self {
        Self {
            notification_id: s.notification_id.map(str::to_string),
            event_type: s.event_type.to_string(),
        }
    }
}

impl Seen {
    pub(super) fn get(&self) -> Sighting<'_> {
        Sighting {
            notification_id: self.notification_id.as_deref(),
            event_type: &self.event_type,
        }
    }
}

/// Every call runs to completion, however its caller ends ([`to_completion!`]).
#[async_trait]
impl LedgerStore for Ledger {
    fn is_ready(&self) -> bool {
        Ledger::is_ready(self)
    }

    async fn insert_order(&self, d: &OrderDraft) -> Result<Inserted<StoredOrder>, ServiceError> {
        let d = d.clone();
        to_completion!(self, |l| Ledger::insert_order(&l, &d))
    }

    async fn store_prepay(&self, no: &str, p: &Prepay) -> Result<bool, ServiceError> {
        let (no, p) = (no.to_string(), p.clone());
        to_completion!(self, |l| Ledger::store_prepay(&l, &no, &p))
    }

    async fn find_order(&self, no: &str) -> Result<Option<OrderView>, ServiceError> {
        let no = no.to_string();
        to_completion!(self, |l| Ledger::order_with_refunds(&l, &no))
    }

    async fn find_order_by_transaction(&self, id: &str) -> Result<Option<OrderView>, ServiceError> {
        let id = id.to_string();
        to_completion!(self, |l| Ledger::order_by_transaction(&l, &id))
    }

    async fn record_payment(
        &self,
        seen: Sighting<'_>,
        order: &OrderView,
        tx: &Transaction,
        step: &PayStep,
    ) -> Result<Written<OrderView>, ServiceError> {
        let (seen, order, tx, step) = (Seen::from(seen), order.clone(), tx.clone(), step.clone());
        to_completion!(self, |l| Ledger::apply_payment(
            &l,
            seen.get(),
            &order,
            &tx,
            &step
        ))
    }

    async fn close_order(&self, no: &str) -> Result<Written<OrderView>, ServiceError> {
        let no = no.to_string();
        to_completion!(self, |l| Ledger::close_pending(&l, &no))
    }

    async fn find_refund(&self, no: &str) -> Result<Option<RefundRecord>, ServiceError> {
        let no = no.to_string();
        to_completion!(self, |l| Ledger::refund_by_no(&l, &no))
    }

    async fn reserve_refund(
        &self,
        r: &RefundRecord,
        reason: Option<&str>,
    ) -> Result<bool, ServiceError> {
        let (r, reason) = (r.clone(), reason.map(str::to_string));
        to_completion!(self, |l| Ledger::try_reserve(&l, &r, reason.as_deref()))
    }

    async fn mark_refund_accepted(&self, r: &Refund) -> Result<bool, ServiceError> {
        let r = r.clone();
        to_completion!(self, |l| Ledger::accept_refund(&l, &r))
    }

    async fn reject_refund(
        &self,
        no: &str,
        _reason: &str,
        r: &RefundRejection,
    ) -> Result<Written<RefundRecord>, ServiceError> {
        let (no, r) = (no.to_string(), r.clone());
        to_completion!(self, |l| Ledger::reject_refund(&l, &no, &r))
    }

    async fn settle_refund(
        &self,
        seen: Sighting<'_>,
        no: &str,
        s: &RefundSettlement,
    ) -> Result<Written<(RefundRecord, Option<OrderView>)>, ServiceError> {
        let (seen, no, s) = (Seen::from(seen), no.to_string(), s.clone());
        to_completion!(self, |l| Ledger::apply_refund(&l, seen.get(), &no, &s))
    }

    async fn insert_transfer(
        &self,
        d: &TransferDraft,
    ) -> Result<Inserted<StoredTransfer>, ServiceError> {
        let d = d.clone();
        to_completion!(self, |l| Ledger::insert_transfer(&l, &d))
    }

    async fn find_transfer(&self, no: &str) -> Result<Option<TransferView>, ServiceError> {
        let no = no.to_string();
        to_completion!(self, |l| Ledger::find_transfer(&l, &no))
    }

    async fn mark_transfer_accepted(
        &self,
        no: &str,
        transfer_bill_no: Option<&str>,
        state: TransferState,
    ) -> Result<bool, ServiceError> {
        let (no, bill) = (no.to_string(), transfer_bill_no.map(str::to_string));
        to_completion!(self, |l| Ledger::accept_transfer(
            &l,
            &no,
            bill.as_deref(),
            state
        ))
    }

    async fn reject_transfer(
        &self,
        no: &str,
        reason: &str,
    ) -> Result<Written<TransferView>, ServiceError> {
        let (no, reason) = (no.to_string(), reason.to_string());
        to_completion!(self, |l| Ledger::reject_transfer(&l, &no, &reason))
    }

    async fn settle_transfer(
        &self,
        seen: Sighting<'_>,
        no: &str,
        s: &TransferSettlement,
    ) -> Result<Written<TransferView>, ServiceError> {
        let (seen, no, s) = (Seen::from(seen), no.to_string(), s.clone());
        to_completion!(self, |l| Ledger::apply_transfer(&l, seen.get(), &no, &s))
    }

    async fn record_unmatched(
        &self,
        seen: Sighting<'_>,
        d: &UnmatchedDraft,
    ) -> Result<Written<UnmatchedRecord>, ServiceError> {
        let (seen, d) = (Seen::from(seen), d.clone());
        to_completion!(self, |l| Ledger::insert_unmatched(&l, seen.get(), &d))
    }

    async fn unmatched(&self, f: &UnmatchedFilter) -> Result<Vec<UnmatchedRecord>, ServiceError> {
        let f = *f;
        to_completion!(self, |l| Ledger::list_unmatched(&l, &f))
    }

    async fn find_unmatched(&self, id: &str) -> Result<Option<UnmatchedRecord>, ServiceError> {
        let id = id.to_string();
        to_completion!(self, |l| Ledger::unmatched_by_id(&l, &id))
    }

    async fn resolve_unmatched(
        &self,
        id: &str,
        r: &UnmatchedResolution,
    ) -> Result<Written<UnmatchedRecord>, ServiceError> {
        let (id, r) = (id.to_string(), r.clone());
        to_completion!(self, |l| Ledger::resolve_unmatched(&l, &id, &r))
    }

    async fn claim_due(&self, due: Due, lease: Lease) -> Result<Claimed, ServiceError> {
        to_completion!(self, |l| Ledger::claim_due(&l, due, lease))
    }

    async fn release(
        &self,
        due: Due,
        claim: &Claimed,
        keys: &[String],
    ) -> Result<(), ServiceError> {
        let (claim, keys) = (claim.clone(), keys.to_vec());
        to_completion!(self, |l| Ledger::release(&l, due, &claim, &keys))
    }
}
