//! Unmatched money in the ledger (`pay_unmatched`): recording a verified notice that matches
//! nothing, once per WeChat object, with its sighting and its event in one transaction;
//! listing; the admin's resolution, guarded on OPEN (a refund's row in `pay_refunds` is
//! written in the same transaction); and the move a refund's result makes. It decides nothing:
//! what is recorded, with which event, and where a record goes are decided in `pay`.

use serde_json::json;
use sqlx::AnyConnection;

use super::rows::{int, opt_int, req_text, text};
use super::{Ledger, StoreError, random_id};
use crate::pay::port::{Sighting, Written};
use crate::pay::states::{UnmatchedKind, UnmatchedReason, UnmatchedState};
use crate::pay::unmatched::{
    UnmatchedDraft, UnmatchedFilter, UnmatchedRecord, UnmatchedResolution, UnmatchedStep,
};

const COLUMNS: &str = "id, kind, reason, out_no, wechat_no, amount, openid, payload, state, \
    note, out_refund_no, created_at, updated_at, resolved_at";

fn record(row: &sqlx::any::AnyRow) -> Result<UnmatchedRecord, StoreError> {
    let named = |col: &str| req_text(row, col);
    let bad = |col: &str, v: &str| StoreError::Corrupt(format!("unmatched {col} {v}"));
    let (kind, reason, state) = (named("kind")?, named("reason")?, named("state")?);
    let payload = named("payload")?;
    Ok(UnmatchedRecord {
        id: named("id")?,
        kind: UnmatchedKind::parse(&kind).ok_or_else(|| bad("kind", &kind))?,
        reason: UnmatchedReason::parse(&reason).ok_or_else(|| bad("reason", &reason))?,
        out_no: named("out_no")?,
        wechat_no: named("wechat_no")?,
        amount: int(row, "amount")?,
        openid: text(row, "openid")?,
        object: serde_json::from_str(&payload).map_err(|e| bad("payload", &e.to_string()))?,
        state: UnmatchedState::parse(&state).ok_or_else(|| bad("state", &state))?,
        note: text(row, "note")?,
        out_refund_no: text(row, "out_refund_no")?,
        created_at: int(row, "created_at")?,
        updated_at: int(row, "updated_at")?,
        resolved_at: opt_int(row, "resolved_at")?,
    })
}

