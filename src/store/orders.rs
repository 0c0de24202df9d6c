//! Orders: recording before WeChat is called, storing the prepay, persisting the payment step
//! `pay` decided (PAID, AMOUNT_MISMATCH, USERPAYING) at most once, and closing. Every write is
//! status-guarded and carries its outbox event in the same transaction.

use serde_json::json;
use sqlx::AnyConnection;

use super::rows::{Cols, prepay, req_text};
use super::{Ledger, StoreError};
use crate::pay::port::{Inserted, PayStep, Sighting, StoredOrder, Written};
use crate::pay::service::{OrderDraft, OrderState, OrderView, Prepay};
use crate::wechatpay::model::Transaction;

/// The order columns an insert writes, after `INSERT … INTO` (both drivers).
pub(super) const INSERT_ORDER: &str = "pay_orders (out_trade_no, owner, appid, mchid, \
    trade_type, amount, currency, description, fingerprint, request_body, state, created_at, \
    updated_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'NOTPAY', ?, ?, ?)";

/// An existing order, for an insert that found its number taken.
pub(super) const EXISTING_ORDER: &str = "SELECT fingerprint, request_body, state, prepay_id, \
    code_url, h5_url, prepay_created_at FROM pay_orders WHERE out_trade_no = ?";

/// Stores WeChat's prepay on an order.
pub(super) const STORE_PREPAY: &str = "UPDATE pay_orders SET prepay_id = ?, code_url = ?, \
    h5_url = ?, prepay_created_at = ?, updated_at = ? WHERE out_trade_no = ?";

/// A notification id, after `INSERT … INTO`.
pub(super) const INSERT_SIGHTING: &str =
    "pay_notifications (notification_id, event_type, received_at) VALUES (?, ?, ?)";

/// NOTPAY → USERPAYING.
pub(super) const MARK_USERPAYING: &str = "UPDATE pay_orders SET state = 'USERPAYING', \
    updated_at = ? WHERE out_trade_no = ? AND state = 'NOTPAY'";

/// Pending → PAID or AMOUNT_MISMATCH.
pub(super) const SETTLE: &str = "UPDATE pay_orders SET state = ?, mismatch = ?, \
    transaction_id = ?, paid_at = ?, updated_at = ? \
    WHERE out_trade_no = ? AND state IN ('NOTPAY', 'USERPAYING')";

/// What a pay step writes to a pending order.
pub(super) enum Change<'a> {
    /// Nothing.
    None,
    /// NOTPAY → USERPAYING ([`MARK_USERPAYING`]).
    UserPaying,
    /// Pending → `state` ([`SETTLE`]).
    Settle {
        state: OrderState,
        mismatch: Option<&'a str>,
        paid_at: i64,
    },
}

/// The write `step` makes on `order` at `now`, and the order as it reads once written.
pub(super) fn payment_change<'a>(
    order: &OrderView,
    tx: &Transaction,
    step: &'a PayStep,
    now: i64,
) -> (Change<'a>, OrderView) {
    let mut view = order.clone();
    let change = match step {
        PayStep::Nothing => Change::None,
        PayStep::UserPaying => {
            view.state = OrderState::Userpaying;
            Change::UserPaying
        }
        PayStep::Pay | PayStep::Mismatch(_) => {
            let (state, mismatch) = match step {
                PayStep::Mismatch(why) => (OrderState::AmountMismatch, Some(why.as_str())),
                _ => (OrderState::Paid, None),
            };
            let paid_at = paid_at(tx, now);
            view.state = state;
            view.transaction_id = tx.transaction_id.clone();
            view.paid_at = Some(paid_at);
            Change::Settle {
                state,
                mismatch,
                paid_at,
            }
        }
    };
    (change, view)
}

/// The outbox event of a pay step that changed the order (`view`, as written), if it has one.
pub(super) fn payment_event(
    step: &PayStep,
    view: &OrderView,
    tx: &Transaction,
) -> Option<(&'static str, serde_json::Value)> {
    match step {
        PayStep::Pay => Some(("order.paid", json!(view))),
        PayStep::Mismatch(why) => Some((
            "order.amount_mismatch",
            json!({"order": view, "reason": why, "transaction": tx}),
        )),
        PayStep::UserPaying | PayStep::Nothing => None,
    }
}

impl Ledger {
    pub(super) async fn insert_order(
        &self,
        d: &OrderDraft,
    ) -> Result<Inserted<StoredOrder>, StoreError> {
        if let Some(direct) = self.direct_call() {
            let d = d.clone();
            return direct.run(move |c, now| c.insert_order(&d, now)).await;
        }
        let now = self.now();
        let inserted = sqlx::query(&self.insert_ignore(INSERT_ORDER))
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
        let row = sqlx::query(&self.sql(EXISTING_ORDER))
            .bind(d.out_trade_no.to_string())
            .fetch_one(&mut *self.conn().await?)
            .await?;
        Ok(Inserted::Existing(stored_order(&row)?))
    }

    /// `false` if the order is unknown.
    pub(super) async fn store_prepay(&self, no: &str, p: &Prepay) -> Result<bool, StoreError> {
        if let Some(direct) = self.direct_call() {
            let (no, p) = (no.to_string(), p.clone());
            return direct.run(move |c, now| c.store_prepay(&no, &p, now)).await;
        }
        let n = sqlx::query(&self.sql(STORE_PREPAY))
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
        let n = sqlx::query(&self.insert_ignore(INSERT_SIGHTING))
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
        if let Some(direct) = self.direct_call() {
            let seen = super::service::Seen::from(seen);
            let (order, tx, step) = (order.clone(), tx.clone(), step.clone());
            return direct
                .run(move |c, now| c.apply_payment(seen.get(), &order, &tx, &step, now))
                .await;
        }
        let mut db = self.begin().await?;
        if !self
            .first_sighting(&mut db, seen.notification_id, seen.event_type)
            .await?
        {
            return Ok(Written::Replay);
        }
        let now = self.now();
        let (change, view) = payment_change(order, tx, step, now);
        let changed = match change {
            Change::None => false,
            Change::UserPaying => self.mark_userpaying(&mut db, &tx.out_trade_no, now).await?,
            Change::Settle {
                state,
                mismatch,
                paid_at,
            } => {
                self.settle(&mut db, tx, state, mismatch, paid_at, now)
                    .await?
            }
        };
        if !changed {
            db.commit().await?;
            return Ok(Written::Unchanged);
        }
        if let Some((event_type, data)) = payment_event(step, &view, tx) {
            self.insert_event(&mut db, event_type, data).await?;
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
        let n = sqlx::query(&self.sql(MARK_USERPAYING))
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
        let n = sqlx::query(&self.sql(SETTLE))
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

/// An existing order's stored request, prepay and state ([`EXISTING_ORDER`]).
pub(super) fn stored_order(row: &impl Cols) -> Result<StoredOrder, StoreError> {
    let state = req_text(row, "state")?;
    Ok(StoredOrder {
        fingerprint: req_text(row, "fingerprint")?,
        request_body: req_text(row, "request_body")?,
        prepay: prepay(row)?,
        state: OrderState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown order state {state}")))?,
    })
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
