//! Payout allowances in the ledger (`pay_allowances`): grants, listing by derived state,
//! revocation, and the `AllowanceStore` port over them. The claims made from an allowance and
//! their give-back live in `allowance_claims.rs`.
use async_trait::async_trait;
use sqlx::AnyConnection;

use super::error::to_completion;
use super::rows::{int, opt_int, req_text, text};
use super::{Ledger, StoreError};
use crate::pay::allowance::*;
use crate::pay::service::{ServiceError, TransferDraft};
use crate::pay::types::{OpenId, OutBillNo};

const COLUMNS: &str = "id, grant_no, openid, amount, claimed, state, transfer_scene_id, \
    transfer_remark, report_infos, expires_at, created_at, updated_at";

/// Claimable now: ACTIVE as stored, not expired, money left. Binds `now`.
/// Mirrors [`Allowance::state_at`]; the listing filters below are its four cases.
const CLAIMABLE: &str =
    "state = 'ACTIVE' AND (expires_at IS NULL OR expires_at > ?) AND claimed < amount";

/// The SQL condition selecting one derived state, and whether it binds `now`.
fn state_condition(state: AllowanceState) -> (&'static str, bool) {
    match state {
        AllowanceState::Active => (CLAIMABLE, true),
        AllowanceState::Exhausted => (
            "state = 'ACTIVE' AND (expires_at IS NULL OR expires_at > ?) AND claimed >= amount",
            true,
        ),
        AllowanceState::Expired => (
            "state = 'ACTIVE' AND expires_at IS NOT NULL AND expires_at <= ?",
            true,
        ),
        AllowanceState::Revoked => ("state = 'REVOKED'", false),
    }
}

pub(super) fn allowance(row: &sqlx::any::AnyRow) -> Result<Allowance, StoreError> {
    let reports = req_text(row, "report_infos")?;
    Ok(Allowance {
        allowance_id: req_text(row, "id")?,
        grant_no: text(row, "grant_no")?,
        openid: req_text(row, "openid")?,
        amount: int(row, "amount")?,
        claimed: int(row, "claimed")?,
        revoked: req_text(row, "state")? == "REVOKED",
        transfer_scene_id: req_text(row, "transfer_scene_id")?,
        transfer_remark: req_text(row, "transfer_remark")?,
        transfer_scene_report_infos: serde_json::from_str(&reports)
            .map_err(|e| StoreError::Corrupt(format!("allowance report_infos: {e}")))?,
        expires_at: opt_int(row, "expires_at")?,
        created_at: int(row, "created_at")?,
        updated_at: int(row, "updated_at")?,
    })
}

