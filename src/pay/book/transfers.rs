//! The transfer moments: record before WeChat is called, then follow the bill to a final state.

use super::{Book, not_found, sighting};
use crate::pay::port::{Inserted, TransferSettlement, Written};
use crate::pay::rules::number_reused;
use crate::pay::service::{
    Notice, NoticeOutcome, ServiceError, TransferAdmission, TransferDraft, TransferState,
    TransferView,
};
use crate::pay::types::{OutBillNo, mask};
use crate::pay::unmatched::UnmatchedDraft;
use crate::wechatpay::model::TransferBill;

impl Book {
    /// Before WeChat is called: the business may veto; then the transfer is recorded, or an
    /// identical repeat recognised (`OUT_BILL_NO_USED` for other content).
    pub async fn record_transfer(
        &self,
        d: &TransferDraft,
    ) -> Result<TransferAdmission, ServiceError> {
        self.hooks.before_transfer(d).await?;
        match self.store.insert_transfer(d).await? {
            Inserted::New => {
                tracing::info!(out_bill_no = %d.out_bill_no, payee = %d.openid.masked(), "transfer recorded");
                Ok(TransferAdmission::New)
            }
            Inserted::Existing(s) if s.fingerprint != d.fingerprint => Err(number_reused(
                "OUT_BILL_NO_USED",
                "out_bill_no",
                d.out_bill_no.as_str(),
                "transfer",
            )),
            Inserted::Existing(s) => Ok(TransferAdmission::Existing {
                request_body: s.request_body,
            }),
        }
    }

    /// WeChat accepted the transfer; a final state already in its answer is applied like a
    /// notice.
    pub async fn transfer_accepted(&self, bill: &TransferBill) -> Result<(), ServiceError> {
        let state = match TransferState::parse(&bill.state) {
            Some(s) => s,
            None if bill.state.is_empty() => TransferState::Accepted,
            None => {
                tracing::warn!(out_bill_no = %bill.out_bill_no, state = %bill.state, "unknown transfer state in WeChat's answer; recorded as ACCEPTED");
                TransferState::Accepted
            }
        };
        if state.is_final() {
            if self.store.find_transfer(&bill.out_bill_no).await?.is_none() {
                return Err(not_found("out_bill_no"));
            }
            let notice = Notice {
                notification_id: None,
                event_type: "ACCEPTED".into(),
                object: bill.clone(),
            };
            self.transfer_notified(&notice).await?;
            return Ok(());
        }
        let bill_no = Some(bill.transfer_bill_no.as_str()).filter(|s| !s.is_empty());
        if !self
            .store
            .mark_transfer_accepted(&bill.out_bill_no, bill_no, state)
            .await?
        {
            return Err(not_found("out_bill_no"));
        }
        Ok(())
    }

    /// WeChat definitively refused the transfer.
    pub async fn transfer_rejected(
        &self,
        no: &OutBillNo,
        reason: &str,
    ) -> Result<(), ServiceError> {
        if let Written::Changed(_) = self.store.reject_transfer(no.as_str(), reason).await? {
            tracing::warn!(out_bill_no = %no, reason, "transfer rejected by WeChat Pay");
        }
        Ok(())
    }

    /// An authenticated transfer result (callback, query, reconciliation).
    pub async fn transfer_notified(
        &self,
        n: &Notice<TransferBill>,
    ) -> Result<NoticeOutcome, ServiceError> {
        let bill = &n.object;
        let Some(stored) = self.store.find_transfer(&bill.out_bill_no).await? else {
            // A transfer we never made that paid money out: recorded for an admin.
            return match UnmatchedDraft::transfer(bill) {
                Some(draft) => self.unmatched_notified(n, &draft).await,
                None => Ok(NoticeOutcome::Unknown),
            };
        };
        if bill.transfer_amount.is_some_and(|a| a != stored.amount) {
            let why = format!(
                "transfer {} says amount {:?}, the ledger has {}",
                stored.out_bill_no, bill.transfer_amount, stored.amount
            );
            tracing::error!(reason = %why, payee = %mask(&stored.openid), "ALERT: transfer result does not match the ledger");
            return Ok(NoticeOutcome::Mismatch(why));
        }
        let Some(state) = TransferState::parse(&bill.state) else {
            if !bill.state.is_empty() {
                tracing::warn!(out_bill_no = %stored.out_bill_no, state = %bill.state, "unknown transfer state; nothing recorded");
            }
            return Ok(NoticeOutcome::Duplicate);
        };
        let settlement = TransferSettlement {
            state,
            transfer_bill_no: Some(bill.transfer_bill_no.clone()).filter(|s| !s.is_empty()),
            fail_reason: bill.fail_reason.clone(),
            event: match state {
                TransferState::Success => Some("transfer.succeeded"),
                TransferState::Fail | TransferState::Cancelled => Some("transfer.failed"),
                _ => None,
            },
            give_back: matches!(state, TransferState::Fail | TransferState::Cancelled),
        };
        match self
            .store
            .settle_transfer(sighting(n), &stored.out_bill_no, &settlement)
            .await?
        {
            Written::Changed(view) => {
                if settlement.event.is_some() {
                    tracing::info!(out_bill_no = %view.out_bill_no, state = %state, "transfer settled");
                    self.hooks.transfer_settled(&view).await;
                }
                Ok(NoticeOutcome::Applied)
            }
            Written::Replay | Written::Unchanged => Ok(NoticeOutcome::Duplicate),
        }
    }

    /// The ledger's view of a transfer, if known.
    pub async fn find_transfer(
        &self,
        no: &OutBillNo,
    ) -> Result<Option<TransferView>, ServiceError> {
        self.store.find_transfer(no.as_str()).await
    }

    /// The payee recorded for a transfer, if known.
    pub async fn transfer_payee(&self, no: &OutBillNo) -> Result<Option<String>, ServiceError> {
        Ok(self.find_transfer(no).await?.map(|t| t.openid))
    }
}
