//! The `OrderService` boundary: each hook calls the matching ledger use case, retries it on
//! deadlocks and busy locks, and turns [`StoreError`] into [`ServiceError`].

use async_trait::async_trait;

use super::Ledger;
use super::error::retrying;
use crate::pay::service::*;
use crate::pay::types::{OutBillNo, OutRefundNo, OutTradeNo};
use crate::wechatpay::model::{Refund, Transaction, TransferBill};

#[async_trait]
impl OrderService for Ledger {
    async fn record_order(&self, d: &OrderDraft) -> Result<OrderAdmission, ServiceError> {
        Ok(retrying!(Ledger::insert_order(self, d))?)
    }

    async fn order_placed(&self, order: &OrderDraft, prepay: &Prepay) -> Result<(), ServiceError> {
        let no = order.out_trade_no.as_str();
        Ok(retrying!(Ledger::store_prepay(self, no, prepay))?)
    }

    async fn payment_notified(
        &self,
        n: &Notice<Transaction>,
    ) -> Result<NoticeOutcome, ServiceError> {
        Ok(retrying!(Ledger::apply_payment(self, n))?)
    }

    async fn order_closed(&self, no: &OutTradeNo) -> Result<(), ServiceError> {
        retrying!(Ledger::close_pending(self, no.as_str()))?;
        Ok(())
    }

    async fn reserve_refund(&self, d: &RefundDraft) -> Result<RefundAdmission, ServiceError> {
        Ok(retrying!(Ledger::reserve(self, d))?)
    }

    async fn refund_accepted(&self, refund: &Refund) -> Result<(), ServiceError> {
        Ok(retrying!(Ledger::accept_refund(self, refund))?)
    }

    async fn refund_rejected(&self, no: &OutRefundNo, reason: &str) -> Result<(), ServiceError> {
        Ok(retrying!(Ledger::reject_refund(self, no.as_str(), reason))?)
    }

    async fn refund_notified(&self, n: &Notice<Refund>) -> Result<NoticeOutcome, ServiceError> {
        Ok(retrying!(Ledger::apply_refund(self, n))?)
    }

    async fn record_transfer(&self, d: &TransferDraft) -> Result<TransferAdmission, ServiceError> {
        Ok(retrying!(Ledger::insert_transfer(self, d))?)
    }

    async fn transfer_accepted(&self, bill: &TransferBill) -> Result<(), ServiceError> {
        Ok(retrying!(Ledger::accept_transfer(self, bill))?)
    }

    async fn transfer_rejected(&self, no: &OutBillNo, reason: &str) -> Result<(), ServiceError> {
        Ok(retrying!(Ledger::reject_transfer(
            self,
            no.as_str(),
            reason
        ))?)
    }

    async fn transfer_notified(
        &self,
        n: &Notice<TransferBill>,
    ) -> Result<NoticeOutcome, ServiceError> {
        Ok(retrying!(Ledger::apply_transfer(self, n))?)
    }

    async fn find_order(&self, no: &OutTradeNo) -> Result<Option<OrderView>, ServiceError> {
        Ok(Ledger::order_with_refunds(self, no.as_str()).await?)
    }

    async fn find_by_transaction_id(&self, id: &str) -> Result<Option<OrderView>, ServiceError> {
        Ok(Ledger::order_by_transaction(self, id).await?)
    }

    async fn find_refund(&self, no: &OutRefundNo) -> Result<Option<RefundRecord>, ServiceError> {
        Ok(Ledger::refund_by_no(self, no.as_str()).await?)
    }

    async fn transfer_payee(&self, no: &OutBillNo) -> Result<Option<String>, ServiceError> {
        Ok(Ledger::find_transfer(self, no.as_str())
            .await?
            .map(|t| t.openid))
    }
}
