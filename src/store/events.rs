//! The events outbox: every state change writes one row here in the same transaction, and the
//! dispatcher delivers them. This file owns the event rows: writing, listing, and the
//! delivery bookkeeping.

use serde::Serialize;
use sqlx::AnyConnection;

use super::rows::{int, opt_int, req_text, text};
use super::{Ledger, StoreError, random_id};

/// Which events [`Ledger::events`] returns.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only this type, e.g. `order.paid`.
    pub event_type: Option<String>,
    /// Only events not yet delivered.
    pub undelivered_only: bool,
    /// At most this many (0 = 100).
    pub limit: i64,
}

/// One outbox event and its delivery state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventView {
    /// Stable unique id (`evt_…`), also sent as `X-PayCommon-Event-Id`.
    pub id: String,
    /// e.g. `order.paid`.
    pub event_type: String,
    /// Unix seconds.
    pub created_at: i64,
    /// The payload sent as `data`.
    pub data: serde_json::Value,
    /// Unix seconds of the 2xx answer, once delivered.
    pub delivered_at: Option<i64>,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Not before this time (Unix seconds).
    pub next_attempt_at: i64,
}

/// An event row (id, type, created, payload, next attempt), written inside its change's
/// transaction (both drivers).
pub(super) const INSERT_EVENT: &str = "INSERT INTO pay_events (id, event_type, created_at, \
    payload, attempts, next_attempt_at) VALUES (?, ?, ?, ?, 0, ?)";

impl Ledger {
    /// Writes an event row inside the caller's transaction; returns its id.
    pub(super) async fn insert_event(
        &self,
        conn: &mut AnyConnection,
        event_type: &str,
        data: serde_json::Value,
    ) -> Result<String, StoreError> {
        let id = random_id("evt_");
        let now = self.now();
        sqlx::query(&self.sql(INSERT_EVENT))
            .bind(id.clone())
            .bind(event_type.to_string())
            .bind(now)
            .bind(data.to_string())
            .bind(now)
            .execute(&mut *conn)
            .await?;
        Ok(id)
    }

    /// Outbox events in the order they were written, with their delivery state.
    pub async fn events(&self, filter: &EventFilter) -> Result<Vec<EventView>, StoreError> {
        let limit = if filter.limit > 0 { filter.limit } else { 100 };
        let sql = format!(
            "SELECT id, event_type, created_at, payload, delivered_at, attempts, last_error, \
             next_attempt_at FROM pay_events WHERE (? = '' OR event_type = ?) {} \
             ORDER BY seq LIMIT ?",
            if filter.undelivered_only {
                "AND delivered_at IS NULL"
            } else {
                ""
            }
        );
        let ty = filter.event_type.clone().unwrap_or_default();
        let rows = sqlx::query(&self.sql(&sql))
            .bind(ty.clone())
            .bind(ty)
            .bind(limit)
            .fetch_all(&mut *self.conn().await?)
            .await?;
        rows.iter().map(event_view).collect()
    }

    /// Loads events by id (the dispatcher's claimed batch).
    pub(super) async fn events_by_claim(&self, token: &str) -> Result<Vec<EventView>, StoreError> {
        let rows = sqlx::query(&self.sql(
            "SELECT id, event_type, created_at, payload, delivered_at, attempts, last_error, \
             next_attempt_at FROM pay_events WHERE claimed_by = ? ORDER BY seq",
        ))
        .bind(token.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.iter().map(event_view).collect()
    }

    /// Records a successful delivery (2xx).
    pub(super) async fn mark_delivered(&self, id: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(&self.sql(
            "UPDATE pay_events SET delivered_at = ?, attempts = attempts + 1, last_error = NULL, \
             claimed_by = NULL, claim_until = NULL WHERE id = ? AND delivered_at IS NULL",
        ))
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    /// Records a failed delivery and when to try again.
    pub(super) async fn mark_failed(
        &self,
        id: &str,
        error: &str,
        next_attempt_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(&self.sql(
            "UPDATE pay_events SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, \
             claimed_by = NULL, claim_until = NULL WHERE id = ? AND delivered_at IS NULL",
        ))
        .bind(error.chars().take(500).collect::<String>())
        .bind(next_attempt_at)
        .bind(id.to_string())
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }
}

fn event_view(row: &sqlx::any::AnyRow) -> Result<EventView, StoreError> {
    let payload = req_text(row, "payload")?;
    Ok(EventView {
        id: req_text(row, "id")?,
        event_type: req_text(row, "event_type")?,
        created_at: int(row, "created_at")?,
        data: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt(format!("event payload: {e}")))?,
        delivered_at: opt_int(row, "delivered_at")?,
        attempts: int(row, "attempts")?,
        last_error: text(row, "last_error")?,
        next_attempt_at: int(row, "next_attempt_at")?,
    })
}
