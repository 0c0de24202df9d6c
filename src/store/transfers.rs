//! Merchant transfers: recording before WeChat is called, then recording the bill's states as
//! `pay` decided from WeChat's answers. States: see [`crate::pay::states::TransferState`].

use serde_json::json;

use super::rows::{int, req_text, text};
use super::{Ledger, StoreError};
use crate::pay::port::{Inserted, Sighting, StoredTransfer, TransferSettlement, Written};
use crate::pay::service::{TransferDraft, TransferState};

pub use crate::pay::model::TransferView;

/// States after which nothing changes.
const FINAL: &str = "('SUCCESS', 'FAIL', 'CANCELLED')";

impl Ledger {
    pub(super) async fn insert_transfer(
        &self,
        d: &TransferDraft,
    ) -> Result<Inserted<StoredTransfer>, StoreError> {
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
        .execute(&mut *self.conn().await?)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(Inserted::New);
        }
        let row = sqlx::query(
            &self.sql("SELECT fingerprint, request_body FROM pay_transfers WHERE out_bill_no = ?"),
        )
        .bind(d.out_bill_no.to_string())
        .fetch_one(&mut *self.conn().await?)
        .await?;
        Ok(Inserted::Existing(StoredTransfer {
            fingerprint: req_text(&row, "fingerprint")?,
            request_body: req_text(&row, "request_body")?,
        }))
    }

    /// Stores WeChat's bill number and a non-final state; `false` if unknown.
    pub(super) async fn accept_transfer(
        &self,
        no: &str,
        transfer_bill_no: Option<&str>,
        state: TransferState,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(&self.sql(&format!(
            "UPDATE pay_transfers SET transfer_bill_no = ?, state = ?, updated_at = ? \
             WHERE out_bill_no = ? AND state NOT IN {FINAL}"
        )))
        .bind(transfer_bill_no.map(str::to_string))
        .bind(state.as_str())
        .bind(self.now())
        .bind(no.to_string())
        .execute(&mut *self.conn().await?)
        .await?
        .rows_affected();
        // A final row is known too; only an unknown number is `false`.
        Ok(n == 1 || self.find_transfer(no).await?.is_some())
    }

    /// RECORDED → REJECTED; a payout claim behind the bill gets its amount back in the same
    /// transaction (once: see `allowance_claims.rs`).
    pub(super) async fn reject_transfer(
        &self,
        no: &str,
        reason: &str,
    ) -> Result<Written<TransferView>, StoreError> {
        let mut db = self.begin().await?;
        let n = sqlx::query(&self.sql(
            "UPDATE pay_transfers SET state = 'REJECTED', fail_reason = ?, updated_at = ? \
             WHERE out_bill_no = ? AND state = 'RECORDED'",
        ))
        .bind(reason.chars().take(200).collect::<String>())
        .bind(self.now())
        .bind(no.to_string())
        .execute(&mut *db)
        .await?
        .rows_affected();
        if n == 0 {
            db.commit().await?;
            return Ok(Written::Unchanged);
        }
        self.restore_claim(&mut db, no).await?;
        let view = self.load_transfer(&mut db, no).await?;
        db.commit().await?;
        Ok(Written::Changed(view))
    }

    /// Records the sighting and moves a transfer that is not final to `s.state`, with the
    /// event `s` names, in one transaction.
    pub(super) async fn apply_transfer(
        &self,
        seen: Sighting<'_>,
        no: &str,
        s: &TransferSettlement,
    ) -> Result<Written<TransferView>, StoreError> {
        let mut db = self.begin().await?;
        if !self
            .first_sighting(&mut db, seen.notification_id, seen.event_type)
            .await?
        {
            return Ok(Written::Replay);
        }
        let changed = sqlx::query(&self.sql(&format!(
            "UPDATE pay_transfers SET state = ?, transfer_bill_no = COALESCE(?, transfer_bill_no), \
             fail_reason = COALESCE(?, fail_reason), updated_at = ? \
             WHERE out_bill_no = ? AND state NOT IN {FINAL} AND state <> ?"
        )))
        .bind(s.state.as_str())
        .bind(s.transfer_bill_no.clone())
        .bind(s.fail_reason.clone())
        .bind(self.now())
        .bind(no.to_string())
        .bind(s.state.as_str())
        .execute(&mut *db)
        .await?
        .rows_affected();
        if changed == 0 {
            db.commit().await?;
            return Ok(Written::Unchanged);
        }
        let view = self.load_transfer(&mut db, no).await?;
        if let Some(event) = s.event {
            self.insert_event(&mut db, event, json!(view)).await?;
        }
        if s.give_back {
            // A payout claim behind the bill gets its amount back, once.
            self.restore_claim(&mut db, no).await?;
        }
        db.commit().await?;
        Ok(Written::Changed(view))
    }

    /// The ledger's view of a transfer, `None` if unknown.
    pub async fn find_transfer(&self, no: &str) -> Result<Option<TransferView>, StoreError> {
        let mut conn = self.conn().await?;
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
            state: {
                let state = req_text(&row, "state")?;
                TransferState::parse(&state)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown transfer state {state}")))?
            },
            transfer_bill_no: text(&row, "transfer_bill_no")?,
            fail_reason: text(&row, "fail_reason")?,
            created_at: int(&row, "created_at")?,
        }))
    }
}
