//! Refunds: reserving the amount before WeChat is called (so concurrent refunds can never
//! exceed the paid total), then accepting, rejecting and settling them from WeChat's answers.
//!
//! States: RESERVED → PROCESSING → SUCCESS | CLOSED, RESERVED → REJECTED, and ABNORMAL, which
//! keeps the money reserved (WeChat could not pay it back, a person must act; it may still end
//! in SUCCESS or CLOSED) and emits `refund.failed` with `"final": false`.

use serde_json::json;

use super::orders::not_found;
use super::{Ledger, StoreError};
use crate::pay::rules::decide_refund;
use crate::pay::service::{
    Notice, NoticeOutcome, RefundAdmission, RefundDraft, RefundRecord, ServiceError,
    ServiceErrorKind,
};
use crate::wechatpay::model::Refund;

/// How often a reservation is re-decided when concurrent refunds moved the totals under it.
const RESERVE_ATTEMPTS: usize = 8;

impl Ledger {
    pub(super) async fn reserve(&self, d: &RefundDraft) -> Result<RefundAdmission, StoreError> {
        for _ in 0..RESERVE_ATTEMPTS {
            let order = match (&d.out_trade_no, &d.transaction_id) {
                (Some(no), _) => self.order_with_refunds(no.as_str()).await?,
                (None, Some(tid)) => self.order_by_transaction(tid).await?,
                (None, None) => None,
            }
            .ok_or_else(|| not_found("the order to refund"))?;
            let existing = self.refund_by_no(d.out_refund_no.as_str()).await?;
            let admission = decide_refund(&order, existing, d)?;
            if !admission.fresh {
                return Ok(admission);
            }
            let record = admission.refund;
            if self.try_reserve(&record, d.reason.as_deref()).await? {
                return Ok(RefundAdmission {
                    refund: record,
                    fresh: true,
                });
            }
            // Someone else reserved first (or took this out_refund_no): decide again.
        }
        Err(ServiceError::new(
            ServiceErrorKind::Unavailable,
            "REFUND_BUSY",
            "too many concurrent refunds of this order; try again",
        )
        .into())
    }

