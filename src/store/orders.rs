//! Orders: recording before WeChat is called, storing the prepay, applying pay notices once
//! (PAID, AMOUNT_MISMATCH, USERPAYING) and closing. Reads return the order with its refunds.

use serde_json::json;
use sqlx::AnyConnection;

use super::rows::{prepay, req_text};
use super::{Ledger, StoreError};
use crate::pay::rules::{StoredOrder, check_payment, is_paid_state, number_reused};
use crate::pay::service::{
    Notice, NoticeOutcome, OrderAdmission, OrderDraft, OrderState, OrderView, Prepay, ServiceError,
    ServiceErrorKind,
};
use crate::pay::types::mask;
use crate::wechatpay::model::Transaction;

/// What a transaction asks of a stored order.
enum PayStep {
    UserPaying,
    Pay,
    Mismatch(String),
    Nothing,
}

impl PayStep {
    fn decide(order: &OrderView, tx: &Transaction) -> Self {
        if tx.trade_state == "USERPAYING" {
            Self::UserPaying
        } else if !is_paid_state(&tx.trade_state) {
            Self::Nothing
        } else {
            match check_payment(stored(order), tx) {
                Ok(()) => Self::Pay,
                Err(why) => Self::Mismatch(why),
            }
        }
    }
}

impl Ledger {
    pub(super) async fn insert_order(&self, d: &OrderDraft) -> Result<OrderAdmission, StoreError> {
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
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            tracing::info!(out_trade_no = %d.out_trade_no, owner = %d.owner.as_ref().map_or("-".into(), |o| o.masked()), "order recorded");
            return Ok(OrderAdmission::New);
        }
        let row = sqlx::query(&self.sql(
            "SELECT fingerprint, request_body, state, prepay_id, code_url, h5_url, \
             prepay_created_at FROM pay_orders WHERE out_trade_no = ?",
        ))
        .bind(d.out_trade_no.to_string())
        .fetch_one(&self.pool)
        .await?;
        if req_text(&row, "fingerprint")? != d.fingerprint {
            return Err(number_reused(
                "OUT_TRADE_NO_USED",
                "out_trade_no",
                d.out_trade_no.as_str(),
                "order",
            )
            .into());
        }
        let state = req_text(&row, "state")?;
        Ok(OrderAdmission::Existing {
            request_body: req_text(&row, "request_body")?,
            prepay: prepay(&row)?,
            state: OrderState::parse(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown order state {state}")))?,
        })
    }

    pub(super) async fn store_prepay(&self, no: &str, p: &Prepay) -> Result<(), StoreError> {
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
        .execute(&self.pool)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(not_found("out_trade_no").into());
        }
        Ok(())
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

    pub(super) async fn apply_payment(
        &self,
        n: &Notice<Transaction>,
    ) -> Result<NoticeOutcome, StoreError> {
        let tx = &n.object;
        // appid, mchid, amount and currency never change after recording, so the match can be
        // decided before the write transaction; the state guard below decides "once".
        let Some(order) = self.load_order_plain(&tx.out_trade_no).await? else {
            return Ok(NoticeOutcome::Unknown);
        };
        let step = PayStep::decide(&order, tx);
        let mut db = self.begin().await?;
        if !self
            .first_sighting(&mut db, n.notification_id.as_deref(), &n.event_type)
            .await?
        {
            return Ok(NoticeOutcome::Duplicate);
        }
        let changed = match &step {
            PayStep::Nothing => false,
            PayStep::UserPaying => self.mark_userpaying(&mut db, &order.out_trade_no).await?,
            PayStep::Pay => self.settle(&mut db, tx, OrderState::Paid, None).await?,
            PayStep::Mismatch(why) => {
                let held = OrderState::AmountMismatch;
                self.settle(&mut db, tx, held, Some(why)).await?
            }
        };
        let outcome = if changed {
            self.payment_event(&mut db, step, tx).await?
        } else {
            NoticeOutcome::Duplicate
        };
        db.commit().await?;
        if let NoticeOutcome::Mismatch(why) = &outcome {
            tracing::error!(
                out_trade_no = %order.out_trade_no,
                owner = %order.owner.as_deref().map_or("-".into(), mask),
                reason = %why,
                "ALERT: payment does not match the stored order; held as AMOUNT_MISMATCH"
            );
        } else if changed {
            tracing::info!(out_trade_no = %order.out_trade_no, trade_state = %tx.trade_state, "payment applied");
        }
        Ok(outcome)
    }

    /// NOTPAY → USERPAYING; `true` if it changed.
    async fn mark_userpaying(&self, db: &mut AnyConnection, no: &str) -> Result<bool, StoreError> {
        let n = sqlx::query(&self.sql(
            "UPDATE pay_orders SET state = 'USERPAYING', updated_at = ? \
             WHERE out_trade_no = ? AND state = 'NOTPAY'",
        ))
        .bind(self.now())
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
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let n = sqlx::query(&self.sql(
            "UPDATE pay_orders SET state = ?, mismatch = ?, transaction_id = ?, paid_at = ?, \
             updated_at = ? WHERE out_trade_no = ? AND state IN ('NOTPAY', 'USERPAYING')",
        ))
        .bind(state.as_str())
        .bind(mismatch.map(str::to_string))
        .bind(tx.transaction_id.clone())
        .bind(paid_at(tx, now))
        .bind(now)
        .bind(tx.out_trade_no.clone())
        .execute(&mut *db)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// The event for an applied payment step, and the step's outcome.
    async fn payment_event(
        &self,
        db: &mut AnyConnection,
        step: PayStep,
        tx: &Transaction,
    ) -> Result<NoticeOutcome, StoreError> {
        let view = self.load_order(db, &tx.out_trade_no).await?;
        Ok(match step {
            PayStep::Pay => {
                self.insert_event(db, "order.paid", json!(view)).await?;
                NoticeOutcome::Applied
            }
            PayStep::Mismatch(why) => {
                let data = json!({"order": view, "reason": why, "transaction": tx});
                self.insert_event(db, "order.amount_mismatch", data).await?;
                NoticeOutcome::Mismatch(why)
            }
            PayStep::UserPaying | PayStep::Nothing => NoticeOutcome::Applied,
        })
    }

    /// Closes a pending order; `true` if it changed.
    pub(super) async fn close_pending(&self, no: &str) -> Result<bool, StoreError> {
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
        if changed == 1 {
            let view = self.load_order(&mut db, no).await?;
            self.insert_event(&mut db, "order.closed", json!(view))
                .await?;
        }
        db.commit().await?;
        Ok(changed == 1)
    }
}

fn stored(o: &OrderView) -> StoredOrder<'_> {
    StoredOrder {
        out_trade_no: &o.out_trade_no,
        appid: &o.appid,
        mchid: &o.mchid,
        amount: o.amount,
        currency: &o.currency,
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

pub(super) fn not_found(what: &str) -> ServiceError {
    ServiceError::new(
        ServiceErrorKind::NotFound,
        "NOT_FOUND",
        format!("{what} is not recorded"),
    )
}