impl Ledger {
    pub(super) async fn load_allowance(
        &self,
        db: &mut AnyConnection,
        column: &str,
        key: &str,
    ) -> Result<Option<Allowance>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM pay_allowances WHERE {column} = ?");
        let row = sqlx::query(&self.sql(&sql))
            .bind(key.to_string())
            .fetch_optional(&mut *db)
            .await?;
        row.as_ref().map(allowance).transpose()
    }

    pub(super) async fn must_load(
        &self,
        db: &mut AnyConnection,
        id: &str,
    ) -> Result<Allowance, StoreError> {
        self.load_allowance(db, "id", id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("allowance {id} vanished")))
    }

    /// One allowance by id.
    pub async fn find_allowance(&self, id: &str) -> Result<Option<Allowance>, StoreError> {
        let mut conn = self.conn().await?;
        self.load_allowance(&mut conn, "id", id).await
    }

    async fn insert_grant(&self, d: &GrantDraft) -> Result<Granted, StoreError> {
        let now = self.now();
        let mut db = self.begin().await?;
        let inserted = sqlx::query(&self.insert_ignore(
            "pay_allowances (id, grant_no, openid, amount, claimed, state, transfer_scene_id, \
             transfer_remark, report_infos, expires_at, fingerprint, created_at, updated_at) \
             VALUES (?, ?, ?, ?, 0, 'ACTIVE', ?, ?, ?, ?, ?, ?, ?)",
        ))
        .bind(d.allowance_id.clone())
        .bind(d.grant_no.clone())
        .bind(d.openid.to_string())
        .bind(d.amount.fen())
        .bind(d.transfer_scene_id.clone())
        .bind(d.transfer_remark.clone())
        .bind(d.transfer_scene_report_infos.to_string())
        .bind(d.expires_at)
        .bind(d.fingerprint.clone())
        .bind(now)
        .bind(now)
        .execute(&mut *db)
        .await?
        .rows_affected();
        if inserted == 1 {
            let a = self.must_load(&mut db, &d.allowance_id).await?;
            self.insert_event(&mut db, "payout.granted", a.to_json(now))
                .await?;
            db.commit().await?;
            return Ok(Granted::New(a));
        }
        // Only grant_no can collide (the id is fresh): an idempotent repeat, or a reuse.
        let grant_no = d.grant_no.clone().unwrap_or_default();
        let row = sqlx::query(&self.sql(&format!(
            "SELECT fingerprint, {COLUMNS} FROM pay_allowances WHERE grant_no = ?"
        )))
        .bind(grant_no.clone())
        .fetch_one(&mut *db)
        .await?;
        db.commit().await?;
        Ok(Granted::Existing {
            fingerprint: req_text(&row, "fingerprint")?,
            allowance: allowance(&row)?,
        })
    }

    async fn list_allowances(&self, f: &AllowanceFilter) -> Result<Vec<Allowance>, StoreError> {
        let (condition, binds_now) = match f.state {
            Some(s) => state_condition(s),
            None => ("1 = 1", false),
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM pay_allowances WHERE (? = '' OR openid = ?) AND {condition} \
             ORDER BY seq DESC LIMIT ?"
        );
        let openid = f.openid.clone().unwrap_or_default();
        let sql = self.sql(&sql);
        let mut q = sqlx::query(&sql).bind(openid.clone()).bind(openid);
        if binds_now {
            q = q.bind(f.now);
        }
        let limit = if f.limit > 0 { f.limit } else { 100 };
        let rows = q.bind(limit).fetch_all(&mut *self.conn().await?).await?;
        rows.iter().map(allowance).collect()
    }

    async fn first_claimable(
        &self,
        openid: &OpenId,
        now: i64,
    ) -> Result<Option<Allowance>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM pay_allowances WHERE openid = ? AND {CLAIMABLE} \
             ORDER BY seq LIMIT 1"
        );
        let row = sqlx::query(&self.sql(&sql))
            .bind(openid.to_string())
            .bind(now)
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        row.as_ref().map(allowance).transpose()
    }

    async fn revoke_allowance(&self, id: &str) -> Result<Option<Allowance>, StoreError> {
        let now = self.now();
        let mut db = self.begin().await?;
        let changed = sqlx::query(&self.sql(
            "UPDATE pay_allowances SET state = 'REVOKED', updated_at = ? \
             WHERE id = ? AND state = 'ACTIVE'",
        ))
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *db)
        .await?
        .rows_affected();
        let a = self.load_allowance(&mut db, "id", id).await?;
        if let (1, Some(a)) = (changed, &a) {
            self.insert_event(&mut db, "payout.revoked", a.to_json(now))
                .await?;
        }
        db.commit().await?;
        Ok(a)
    }
}

/// Every call runs to completion, however its caller ends ([`to_completion!`]).
#[async_trait]
impl AllowanceStore for Ledger {
    async fn grant(&self, d: &GrantDraft) -> Result<Granted, ServiceError> {
        let d = d.clone();
        to_completion!(self, |l| Ledger::insert_grant(&l, &d))
    }

    async fn allowance(&self, id: &str) -> Result<Option<Allowance>, ServiceError> {
        let id = id.to_string();
        to_completion!(self, |l| Ledger::find_allowance(&l, &id))
    }

    async fn allowances(&self, f: &AllowanceFilter) -> Result<Vec<Allowance>, ServiceError> {
        let f = f.clone();
        to_completion!(self, |l| Ledger::list_allowances(&l, &f))
    }

    async fn claimable(
        &self,
        openid: &OpenId,
        now: i64,
    ) -> Result<Option<Allowance>, ServiceError> {
        let openid = openid.clone();
        to_completion!(self, |l| Ledger::first_claimable(&l, &openid, now))
    }

    async fn claim_of(&self, no: &OutBillNo) -> Result<Option<ClaimLink>, ServiceError> {
        let no = no.as_str().to_string();
        to_completion!(self, |l| Ledger::find_claim(&l, &no))
    }

    async fn claim(
        &self,
        allowance_id: &str,
        d: &TransferDraft,
    ) -> Result<ClaimAdmission, ServiceError> {
        let (id, d) = (allowance_id.to_string(), d.clone());
        to_completion!(self, |l| Ledger::spend(&l, &id, &d))
    }

    async fn revoke(&self, id: &str) -> Result<Option<Allowance>, ServiceError> {
        let id = id.to_string();
        to_completion!(self, |l| Ledger::revoke_allowance(&l, &id))
    }
}
