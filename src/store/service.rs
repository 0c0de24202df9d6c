//! The storage port ([`LedgerStore`]) on the SQL ledger: each method calls the matching guarded
//! write or read, retries it on deadlocks and busy locks, and turns [`super::StoreError`] into
//! [`ServiceError`]. Nothing here decides; `pay::book` does.

use async_trait::async_trait;

use super::Ledger;
use super::error::retrying;
use crate::pay::port::*;
use crate::pay::service::{
    OrderDraft, OrderView, Prepay, RefundRecord, ServiceError, TransferDraft, TransferState,
    TransferView,
};
use crate::pay::unmatched::{
    UnmatchedDraft, UnmatchedFilter, UnmatchedRecord, UnmatchedResolution,
};
use crate::wechatpay::model::{Refund, Transaction};

#[async_trait]
impl LedgerStore for Ledger {
    fn is_ready(&self) -> bool {
        Ledger::is_ready(self)
    }

    async fn insert_order(&self, d: &OrderDraft) -> Result<Inserted<StoredOrder>, ServiceError> {
        Ok(retrying!(Ledger::insert_order(self, d))?)
    }

    async fn store_prepay(&self, no: &str, p: &Prepay) -> Result<bool, ServiceError> {
        Ok(retrying!(Ledger::store_prepay(self, no, p))?)
    }

    async fn find_order(&self, no: &str) -> Result<Option<OrderView>, ServiceError> {
        Ok(retrying!(Ledger::order_with_refunds(self, no))?)
    }

    async fn find_order_by_transaction(&self, id: &str) -> Result<Option<OrderView>, ServiceError> {
        Ok(retrying!(Ledger::order_by_transaction(self, id))?)
    }

    async fn record_payment(
        &self,
        seen: Sighting<'_>,
        tx: &Transaction,
        step: &PayStep,
    ) -> Result<Written<OrderView>, ServiceError> {
        Ok(retrying!(Ledger::apply_payment(self, seen, tx, step))?)
    }

    async fn close_order(&self, no: &str) -> Result<Written<OrderView>, ServiceError> {
        Ok(retrying!(Ledger::close_pending(self, no))?)
    }

    async fn find_refund(&self, no: &str) -> Result<Option<RefundRecord>, ServiceError> {
        Ok(retrying!(Ledger::refund_by_no(self, no))?)
    }

    async fn reserve_refund(
        &self,
        r: &RefundRecord,
        reason: Option<&str>,
    ) -> Result<bool, ServiceError> {
        Ok(retrying!(Ledger::try_reserve(self, r, reason))?)
    }

    async fn mark_refund_accepted(&self, r: &Refund) -> Result<bool, ServiceError> {
        Ok(retrying!(Ledger::accept_refund(self, r))?)
    }

    async fn reject_refund(
        &self,
        no: &str,
        _reason: &str,
        r: &RefundRejection,
    ) -> Result<Written<RefundRecord>, ServiceError> {
        Ok(retrying!(Ledger::reject_refund(self, no, r))?)
    }

    async fn settle_refund(
        &self,
        seen: Sighting<'_>,
        no: &str,
        s: &RefundSettlement,
    ) -> Result<Written<(RefundRecord, Option<OrderView>)>, ServiceError> {
        Ok(retrying!(Ledger::apply_refund(self, seen, no, s))?)
    }

    async fn insert_transfer(
        &self,
        d: &TransferDraft,
    ) -> Result<Inserted<StoredTransfer>, ServiceError> {
        Ok(retrying!(Ledger::insert_transfer(self, d))?)
    }

    async fn find_transfer(&self, no: &str) -> Result<Option<TransferView>, ServiceError> {
        Ok(retrying!(Ledger::find_transfer(self, no))?)
    }

    async fn mark_transfer_accepted(
        &self,
        no: &str,
        transfer_bill_no: Option<&str>,
        state: TransferState,
    ) -> Result<bool, ServiceError> {
        Ok(retrying!(Ledger::accept_transfer(
            self,
            no,
            transfer_bill_no,
            state
        ))?)
    }

    async fn reject_transfer(
        &self,
        no: &str,
        reason: &str,
    ) -> Result<Written<TransferView>, ServiceError> {
        Ok(retrying!(Ledger::reject_transfer(self, no, reason))?)
    }

    async fn settle_transfer(
        &self,
        seen: Sighting<'_>,
        no: &str,
        s: &TransferSettlement,
    ) -> Result<Written<TransferView>, ServiceError> {
        Ok(retrying!(Ledger::apply_transfer(self, seen, no, s))?)
    }

    async fn record_unmatched(
        &self,
        seen: Sighting<'_>,
        d: &UnmatchedDraft,
    ) -> Result<Written<UnmatchedRecord>, ServiceError> {
        Ok(retrying!(Ledger::insert_unmatched(self, seen, d))?)
    }

    async fn unmatched(&self, f: &UnmatchedFilter) -> Result<Vec<UnmatchedRecord>, ServiceError> {
        Ok(retrying!(Ledger::list_unmatched(self, f))?)
    }

    async fn find_unmatched(&self, id: &str) -> Result<Option<UnmatchedRecord>, ServiceError> {
        Ok(retrying!(Ledger::unmatched_by_id(self, id))?)
    }

    async fn resolve_unmatched(
        &self,
        id: &str,
        r: &UnmatchedResolution,
    ) -> Result<Written<UnmatchedRecord>, ServiceError> {
        Ok(retrying!(Ledger::resolve_unmatched(self, id, r))?)
    }

    async fn claim_due(&self, due: Due, lease: Lease) -> Result<Claimed, ServiceError> {
        Ok(retrying!(Ledger::claim_due(self, due, lease))?)
    }

    async fn release(
        &self,
        due: Due,
        claim: &Claimed,
        keys: &[String],
    ) -> Result<(), ServiceError> {
        Ok(retrying!(Ledger::release(self, due, claim, keys))?)
    }
}
