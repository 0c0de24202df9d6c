//! Admin routes: `POST /wx-pay/admin/reconcile` (also reached by the CloudBase timer trigger),
//! `POST /wx-pay/admin/events` (the outbox and its delivery state), and the payout allowances:
//! `admin/payout_grant`, `admin/payouts`, `admin/payout_revoke` (use cases in `pay::payouts`),
//! and unmatched money: `admin/unmatched`, `admin/unmatched_resolve` (`pay::unmatched_admin`).
//! Every refusal's `msg` goes through the message catalogue (Chinese by default).
//!
//! The timer trigger cannot carry the admin credential, so reconcile also runs in "trigger mode"
//! without one: the SCF timer event body (`"Type": "Timer"`) or the header
//! `x-pay-common-trigger: reconcile`. That is safe because a pass takes no parameters and
//! changes state only from WeChat's verified query answers; it is rate-limited so a flood of
//! forged triggers cannot turn into a flood of WeChat queries.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::AppState;
use super::envelope::{ApiError, ok};
use super::identity;
use crate::pay::reconcile::{ReconcileSettings, Reconciler};
use crate::pay::types::FieldError;
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
            let msg = super::messages::reconcile_skipped(
                t.elapsed().as_secs(),
                state.pay.config.message_language,
            );
            return axum::Json(json!({ "code": 0, "msg": msg, "data": null })).into_response();
        }
        *last = Some(Instant::now());
    }
    match run_reconcile(state).await {
        Ok(v) => ok(200, Some(v)),
        Err(e) => super::localized(state, e),
    }
}

/// `POST /wx-pay/admin/{action}`.
pub async fn admin(
    State(state): State<AppState>,
    axum::extract::Path(action): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let lang = state.pay.config.message_language;
    let refuse = |e: ApiError| super::messages::localize(e, lang).into_response();
    // A body that is not a JSON object is refused, never read as "no filter".
    let raw = match body.map_err(super::body_error) {
        Ok(b) => b,
        Err(e) => return refuse(e),
    };
    let body = match super::json_body(&raw) {
        Ok(v) => v,
        Err(e) => return refuse(e),
    };
    let caller = match identity::caller(&headers, &state.pay.config, state.pay.now()) {
        Ok(c) => c,
        Err(e) => return refuse(e),
    };
    if matches!(
        action.as_str(),
        "reconcile" | "events" | UNMATCHED | UNMATCHED_RESOLVE
    ) && let Err(e) = state.store_gate()
    {
        return refuse(e);
    }
    let trigger = headers.get(TRIGGER_HEADER).and_then(|v| v.to_str().ok()) == Some("reconcile")
        || is_timer_event(&body);
    let result = match action.as_str() {
        "reconcile" if caller.admin => run_reconcile(&state).await.map(|v| ok(200, Some(v))),
        "reconcile" if trigger => return triggered(&state).await,
        "events" if caller.admin => events(&state, &body).await,
        PAYOUT_GRANT | PAYOUTS | PAYOUT_REVOKE if caller.admin => {
            payouts(&state, &action, &caller, &raw).await
        }
        UNMATCHED | UNMATCHED_RESOLVE if caller.admin => {
            unmatched(&state, &action, &caller, &body).await
        }
        "reconcile" | "events" | PAYOUT_GRANT | PAYOUTS | PAYOUT_REVOKE | UNMATCHED
        | UNMATCHED_RESOLVE => Err(ApiError::from(
            state.pay.admin_required(&format!("admin/{action}")),
        )),
        other => Err(super::routes::unsupported(&format!("admin/{other}"))),
    };
    result.unwrap_or_else(|e| super::localized(&state, e))
}

/// Grants a payout allowance.
pub const PAYOUT_GRANT: &str = "payout_grant";
/// Lists payout allowances.
pub const PAYOUTS: &str = "payouts";
/// Revokes a payout allowance.
pub const PAYOUT_REVOKE: &str = "payout_revoke";

/// The payout routes: the body is parsed here into its typed request, after the role and the
/// ledger checks.
async fn payouts(
    state: &AppState,
    action: &str,
    caller: &crate::pay::payments::Caller,
    raw: &Bytes,
) -> Result<Response, ApiError> {
    use crate::pay::transfer_requests::{GrantRequest, PayoutFilter, RevokeRequest};
    ledger(state)?;
    let body = super::json_body(raw)?;
    let pay = &state.pay;
    let data = match action {
        PAYOUT_GRANT => pay.grant_payout(caller, &GrantRequest::parse(&body)?).await,
        PAYOUTS => pay.list_payouts(caller, &PayoutFilter::parse(&body)?).await,
        _ => {
            pay.revoke_payout(caller, &RevokeRequest::parse(&body)?)
                .await
        }
    }?;
    Ok(ok(200, Some(data)))
}

/// Lists unmatched money.
pub const UNMATCHED: &str = "unmatched";
/// Resolves one unmatched record.
pub const UNMATCHED_RESOLVE: &str = "unmatched_resolve";

async fn unmatched(
    state: &AppState,
    action: &str,
    caller: &crate::pay::payments::Caller,
    body: &Value,
) -> Result<Response, ApiError> {
    let pay = &state.pay;
    let data = match action {
        UNMATCHED => pay.list_unmatched(caller, body).await,
        _ => pay.resolve_unmatched(caller, body).await,
    }?;
    Ok(ok(200, Some(data)))
}

async fn events(state: &AppState, body: &Value) -> Result<Response, ApiError> {
    // A filter of the wrong type is refused, never dropped (which would list every event).
    let input = crate::pay::input::object(body)?;
    let limit = match input.get("limit") {
        None => 100,
        Some(v) => v
            .as_i64()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| FieldError::new("limit", "must be a whole number from 1 to 1000"))?,
    };
    let filter = EventFilter {
        event_type: input.opt_str("event_type", 64)?.map(str::to_string),
        undelivered_only: input.opt_bool("undelivered_only")?,
        limit,
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
