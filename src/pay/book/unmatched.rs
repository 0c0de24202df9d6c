//! The unmatched-money moments: recording money WeChat reports that matches nothing the ledger
//! holds (reached from the pay, refund and transfer use cases, whichever entry brought the
//! notice), and an admin's one resolution of such a record.

use super::{Book, not_found, sighting};
use crate::pay::port::Written;
use crate::pay::service::{
    Notice, NoticeOutcome, RefundRecord, RefundState, ServiceError, ServiceErrorKind,
};
use crate::pay::states::{UnmatchedKind, UnmatchedState};
use crate::pay::types::{OutRefundNo, mask};
use crate::pay::unmatched::{
    UnmatchedAction, UnmatchedDraft, UnmatchedFilter, UnmatchedRecord, UnmatchedResolution,
};

impl Book {
    /// Records unmatched money with its event and the notice's sighting (a replay, or the same
    /// WeChat object again, records nothing), raises the alert and tells the business once.
    /// Only after this returns `Ok` may WeChat hear SUCCESS.
    pub(super) async fn unmatched_notified<T>(
        &self,
        n: &Notice<T>,
        draft: &UnmatchedDraft,
    ) -> Result<NoticeOutcome, ServiceError> {
        let rec = match self.store.record_unmatched(sighting(n), draft).await? {
            Written::Changed(rec) => rec,
            Written::Replay | Written::Unchanged => return Ok(NoticeOutcome::Duplicate),
        };
        tracing::error!(
            unmatched_id = %rec.id,
            kind = %rec.kind,
            reason = %rec.reason,
            out_no = %rec.out_no,
            wechat_no = %rec.wechat_no,
            amount = rec.amount,
            openid = %rec.openid.as_deref().map_or("-".into(), mask),
            via = %n.event_type,
            "ALERT: money that matches nothing in the ledger; recorded OPEN for an admin (POST /wx-pay/admin/unmatched)"
        );
        self.hooks.payment_unmatched(&rec).await;
        Ok(NoticeOutcome::Unmatched)
    }

    /// Unmatched records, newest first.
    pub async fn unmatched(
        &self,
        filter: &UnmatchedFilter,
    ) -> Result<Vec<UnmatchedRecord>, ServiceError> {
        self.store.unmatched(filter).await
    }

    /// One unmatched record, if recorded.
    pub async fn find_unmatched(&self, id: &str) -> Result<Option<UnmatchedRecord>, ServiceError> {
        self.store.find_unmatched(id).await
    }

    /// An admin resolves an OPEN record, exactly once however many try at the same time.
    /// `refund` records the full refund of the payment (RESERVED, linked to the record) in the
    /// same step: the caller sends exactly that refund to WeChat and reports the answer to
    /// [`Book::refund_accepted`] or [`Book::refund_rejected`].
    pub async fn resolve_unmatched(
        &self,
        id: &str,
        action: UnmatchedAction,
        note: Option<String>,
        out_refund_no: &OutRefundNo,
    ) -> Result<(UnmatchedRecord, Option<RefundRecord>), ServiceError> {
        let rec = self
            .store
            .find_unmatched(id)
            .await?
            .ok_or_else(|| not_found("unmatched record"))?;
        resolvable(&rec, action)?;
        let refund = (action == UnmatchedAction::Refund).then(|| RefundRecord {
            out_refund_no: out_refund_no.to_string(),
            out_trade_no: rec.out_no.clone(),
            transaction_id: Some(rec.wechat_no.clone()),
            amount: rec.amount,
            order_total: rec.amount,
            state: RefundState::Reserved,
            refund_id: None,
            unmatched_id: Some(rec.id.clone()),
        });
        let resolution = UnmatchedResolution {
            action,
            note,
            refund: refund.clone(),
        };
        match self.store.resolve_unmatched(id, &resolution).await? {
            Written::Changed(rec) => {
                tracing::warn!(unmatched_id = %rec.id, action = action.as_str(), out_refund_no = ?rec.out_refund_no, "unmatched money resolved");
                Ok((rec, refund))
            }
            Written::Replay | Written::Unchanged => {
                // Someone resolved it first, or the refund number is someone else's.
                match self.store.find_unmatched(id).await? {
                    Some(now) if now.state == UnmatchedState::Open => Err(ServiceError::new(
                        ServiceErrorKind::Conflict,
                        "OUT_REFUND_NO_USED",
                        format!("out_refund_no {out_refund_no} is already used; use a new one"),
                    )),
                    Some(now) => Err(already_resolved(&now)),
                    None => Err(not_found("unmatched record")),
                }
            }
        }
    }
}

/// Only an OPEN record can be resolved; only a payment can be refunded (a refund or transfer
/// that matches nothing is money that already left).
fn resolvable(rec: &UnmatchedRecord, action: UnmatchedAction) -> Result<(), ServiceError> {
    if rec.state != UnmatchedState::Open {
        return Err(already_resolved(rec));
    }
    if action == UnmatchedAction::Refund && (rec.kind != UnmatchedKind::Payment || rec.amount <= 0)
    {
        return Err(ServiceError::new(
            ServiceErrorKind::Conflict,
            "UNMATCHED_NOT_REFUNDABLE",
            format!(
                "unmatched record {} is a {} of {} fen; only a payment can be refunded (attach or dismiss it)",
                rec.id, rec.kind, rec.amount
            ),
        ));
    }
    Ok(())
}

fn already_resolved(rec: &UnmatchedRecord) -> ServiceError {
    ServiceError::new(
        ServiceErrorKind::Conflict,
        "UNMATCHED_RESOLVED",
        format!(
            "unmatched record {} is {}, not OPEN; it was resolved already",
            rec.id, rec.state
        ),
    )
}
