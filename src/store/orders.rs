//! Orders: recording before WeChat is called, storing the prepay, persisting the payment step
//! `pay` decided (PAID, AMOUNT_MISMATCH, USERPAYING) at most once, and closing. Every write is
//! status-guarded and carries its outbox event in the same transaction.

use serde_json::json;
use sqlx::AnyConnection;

use super::rows::{prepay, req_text};
use super::{Ledger, StoreError};
use crate::pay::port::{Inserted, PayStep, Sighting, StoredOrder, Written};
use crate::pay::service::{OrderDraft, OrderState, OrderView, Prepay};
use crate::wechatpay::model::Transaction;

impl Ledger {
    pub(super) async fn insert_order(
        &self,
        d: &OrderDraft,
    ) -> Result<Inserted<StoredOrder>, StoreError> {
        let now = self.now();
        let inserted = sqlx::query(&self.insert_ignore(
            "pay_orders (out_trade_no, owner, appid, mchid, trade_type, amount, currency, \
             description, fingerprint, request_body, state, created_at, updated_at, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'NOTPAY', ?, ?, ?)",
        ))
        .bind(d.out_trade_no.to_string())
        .bind(d.owner.as_ref().map(ToString::to_string))
        .bind(d.appid.clone())
        .bind(d.mchid.clone())
        .bind(d.trade_type.as_str())
        .bind(d.amount.fen())
        .bind(d.currency.clone())
        .bind(d.description.clone())
        .bind(d.fingerprint.clone())
        .bind(d.request_body.clone())
        .bind(now)
        .bind(now)
        .bind(d.expires_at)
        .execute(&mut *self.conn().await?)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(Inserted::New);
        }
        let row = sqlx::query(&self.sql(
            "SELECT fingerprint, request_body, state, prepay_id, code_url, h5_url, \
             prepay_created_at FROM pay_orders WHERE out_trade_no = ?",
        ))
        .bind(d.out_trade_no.to_string())
        .fetch_one(&mut *self.conn().await?)
        .await?;
        let state = req_text(&row, "state")?;
        Ok(Inserted::Existing(StoredOrder {
            fingerprint: req_text(&row, "fingerprint")?,
            request_body: req_text(&row, "request_body")?,
            prepay: prepay(&row)?,
            state: OrderState::parse(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown order state {state}")))?,
        }))
    }

