//! The claims made from payout allowances (`pay_allowance_claims`, one row per transfer bill).
//! The spend is one guarded UPDATE (`… WHERE state = 'ACTIVE' AND not expired AND
//! amount - claimed >= ?`) in the transaction that records the transfer bill, so concurrent
//! claims can never take more than was granted. The give-back runs inside the transaction that
//! records the bill's unsuccessful end and is guarded by the claim row's `restored_at`, so it
//! happens once however often the end is seen.

use serde_json::Value;
use sqlx::AnyConnection;

use super::rows::{int, opt_int, req_text};
use super::{Ledger, StoreError};
use crate::pay::allowance::{Allowance, ClaimAdmission, ClaimLink};
use crate::pay::service::{TransferAdmission, TransferDraft};

/// The payload of `payout.claimed` / `payout.restored`: the allowance and the bill.
fn claim_event(a: &Allowance, now: i64, out_bill_no: &str, amount: i64) -> Value {
    let mut v = a.to_json(now);
    v["out_bill_no"] = out_bill_no.into();
    v["transfer_amount"] = amount.into();
    v
}

impl Ledger {
    pub(super) async fn load_claim(
        &self,
        db: &mut AnyConnection,
        out_bill_no: &str,
    ) -> Result<Option<ClaimLink>, StoreError> {
        let row = sqlx::query(&self.sql(
            "SELECT out_bill_no, allowance_id, amount, restored_at FROM pay_allowance_claims \
             WHERE out_bill_no = ?",
        ))
        .bind(out_bill_no.to_string())
        .fetch_optional(&mut *db)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ClaimLink {
            out_bill_no: req_text(&row, "out_bill_no")?,
            allowance_id: req_text(&row, "allowance_id")?,
            amount: int(&row, "amount")?,
            restored: opt_int(&row, "restored_at")?.is_some(),
        }))
    }

    pub(super) async fn find_claim(
        &self,
        out_bill_no: &str,
    ) -> Result<Option<ClaimLink>, StoreError> {
        let mut conn = self.conn().await?;
        self.load_claim(&mut conn, out_bill_no).await
    }

    /// Records the bill, links it and spends its amount, all or nothing.
    pub(super) async fn spend(
        &self,
        allowance_id: &str,
        d: &TransferDraft,
    ) -> Result<ClaimAdmission, StoreError> {
        let now = self.now();
        let no = d.out_bill_no.to_string();
        let mut db = self.begin().await?;
        // The same row Ledger::insert_transfer writes, here inside the claim's transaction.
        let inserted = sqlx::query(&self.insert_ignore(
            "pay_transfers (out_bill_no, appid, openid, amount, fingerprint, request_body, \
             state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'RECORDED', ?, ?)",
        ))
        .bind(no.clone())
        .bind(d.appid.clone())
        .bind(d.openid.to_string())
        .bind(d.amount.fen())
        .bind(d.fingerprint.clone())
        .bind(d.request_body.clone())
        .bind(now)
        .bind(now)
        .execute(&mut *db)
        .await?
        .rows_affected();
        if inserted == 0 {
            return self.repeat(db, allowance_id, d).await;
        }
        sqlx::query(&self.sql(
            "INSERT INTO pay_allowance_claims (out_bill_no, allowance_id, amount, created_at) \
             VALUES (?, ?, ?, ?)",
        ))
        .bind(no.clone())
        .bind(allowance_id.to_string())
        .bind(d.amount.fen())
        .bind(now)
        .execute(&mut *db)
        .await?;
        let spent = sqlx::query(&self.sql(
            "UPDATE pay_allowances SET claimed = claimed + ?, updated_at = ? \
             WHERE id = ? AND openid = ? AND state = 'ACTIVE' \
             AND (expires_at IS NULL OR expires_at > ?) AND amount - claimed >= ?",
        ))
        .bind(d.amount.fen())
        .bind(now)
        .bind(allowance_id.to_string())
        .bind(d.openid.to_string())
        .bind(now)
        .bind(d.amount.fen())
        .execute(&mut *db)
        .await?
        .rows_affected();
        if spent == 0 {
            db.rollback().await?;
            let current = self.find_allowance(allowance_id).await?;
            let mine = current.filter(|a| a.openid == d.openid.as_str());
            return Ok(ClaimAdmission::NotClaimable(mine));
        }
        let a = self.must_load(&mut db, allowance_id).await?;
        let event = claim_event(&a, now, &no, d.amount.fen());
        self.insert_event(&mut db, "payout.claimed", event).await?;
        db.commit().await?;
        tracing::info!(allowance_id, out_bill_no = %no, payee = %d.openid.masked(), "allowance spent");
        Ok(ClaimAdmission::Admitted(TransferAdmission::New))
    }

    /// The bill number exists: what is stored under it, for `pay` to decide.
    async fn repeat(
        &self,
        mut db: super::Tx,
        _allowance_id: &str,
        d: &TransferDraft,
    ) -> Result<ClaimAdmission, StoreError> {
        let no = d.out_bill_no.as_str();
        let row = sqlx::query(
            &self.sql("SELECT fingerprint, request_body FROM pay_transfers WHERE out_bill_no = ?"),
        )
        .bind(no.to_string())
        .fetch_one(&mut *db)
        .await?;
        let link = self.load_claim(&mut db, no).await?;
        db.commit().await?;
        Ok(ClaimAdmission::Recorded {
            fingerprint: req_text(&row, "fingerprint")?,
            request_body: req_text(&row, "request_body")?,
            link,
        })
    }

    /// Gives a failed bill's amount back to its allowance, once (`payout.restored`). Runs inside
    /// the caller's transaction, the one that records the bill's unsuccessful end; a bill that
    /// was not claimed from an allowance changes nothing.
    pub(super) async fn restore_claim(
        &self,
        db: &mut AnyConnection,
        out_bill_no: &str,
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let marked = sqlx::query(&self.sql(
            "UPDATE pay_allowance_claims SET restored_at = ? \
             WHERE out_bill_no = ? AND restored_at IS NULL",
        ))
        .bind(now)
        .bind(out_bill_no.to_string())
        .execute(&mut *db)
        .await?
        .rows_affected();
        if marked == 0 {
            return Ok(false);
        }
        let link = self
            .load_claim(db, out_bill_no)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("claim {out_bill_no} vanished")))?;
        sqlx::query(
            &self.sql(
                "UPDATE pay_allowances SET claimed = claimed - ?, updated_at = ? WHERE id = ?",
            ),
        )
        .bind(link.amount)
        .bind(now)
        .bind(link.allowance_id.clone())
        .execute(&mut *db)
        .await?;
        let a = self.must_load(db, &link.allowance_id).await?;
        let event = claim_event(&a, now, out_bill_no, link.amount);
        self.insert_event(db, "payout.restored", event).await?;
        tracing::info!(allowance_id = %a.allowance_id, out_bill_no, amount = link.amount, "allowance restored");
        Ok(true)
    }
}