impl Ledger {
    async fn load_unmatched(
        &self,
        db: &mut AnyConnection,
        column: &str,
        key: &str,
    ) -> Result<Option<UnmatchedRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM pay_unmatched WHERE {column} = ?");
        let row = sqlx::query(&self.sql(&sql))
            .bind(key.to_string())
            .fetch_optional(&mut *db)
            .await?;
        row.as_ref().map(record).transpose()
    }

    async fn must_load_unmatched(
        &self,
        db: &mut AnyConnection,
        id: &str,
    ) -> Result<UnmatchedRecord, StoreError> {
        self.load_unmatched(db, "id", id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("unmatched record {id} vanished")))
    }

    /// Records the sighting and the record with its event, in one transaction; `Unchanged` when
    /// the same WeChat object is recorded already.
    pub(super) async fn insert_unmatched(
        &self,
        seen: Sighting<'_>,
        d: &UnmatchedDraft,
    ) -> Result<Written<UnmatchedRecord>, StoreError> {
        let mut db = self.begin().await?;
        if !self
            .first_sighting(&mut db, seen.notification_id, seen.event_type)
            .await?
        {
            return Ok(Written::Replay);
        }
        let (id, now) = (random_id("um_"), self.now());
        let inserted = sqlx::query(&self.insert_ignore(
            "pay_unmatched (id, kind, reason, out_no, wechat_no, amount, openid, payload, state, \
             created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'OPEN', ?, ?)",
        ))
        .bind(id.clone())
        .bind(d.kind.as_str())
        .bind(d.reason.as_str())
        .bind(d.out_no.clone())
        .bind(d.wechat_no.clone())
        .bind(d.amount)
        .bind(d.openid.clone())
        .bind(d.object.to_string())
        .bind(now)
        .bind(now)
        .execute(&mut *db)
        .await?
        .rows_affected();
        if inserted == 0 {
            db.commit().await?;
            return Ok(Written::Unchanged);
        }
        let rec = self.must_load_unmatched(&mut db, &id).await?;
        let mut data = json!({ "unmatched": rec });
        if let Some(order) = &d.order {
            data["order"] = json!(order);
        }
        self.insert_event(&mut db, d.event, data).await?;
        db.commit().await?;
        Ok(Written::Changed(rec))
    }

    /// Records newest first, by state and kind.
    pub(super) async fn list_unmatched(
        &self,
        f: &UnmatchedFilter,
    ) -> Result<Vec<UnmatchedRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM pay_unmatched WHERE (? = '' OR state = ?) \
             AND (? = '' OR kind = ?) ORDER BY seq DESC LIMIT ?"
        );
        let state = f.state.map_or("", UnmatchedState::as_str);
        let kind = f.kind.map_or("", UnmatchedKind::as_str);
        let limit = if f.limit > 0 { f.limit } else { 100 };
        let rows = sqlx::query(&self.sql(&sql))
            .bind(state)
            .bind(state)
            .bind(kind)
            .bind(kind)
            .bind(limit)
            .fetch_all(&mut *self.conn().await?)
            .await?;
        rows.iter().map(record).collect()
    }

    /// One record by id.
    pub(super) async fn unmatched_by_id(
        &self,
        id: &str,
    ) -> Result<Option<UnmatchedRecord>, StoreError> {
        let mut conn = self.conn().await?;
        self.load_unmatched(&mut conn, "id", id).await
    }

    /// OPEN → the resolution's state, the refund row (for a refund) and `unmatched.resolved`,
    /// in one transaction; `Unchanged` (nothing written) when the record is not OPEN any more
    /// or the refund number is taken.
    pub(super) async fn resolve_unmatched(
        &self,
        id: &str,
        r: &UnmatchedResolution,
    ) -> Result<Written<UnmatchedRecord>, StoreError> {
        let now = self.now();
        let mut db = self.begin().await?;
        let refund_no = r.refund.as_ref().map(|f| f.out_refund_no.clone());
        let changed = sqlx::query(&self.sql(
            "UPDATE pay_unmatched SET state = ?, note = ?, \
             out_refund_no = COALESCE(?, out_refund_no), updated_at = ?, resolved_at = ? \
             WHERE id = ? AND state = 'OPEN'",
        ))
        .bind(r.action.state().as_str())
        .bind(r.note.clone())
        .bind(refund_no)
        .bind(now)
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *db)
        .await;
        // The refund number may belong to another record already (unique): nothing changes.
        let changed = match changed {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => 0,
            other => other?.rows_affected(),
        };
        if changed == 0 {
            db.rollback().await?;
            return Ok(Written::Unchanged);
        }
        if let Some(refund) = &r.refund
            && !self
                .insert_reserved_refund(&mut db, refund, r.note.as_deref())
                .await?
        {
            db.rollback().await?;
            return Ok(Written::Unchanged);
        }
        let rec = self.must_load_unmatched(&mut db, id).await?;
        let data = json!({ "unmatched": rec, "action": r.action.as_str(), "refund": r.refund });
        self.insert_event(&mut db, "unmatched.resolved", data)
            .await?;
        db.commit().await?;
        Ok(Written::Changed(rec))
    }

    /// REFUNDING → `step.to` with `step.event`, inside the caller's transaction (a refund's
    /// result or refusal); the record as now stored, `None` if it was not REFUNDING.
    pub(super) async fn move_unmatched(
        &self,
        db: &mut AnyConnection,
        step: &UnmatchedStep,
    ) -> Result<Option<UnmatchedRecord>, StoreError> {
        let now = self.now();
        let reopened = step.to == UnmatchedState::Open;
        let changed = sqlx::query(&self.sql(
            "UPDATE pay_unmatched SET state = ?, updated_at = ?, resolved_at = ? \
             WHERE id = ? AND state = 'REFUNDING'",
        ))
        .bind(step.to.as_str())
        .bind(now)
        .bind((!reopened).then_some(now))
        .bind(step.id.clone())
        .execute(&mut *db)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(None);
        }
        let rec = self.must_load_unmatched(db, &step.id).await?;
        self.insert_event(db, step.event, json!({ "unmatched": rec }))
            .await?;
        Ok(Some(rec))
    }
}
