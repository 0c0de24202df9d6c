//! Merchant transfers: recording before WeChat is called, then following the bill to a final
//! state. States: RECORDED → (ACCEPTED, PROCESSING, WAIT_USER_CONFIRM, TRANSFERING,
//! CANCELING …) → SUCCESS | FAIL | CANCELLED; RECORDED → REJECTED when WeChat refused the call.

use serde::Serialize;
use serde_json::json;

use super::orders::not_found;
use super::rows::{int, req_text, text};
use super::{Ledger, StoreError};
use crate::pay::rules::number_reused;
use crate::pay::service::{Notice, NoticeOutcome, TransferAdmission, TransferDraft};
use crate::pay::types::mask;
use crate::wechatpay::model::TransferBill;

/// The ledger's view of one transfer (the payload of `transfer.*` events).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferView {
    /// Our bill number.
    pub out_bill_no: String,
    /// AppID.
    pub appid: String,
    /// Payee openid.
    pub openid: String,
    /// Amount (fen).
    pub amount: i64,
    /// RECORDED, REJECTED, or WeChat's bill state.
    pub state: String,
    /// WeChat's bill number once accepted.
    pub transfer_bill_no: Option<String>,
    /// Why it failed, when it did.
    pub fail_reason: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// States after which nothing changes.
const FINAL: &str = "('SUCCESS', 'FAIL', 'CANCELLED')";