    /// The guarded reservation and the refund row, in one transaction; `false` if the totals
    /// moved or the refund number was taken meanwhile (nothing is changed then).
    async fn try_reserve(
        &self,
        r: &RefundRecord,
        reason: Option<&str>,
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let mut db = self.begin().await?;
        let reserved = sqlx::query(&self.sql(
            "UPDATE pay_orders SET refund_pending = refund_pending + ?, updated_at = ? \
             WHERE out_trade_no = ? AND state = 'PAID' \
             AND amount - refunded - refund_pending >= ?",
        ))
        .bind(r.amount)
        .bind(now)
        .bind(r.out_trade_no.clone())
        .bind(r.amount)
        .execute(&mut *db)
        .await?
        .rows_affected();
        if reserved == 0 {
            return Ok(false);
        }
        let inserted = sqlx::query(&self.insert_ignore(
            "pay_refunds (out_refund_no, out_trade_no, transaction_id, amount, order_total, \
             state, reason, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'RESERVED', ?, ?, ?)",
        ))
        .bind(r.out_refund_no.clone())
        .bind(r.out_trade_no.clone())
        .bind(r.transaction_id.clone())
        .bind(r.amount)
        .bind(r.order_total)
        .bind(reason.map(str::to_string))
        .bind(now)
        .bind(now)
        .execute(&mut *db)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(false);
        }
        db.commit().await?;
        Ok(true)
    }

    pub(super) async fn accept_refund(&self, r: &Refund) -> Result<(), StoreError> {
        let n = sqlx::query(&self.sql(
            "UPDATE pay_refunds SET refund_id = ?, updated_at = ?, state = CASE \
             WHEN state = 'RESERVED' THEN 'PROCESSING' ELSE state END WHERE out_refund_no = ?",
        ))
        .bind(r.refund_id.clone())
        .bind(self.now())
        .bind(r.out_refund_no.clone())
        .execute(&self.pool)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(not_found("out_refund_no").into());
        }
        if matches!(r.status.as_str(), "SUCCESS" | "CLOSED" | "ABNORMAL") {
            let notice = Notice {
                notification_id: None,
                event_type: "ACCEPTED".into(),
                object: r.clone(),
            };
            self.apply_refund(&notice).await?;
        }
        Ok(())
    }

    pub(super) async fn reject_refund(&self, no: &str, reason: &str) -> Result<(), StoreError> {
        let mut db = self.begin().await?;
        let n = sqlx::query(&self.sql(
            "UPDATE pay_refunds SET state = 'REJECTED', updated_at = ? \
             WHERE out_refund_no = ? AND state = 'RESERVED'",
        ))
        .bind(self.now())
        .bind(no.to_string())
        .execute(&mut *db)
        .await?
        .rows_affected();
        if n == 1 {
            let r = self.load_refund(&mut db, no).await?;
            self.move_refund_money(&mut db, &r, 0).await?;
            tracing::warn!(
                out_refund_no = no,
                reason,
                "refund rejected; reservation released"
            );
        }
        db.commit().await?;
        Ok(())
    }

    pub(super) async fn apply_refund(
        &self,
        n: &Notice<Refund>,
    ) -> Result<NoticeOutcome, StoreError> {
        let obj = &n.object;
        let Some(stored) = self.refund_by_no(&obj.out_refund_no).await? else {
            return Ok(NoticeOutcome::Unknown);
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
        let status = obj.status.as_str();
        if !matches!(status, "SUCCESS" | "CLOSED" | "ABNORMAL") {
            return Ok(NoticeOutcome::Duplicate);
        }
        let mut db = self.begin().await?;
        if !self
            .first_sighting(&mut db, n.notification_id.as_deref(), &n.event_type)
            .await?
        {
            return Ok(NoticeOutcome::Duplicate);
        }
        let changed = sqlx::query(&self.sql(
            "UPDATE pay_refunds SET state = ?, refund_id = COALESCE(refund_id, ?), updated_at = ? \
             WHERE out_refund_no = ? AND state IN ('RESERVED', 'PROCESSING', 'ABNORMAL') \
             AND state <> ?",
        ))
        .bind(status.to_string())
        .bind(Some(obj.refund_id.clone()).filter(|s| !s.is_empty()))
        .bind(self.now())
        .bind(stored.out_refund_no.clone())
        .bind(status.to_string())
        .execute(&mut *db)
        .await?
        .rows_affected();
        if changed == 0 {
            db.commit().await?;
            return Ok(NoticeOutcome::Duplicate);
        }
        let refunded = if status == "SUCCESS" {
            stored.amount
        } else {
            0
        };
        if status != "ABNORMAL" {
            self.move_refund_money(&mut db, &stored, refunded).await?;
        }
        let record = self.load_refund(&mut db, &stored.out_refund_no).await?;
        let order = self.load_order(&mut db, &stored.out_trade_no).await?;
        let (event, is_final) = match status {
            "SUCCESS" => ("refund.succeeded", true),
            "CLOSED" => ("refund.failed", true),
            _ => ("refund.failed", false),
        };
        let data = json!({"refund": record, "order": order, "final": is_final});
        self.insert_event(&mut db, event, data).await?;
        db.commit().await?;
        tracing::info!(out_refund_no = %stored.out_refund_no, status, "refund result applied");
        Ok(NoticeOutcome::Applied)
    }

    /// Releases a refund's reservation, moving `refunded` of it to the refunded total, and
    /// marks the order REFUNDED once everything paid has gone back.
    async fn move_refund_money(
        &self,
        db: &mut sqlx::AnyConnection,
        r: &RefundRecord,
        refunded: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(&self.sql(
            "UPDATE pay_orders SET refund_pending = refund_pending - ?, \
             refunded = refunded + ?, updated_at = ? WHERE out_trade_no = ?",
        ))
        .bind(r.amount)
        .bind(refunded)
        .bind(self.now())
        .bind(r.out_trade_no.clone())
        .execute(&mut *db)
        .await?;
        // A separate statement: MySQL evaluates SET left to right with the new values,
        // the others with the old ones.
        sqlx::query(&self.sql(
            "UPDATE pay_orders SET state = 'REFUNDED' \
             WHERE out_trade_no = ? AND state = 'PAID' AND refunded >= amount",
        ))
        .bind(r.out_trade_no.clone())
        .execute(&mut *db)
        .await?;
        Ok(())
    }
}
