//! Refunds: the guarded reservation (so concurrent refunds can never exceed the paid total),
//! then accepting, rejecting and settling them as `pay` decided from WeChat's answers.
//! States: see [`crate::pay::states::RefundState`].

use serde_json::json;

use super::{Ledger, StoreError};
use crate::pay::port::{RefundRejection, RefundSettlement, Sighting, Written};
use crate::pay::service::{OrderView, RefundRecord};
use crate::wechatpay::model::Refund;

impl Ledger {
    /// A RESERVED refund row, inside the caller's transaction (an order's reservation, or the
    /// resolution of unmatched money); `false` if the number is taken.
    pub(super) async fn insert_reserved_refund(
        &self,
        db: &mut sqlx::AnyConnection,
        r: &RefundRecord,
        reason: Option<&str>,
    ) -> Result<bool, StoreError> {
        let now = self.now();
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
        Ok(inserted == 1)
    }

    /// The guarded reservation and the refund row, in one transaction; `false` if the totals
    /// moved or the refund number was taken meanwhile (nothing is changed then).
    pub(super) async fn try_reserve(
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
        if !self.insert_reserved_refund(&mut db, r, reason).await? {
            return Ok(false);
        }
        db.commit().await?;
        Ok(true)
    }

    /// Stores WeChat's refund id and moves RESERVED → PROCESSING; `false` if unknown.
    pub(super) async fn accept_refund(&self, r: &Refund) -> Result<bool, StoreError> {
        let n = sqlx::query(&self.sql(
            "UPDATE pay_refunds SET refund_id = ?, updated_at = ?, state = CASE \
             WHEN state = 'RESERVED' THEN 'PROCESSING' ELSE state END WHERE out_refund_no = ?",
        ))
        .bind(r.refund_id.clone())
        .bind(self.now())
        .bind(r.out_refund_no.clone())
        .execute(&mut *self.conn().await?)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// RESERVED → REJECTED, releasing the reservation and moving the unmatched record as `rej`
    /// says.
    pub(super) async fn reject_refund(
        &self,
        no: &str,
        rej: &RefundRejection,
    ) -> Result<Written<RefundRecord>, StoreError> {
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
        if n == 0 {
            db.commit().await?;
            return Ok(Written::Unchanged);
        }
        let r = self.load_refund(&mut db, no).await?;
        if rej.release {
            self.move_refund_money(&mut db, &r, 0).await?;
        }
        if let Some(step) = &rej.unmatched {
            self.move_unmatched(&mut db, step).await?;
        }
        db.commit().await?;
        Ok(Written::Changed(r))
    }

    /// Records the sighting and settles a refund that is not final yet: its state, the money
    /// as `s` says, and the event, in one transaction.
    pub(super) async fn apply_refund(
        &self,
        seen: Sighting<'_>,
        no: &str,
        s: &RefundSettlement,
    ) -> Result<Written<(RefundRecord, Option<OrderView>)>, StoreError> {
        let mut db = self.begin().await?;
        if !self
            .first_sighting(&mut db, seen.notification_id, seen.event_type)
            .await?
        {
            return Ok(Written::Replay);
        }
        let status = s.state.as_str();
        let changed = sqlx::query(&self.sql(
            "UPDATE pay_refunds SET state = ?, refund_id = COALESCE(refund_id, ?), updated_at = ? \
             WHERE out_refund_no = ? AND state IN ('RESERVED', 'PROCESSING', 'ABNORMAL') \
             AND state <> ?",
        ))
        .bind(status.to_string())
        .bind(s.refund_id.clone())
        .bind(self.now())
        .bind(no.to_string())
        .bind(status.to_string())
        .execute(&mut *db)
        .await?
        .rows_affected();
        if changed == 0 {
            db.commit().await?;
            return Ok(Written::Unchanged);
        }
        let record = self.load_refund(&mut db, no).await?;
        if s.release {
            self.move_refund_money(&mut db, &record, s.refunded).await?;
        }
        let unmatched = match &s.unmatched {
            Some(step) => self.move_unmatched(&mut db, step).await?,
            None => None,
        };
        // A refund of unmatched money may have no order in the ledger at all.
        let order = self.load_order_opt(&mut db, &record.out_trade_no).await?;
        let (event, is_final) = s.event;
        let mut data = json!({"refund": record, "order": order, "final": is_final});
        if let Some(u) = unmatched {
            data["unmatched"] = json!(u);
        }
        self.insert_event(&mut db, event, data).await?;
        db.commit().await?;
        Ok(Written::Changed((record, order)))
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