impl Ledger {
    pub(super) async fn insert_transfer(
        &self,
        d: &TransferDraft,
    ) -> Result<TransferAdmission, StoreError> {
        let now = self.now();
        let inserted = sqlx::query(&self.insert_ignore(
            "pay_transfers (out_bill_no, appid, openid, amount, fingerprint, request_body, \
             state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'RECORDED', ?, ?)",
        ))
        .bind(d.out_bill_no.to_string())
        .bind(d.appid.clone())
        .bind(d.openid.to_string())
        .bind(d.amount.fen())
        .bind(d.fingerprint.clone())
        .bind(d.request_body.clone())
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            tracing::info!(out_bill_no = %d.out_bill_no, payee = %d.openid.masked(), "transfer recorded");
            return Ok(TransferAdmission::New);
        }
        let row = sqlx::query(
            &self.sql("SELECT fingerprint, request_body FROM pay_transfers WHERE out_bill_no = ?"),
        )
        .bind(d.out_bill_no.to_string())
        .fetch_one(&self.pool)
        .await?;
        if req_text(&row, "fingerprint")? != d.fingerprint {
            return Err(number_reused(
                "OUT_BILL_NO_USED",
                "out_bill_no",
                d.out_bill_no.as_str(),
                "transfer",
            )
            .into());
        }
        Ok(TransferAdmission::Existing {
            request_body: req_text(&row, "request_body")?,
        })
    }

    pub(super) async fn accept_transfer(&self, bill: &TransferBill) -> Result<(), StoreError> {
        let Some(t) = self.find_transfer(&bill.out_bill_no).await? else {
            return Err(not_found("out_bill_no").into());
        };
        if bill.is_final() {
            let notice = Notice {
                notification_id: None,
                event_type: "ACCEPTED".into(),
                object: bill.clone(),
            };
            self.apply_transfer(&notice).await?;
            return Ok(());
        }
        let state = if bill.state.is_empty() {
            "ACCEPTED"
        } else {
            &bill.state
        };
        sqlx::query(&self.sql(&format!(
            "UPDATE pay_transfers SET transfer_bill_no = ?, state = ?, updated_at = ? \
             WHERE out_bill_no = ? AND state NOT IN {FINAL}"
        )))
        .bind(Some(bill.transfer_bill_no.clone()).filter(|s| !s.is_empty()))
        .bind(state.to_string())
        .bind(self.now())
        .bind(t.out_bill_no)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn reject_transfer(&self, no: &str, reason: &str) -> Result<(), StoreError> {
        let mut db = self.begin().await?;
        let changed = sqlx::query(&self.sql(
            "UPDATE pay_transfers SET state = 'REJECTED', fail_reason = ?, updated_at = ? \
             WHERE out_bill_no = ? AND state = 'RECORDED'",
        ))
        .bind(reason.chars().take(200).collect::<String>())
        .bind(self.now())
        .bind(no.to_string())
        .execute(&mut *db)
        .await?
        .rows_affected();
        // Payout allowances: a refused claim gives its amount back (once, see allowance_claims.rs).
        if changed == 1 {
            self.restore_claim(&mut db, no).await?;
        }
        db.commit().await?;
        Ok(())
    }

    pub(super) async fn apply_transfer(
        &self,
        n: &Notice<TransferBill>,
    ) -> Result<NoticeOutcome, StoreError> {
        let bill = &n.object;
        let Some(stored) = self.find_transfer(&bill.out_bill_no).await? else {
            return Ok(NoticeOutcome::Unknown);
        };
        if bill.transfer_amount.is_some_and(|a| a != stored.amount) {
            let why = format!(
                "transfer {} says amount {:?}, the ledger has {}",
                stored.out_bill_no, bill.transfer_amount, stored.amount
            );
            tracing::error!(reason = %why, payee = %mask(&stored.openid), "ALERT: transfer result does not match the ledger");
            return Ok(NoticeOutcome::Mismatch(why));
        }
        if bill.state.is_empty() {
            return Ok(NoticeOutcome::Duplicate);
        }
        let mut db = self.begin().await?;
        if !self
            .first_sighting(&mut db, n.notification_id.as_deref(), &n.event_type)
            .await?
        {
            return Ok(NoticeOutcome::Duplicate);
        }
        let changed = sqlx::query(&self.sql(&format!(
            "UPDATE pay_transfers SET state = ?, transfer_bill_no = COALESCE(?, transfer_bill_no), \
             fail_reason = COALESCE(?, fail_reason), updated_at = ? \
             WHERE out_bill_no = ? AND state NOT IN {FINAL} AND state <> ?"
        )))
        .bind(bill.state.clone())
        .bind(Some(bill.transfer_bill_no.clone()).filter(|s| !s.is_empty()))
        .bind(bill.fail_reason.clone())
        .bind(self.now())
        .bind(stored.out_bill_no.clone())
        .bind(bill.state.clone())
        .execute(&mut *db)
        .await?
        .rows_affected();
        if changed == 1 && bill.is_final() {
            let view = self.load_transfer(&mut db, &stored.out_bill_no).await?;
            let event = if bill.state == "SUCCESS" {
                "transfer.succeeded"
            } else {
                "transfer.failed"
            };
            self.insert_event(&mut db, event, json!(view)).await?;
            // Payout allowances: FAIL / CANCELLED gives the claimed amount back, once.
            if bill.state != "SUCCESS" {
                self.restore_claim(&mut db, &stored.out_bill_no).await?;
            }
        }
        db.commit().await?;
        Ok(if changed == 1 {
            NoticeOutcome::Applied
        } else {
            NoticeOutcome::Duplicate
        })
    }

    /// The ledger's view of a transfer, `None` if unknown.
    pub async fn find_transfer(&self, no: &str) -> Result<Option<TransferView>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        self.load_transfer_opt(&mut conn, no).await
    }

    async fn load_transfer(
        &self,
        db: &mut sqlx::AnyConnection,
        no: &str,
    ) -> Result<TransferView, StoreError> {
        self.load_transfer_opt(db, no)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("transfer {no} vanished")))
    }

    async fn load_transfer_opt(
        &self,
        db: &mut sqlx::AnyConnection,
        no: &str,
    ) -> Result<Option<TransferView>, StoreError> {
        let row = sqlx::query(&self.sql(
            "SELECT out_bill_no, appid, openid, amount, state, transfer_bill_no, fail_reason, \
             created_at FROM pay_transfers WHERE out_bill_no = ?",
        ))
        .bind(no.to_string())
        .fetch_optional(&mut *db)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(TransferView {
            out_bill_no: req_text(&row, "out_bill_no")?,
            appid: req_text(&row, "appid")?,
            openid: req_text(&row, "openid")?,
            amount: int(&row, "amount")?,
            state: req_text(&row, "state")?,
            transfer_bill_no: text(&row, "transfer_bill_no")?,
            fail_reason: text(&row, "fail_reason")?,
            created_at: int(&row, "created_at")?,
        }))
    }
}
