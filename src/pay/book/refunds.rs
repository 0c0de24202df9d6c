//! The refund moments: reserve before WeChat is called (so concurrent refunds can never exceed
//! the paid total), then accept, reject and settle from WeChat's answers.

use super::{Book, not_found, sighting};
use crate::pay::port::{RefundRejection, RefundSettlement, Written};
use crate::pay::rules::decide_refund;
use crate::pay::service::{
    Notice, NoticeOutcome, RefundAdmission, RefundDraft, RefundRecord, RefundState, ServiceError,
    ServiceErrorKind,
};
use crate::pay::types::OutRefundNo;
use crate::pay::unmatched::{UnmatchedDraft, UnmatchedStep};
use crate::wechatpay::model::Refund;

/// How often a reservation is re-decided when concurrent refunds moved the totals under it.
const RESERVE_ATTEMPTS: usize = 8;

impl Book {
    /// Before WeChat is called: the business may veto; then the amount is decided from the
    /// stored order and reserved. A repeat of the same `out_refund_no` with the same content
    /// returns the earlier reservation.
    pub async fn reserve_refund(&self, d: &RefundDraft) -> Result<RefundAdmission, ServiceError> {
        self.hooks.before_refund(d).await?;
        for _ in 0..RESERVE_ATTEMPTS {
            let order = match (&d.out_trade_no, &d.transaction_id) {
                (Some(no), _) => self.store.find_order(no.as_str()).await?,
                (None, Some(tid)) => self.store.find_order_by_transaction(tid).await?,
                (None, None) => None,
            }
            .ok_or_else(|| not_found("the order to refund"))?;
            let existing = self.store.find_refund(d.out_refund_no.as_str()).await?;
            let admission = decide_refund(&order, existing, d)?;
            if !admission.fresh {
                return Ok(admission);
            }
            if self
                .store
                .reserve_refund(&admission.refund, d.reason.as_deref())
                .await?
            {
                return Ok(admission);
            }
            // Someone else reserved first (or took this out_refund_no): decide again.
        }
        Err(ServiceError::new(
            ServiceErrorKind::Unavailable,
            "REFUND_BUSY",
            "too many concurrent refunds of this order; try again",
        ))
    }

    /// WeChat accepted the refund; a result already in its answer is applied like a notice.
    pub async fn refund_accepted(&self, r: &Refund) -> Result<(), ServiceError> {
        if !self.store.mark_refund_accepted(r).await? {
            return Err(not_found("out_refund_no"));
        }
        if RefundState::parse(&r.status).is_some_and(RefundState::is_result) {
            let notice = Notice {
                notification_id: None,
                event_type: "ACCEPTED".into(),
                object: r.clone(),
            };
            self.refund_notified(&notice).await?;
        }
        Ok(())
    }

    /// WeChat definitively refused the refund: release the reservation.
    pub async fn refund_rejected(
        &self,
        no: &OutRefundNo,
        reason: &str,
    ) -> Result<(), ServiceError> {
        let Some(stored) = self.store.find_refund(no.as_str()).await? else {
            return Ok(());
        };
        // A refund of unmatched money has no reservation to release; its record is OPEN again.
        let rejection = RefundRejection {
            release: stored.unmatched_id.is_none(),
            unmatched: stored
                .unmatched_id
                .as_deref()
                .and_then(|id| UnmatchedStep::after_refund(id, Some(RefundState::Rejected))),
        };
        if let Written::Changed(_) = self
            .store
            .reject_refund(no.as_str(), reason, &rejection)
            .await?
        {
            tracing::warn!(out_refund_no = %no, reason, "refund rejected; reservation released");
        }
        Ok(())
    }

    /// An authenticated refund result (callback, query, reconciliation).
    pub async fn refund_notified(&self, n: &Notice<Refund>) -> Result<NoticeOutcome, ServiceError> {
        let obj = &n.object;
        let Some(stored) = self.store.find_refund(&obj.out_refund_no).await? else {
            // A refund we never made that moved money: recorded for an admin.
            return match UnmatchedDraft::refund(obj) {
                Some(draft) => self.unmatched_notified(n, &draft).await,
                None => Ok(NoticeOutcome::Unknown),
            };
        };
        if obj.out_trade_no != stored.out_trade_no || obj.amount.refund != Some(stored.amount) {
            let why = format!(
                "refund {} says order {} amount {:?}, the ledger has order {} amount {}",
                stored.out_refund_no,
                obj.out_trade_no,
                obj.amount.refund,
                stored.out_trade_no,
                stored.amount
            );
            tracing::error!(reason = %why, "ALERT: refund result does not match the ledger");
            return Ok(NoticeOutcome::Mismatch(why));
        }
        let Some(state) = RefundState::parse(&obj.status).filter(|s| s.is_result()) else {
            return Ok(NoticeOutcome::Duplicate);
        };
        let settlement = settlement(&stored, state, &obj.refund_id);
        match self
            .store
            .settle_refund(sighting(n), &stored.out_refund_no, &settlement)
            .await?
        {
            Written::Changed((refund, order)) => {
                tracing::info!(out_refund_no = %stored.out_refund_no, status = %state, unmatched = ?refund.unmatched_id, "refund result applied");
                // A refund of unmatched money settles no order of the business.
                if let (None, Some(order)) = (&refund.unmatched_id, order) {
                    self.hooks.refund_settled(&refund, &order).await;
                }
                Ok(NoticeOutcome::Applied)
            }
            Written::Replay | Written::Unchanged => Ok(NoticeOutcome::Duplicate),
        }
    }

    /// The ledger's view of a refund, if known.
    pub async fn find_refund(
        &self,
        no: &OutRefundNo,
    ) -> Result<Option<RefundRecord>, ServiceError> {
        self.store.find_refund(no.as_str()).await
    }
}

/// What a refund result does to the money: SUCCESS moves the reservation to the refunded total,
/// CLOSED releases it, ABNORMAL keeps it reserved (a person must act) and says so with
/// `refund.failed` `"final": false`. A refund of unmatched money has no reservation: its
/// result moves its unmatched record instead (REFUNDED, or OPEN again).
fn settlement(stored: &RefundRecord, state: RefundState, refund_id: &str) -> RefundSettlement {
    let (refunded, event) = match state {
        RefundState::Success => (stored.amount, ("refund.succeeded", true)),
        RefundState::Closed => (0, ("refund.failed", true)),
        _ => (0, ("refund.failed", false)),
    };
    let unmatched = stored.unmatched_id.as_deref();
    RefundSettlement {
        state,
        refund_id: Some(refund_id.to_string()).filter(|s| !s.is_empty()),
        release: state != RefundState::Abnormal && unmatched.is_none(),
        refunded,
        event,
        unmatched: unmatched.and_then(|id| UnmatchedStep::after_refund(id, Some(state))),
    }
}