    /// `false` if the order is unknown.
    pub(super) async fn store_prepay(&self, no: &str, p: &Prepay) -> Result<bool, StoreError> {
        let n = sqlx::query(&self.sql(
            "UPDATE pay_orders SET prepay_id = ?, code_url = ?, h5_url = ?, \
             prepay_created_at = ?, updated_at = ? WHERE out_trade_no = ?",
        ))
        .bind(p.prepay_id.clone())
        .bind(p.code_url.clone())
        .bind(p.h5_url.clone())
        .bind(p.created_at)
        .bind(self.now())
        .bind(no.to_string())
        .execute(&mut *self.conn().await?)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Records a notification id; `false` if it was seen before.
    pub(super) async fn first_sighting(
        &self,
        conn: &mut AnyConnection,
        id: Option<&str>,
        event_type: &str,
    ) -> Result<bool, StoreError> {
        let Some(id) = id else { return Ok(true) };
        let n = sqlx::query(&self.insert_ignore(
            "pay_notifications (notification_id, event_type, received_at) VALUES (?, ?, ?)",
        ))
        .bind(id.to_string())
        .bind(event_type.to_string())
        .bind(self.now())
        .execute(&mut *conn)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Records the sighting and persists `step` on a still-pending order, with its event, in
    /// one transaction.
    /// `order` is the order as read when `step` was decided: the changed view is built from it
    /// (the guarded update admits only a pending order, whose other columns do not change), not
    /// read again.
    pub(super) async fn apply_payment(
        &self,
        seen: Sighting<'_>,
        order: &OrderView,
        tx: &Transaction,
        step: &PayStep,
    ) -> Result<Written<OrderView>, StoreError> {
        let mut db = self.begin().await?;
        if !self
            .first_sighting(&mut db, seen.notification_id, seen.event_type)
            .await?
        {
            return Ok(Written::Replay);
        }
        let now = self.now();
        let mut view = order.clone();
        let changed = match step {
            PayStep::Nothing => false,
            PayStep::UserPaying => {
                view.state = OrderState::Userpaying;
                self.mark_userpaying(&mut db, &tx.out_trade_no, now).await?
            }
            PayStep::Pay | PayStep::Mismatch(_) => {
                let (state, why) = match step {
                    PayStep::Mismatch(why) => (OrderState::AmountMismatch, Some(why.as_str())),
                    _ => (OrderState::Paid, None),
                };
                let paid_at = paid_at(tx, now);
                view.state = state;
                view.transaction_id = tx.transaction_id.clone();
                view.paid_at = Some(paid_at);
                self.settle(&mut db, tx, state, why, paid_at, now).await?
            }
        };
        if !changed {
            db.commit().await?;
            return Ok(Written::Unchanged);
        }
        match step {
            PayStep::Pay => {
                self.insert_event(&mut db, "order.paid", json!(view))
                    .await?;
            }
            PayStep::Mismatch(why) => {
                let data = json!({"order": view, "reason": why, "transaction": tx});
                self.insert_event(&mut db, "order.amount_mismatch", data)
                    .await?;
            }
            PayStep::UserPaying | PayStep::Nothing => {}
        }
        db.commit().await?;
        Ok(Written::Changed(view))
    }

    /// NOTPAY → USERPAYING; `true` if it changed.
    async fn mark_userpaying(
        &self,
        db: &mut AnyConnection,
        no: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(&self.sql(
            "UPDATE pay_orders SET state = 'USERPAYING', updated_at = ? \
             WHERE out_trade_no = ? AND state = 'NOTPAY'",
        ))
        .bind(now)
        .bind(no.to_string())
        .execute(&mut *db)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Pending → PAID or AMOUNT_MISMATCH, storing the transaction; `true` if it changed.
    async fn settle(
        &self,
        db: &mut AnyConnection,
        tx: &Transaction,
        state: OrderState,
        mismatch: Option<&str>,
        paid_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(&self.sql(
            "UPDATE pay_orders SET state = ?, mismatch = ?, transaction_id = ?, paid_at = ?, \
             updated_at = ? WHERE out_trade_no = ? AND state IN ('NOTPAY', 'USERPAYING')",
        ))
        .bind(state.as_str())
        .bind(mismatch.map(str::to_string))
        .bind(tx.transaction_id.clone())
        .bind(paid_at)
        .bind(now)
        .bind(tx.out_trade_no.clone())
        .execute(&mut *db)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Closes a pending order, with `order.closed`.
    pub(super) async fn close_pending(&self, no: &str) -> Result<Written<OrderView>, StoreError> {
        let mut db = self.begin().await?;
        let changed = sqlx::query(&self.sql(
            "UPDATE pay_orders SET state = 'CLOSED', updated_at = ? \
             WHERE out_trade_no = ? AND state IN ('NOTPAY', 'USERPAYING')",
        ))
        .bind(self.now())
        .bind(no.to_string())
        .execute(&mut *db)
        .await?
        .rows_affected();
        if changed == 0 {
            db.commit().await?;
            return Ok(Written::Unchanged);
        }
        let view = self.load_order(&mut db, no).await?;
        self.insert_event(&mut db, "order.closed", json!(view))
            .await?;
        db.commit().await?;
        Ok(Written::Changed(view))
    }
}

/// WeChat's `success_time` in Unix seconds, else `now`.
fn paid_at(tx: &Transaction, now: i64) -> i64 {
    tx.success_time
        .as_deref()
        .and_then(|s| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
        })
        .map_or(now, |t| t.unix_timestamp())
}
