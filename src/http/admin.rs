//! Admin routes: `POST /wx-pay/admin/reconcile` (also reached by the CloudBase timer trigger)
//! and `POST /wx-pay/admin/events` (the outbox and its delivery state).
//!
//! The timer trigger cannot carry the admin credential, so reconcile also runs in "trigger mode"
//! without one: the SCF timer event body (`"Type": "Timer"`) or the header
//! `x-pay-common-trigger: reconcile`. That is safe because a pass takes no parameters and
//! changes state only from WeChat's verified query answers; it is rate-limited so a flood of
//! forged triggers cannot turn into a flood of WeChat queries.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::AppState;
use super::envelope::{ApiError, ok};
use super::identity;
use crate::pay::reconcile::{ReconcileSettings, Reconciler};
use crate::store::{EventFilter, Ledger};

/// Header marking a scheduler's reconcile request (trigger mode).
pub const TRIGGER_HEADER: &str = "x-pay-common-trigger";
/// Trigger-mode runs are at least this far apart (per instance).
pub const TRIGGER_MIN_GAP: Duration = Duration::from_secs(60);

/// When the last trigger-mode run started.
#[derive(Debug, Clone, Default)]
pub struct TriggerGate(Arc<Mutex<Option<Instant>>>);

/// Is this body the SCF timer event?
pub fn is_timer_event(body: &Value) -> bool {
    body.get("Type").and_then(Value::as_str) == Some("Timer")
}

fn ledger(state: &AppState) -> Result<&Ledger, ApiError> {
    state.ledger.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "NO_LEDGER",
            "this route needs the ledger",
        )
    })
}

/// One reconcile pass plus one event-dispatch pass (a cloud function is frozen between
/// requests, so the timer is what drives both there).
pub async fn run_reconcile(state: &AppState) -> Result<Value, ApiError> {
    let cfg = &state.pay.config;
    let settings = ReconcileSettings {
        grace_secs: cfg.reconcile_grace.as_secs() as i64,
        ..ReconcileSettings::default()
    };
    let pay = &state.pay;
    let summary = Reconciler::run_once(&pay.book, pay, pay.now(), &settings).await;
    let events = match state.dispatcher() {
        Some(d) => Some(d.run_once(state.pay.now()).await.map_err(|e| {
            tracing::warn!(error = %e, "event dispatch failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "STORAGE_ERROR",
                "event dispatch failed; it has been logged",
            )
        })?),
        None => None,
    };
    tracing::info!(?summary, "reconcile pass");
    Ok(json!({ "reconcile": summary, "events": events }))
}

/// A trigger-mode run, unless one ran within [`TRIGGER_MIN_GAP`].
pub async fn triggered(state: &AppState) -> Response {
    {
        let mut last = state.trigger_gate.0.lock().await;
        if let Some(t) = *last
            && t.elapsed() < TRIGGER_MIN_GAP
        {
            let msg = format!("skipped: ran {}s ago", t.elapsed().as_secs());
            return axum::Json(json!({ "code": 0, "msg": msg, "data": null })).into_response();
        }
        *last = Some(Instant::now());
    }
    match run_reconcile(state).await {
        Ok(v) => ok(200, Some(v)),
        Err(e) => e.into_response(),
    }
}

/// `POST /wx-pay/admin/{action}`.
pub async fn admin(
    State(state): State<AppState>,
    axum::extract::Path(action): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let caller = match identity::caller(&headers, &state.pay.config, state.pay.now()) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let trigger = headers.get(TRIGGER_HEADER).and_then(|v| v.to_str().ok()) == Some("reconcile")
        || is_timer_event(&body);
    match action.as_str() {
        "reconcile" if caller.admin => run_reconcile(&state)
            .await
            .map(|v| ok(200, Some(v)))
            .unwrap_or_else(IntoResponse::into_response),
        "reconcile" if trigger => triggered(&state).await,
        "events" if caller.admin => events(&state, &body)
            .await
            .unwrap_or_else(IntoResponse::into_response),
        "reconcile" | "events" => {
            ApiError::from(state.pay.admin_required(&format!("admin/{action}"))).into_response()
        }
        other => super::routes::unsupported(&format!("admin/{other}")).into_response(),
    }
}

async fn events(state: &AppState, body: &Value) -> Result<Response, ApiError> {
    let filter = EventFilter {
        event_type: body
            .get("event_type")
            .and_then(Value::as_str)
            .map(str::to_string),
        undelivered_only: body
            .get("undelivered_only")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        limit: body
            .get("limit")
            .and_then(Value::as_i64)
            .unwrap_or(100)
            .clamp(1, 1000),
    };
    let list = ledger(state)?.events(&filter).await.map_err(|e| {
        tracing::error!(error = %e, "listing events failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "STORAGE_ERROR",
            "could not list events; it has been logged",
        )
    })?;
    Ok(ok(200, Some(json!({ "events": list }))))
}
