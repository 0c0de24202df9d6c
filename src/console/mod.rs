//! The local web console at `/console/`: the ledger's orders, refunds, transfers, payout
//! allowances and business events with their states, a reconcile button, and — when the
//! simulator is in use (`consoleSimulator`, set by `pay-common demo`) — the buttons a phone
//! would press (pay, fail, finish a refund, confirm a transfer) and a place-an-order form acting
//! as a Mini Program user.
//!
//! Plain HTML and JavaScript compiled into the binary (`include_str!`), no build step. `demo`
//! always serves it; `serve` only with `consoleEnabled=true`. The page itself holds nothing;
//! every data call needs the admin credential (`x-pay-common-admin-token`), which the page takes
//! from the URL fragment `#token=…` (a fragment never reaches a server or a log) or asks for.
//!
//! In the demo (`consoleSimulator`) it also serves the web example `examples/web/` (H5 and Native
//! pay with the `code_url` drawn as a QR code) at `/console/web/`, on the service's own origin so
//! it needs no CORS set-up; that page uses no credential (it follows its order by `order_token`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::http::AppState;
use crate::http::envelope::{ApiError, ok};
use crate::http::identity;
use crate::store::EventFilter;

const INDEX_HTML: &str = include_str!("index.html");
const CONSOLE_JS: &str = include_str!("console.js");
const WEB_INDEX_HTML: &str = include_str!("../../examples/web/index.html");
const WEB_PAY_JS: &str = include_str!("../../examples/web/pay.js");
const WEB_QR_JS: &str = include_str!("../../examples/web/qr.js");
/// How many rows of each kind the console lists.
const LIST_LIMIT: i64 = 200;

/// The `/console` routes (answer 404 unless the console is enabled).
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(index))
        .route("/console/console.js", get(script))
        .route(
            "/console/web",
            get(|| async { Redirect::permanent("/console/web/") }),
        )
        .route("/console/web/", get(web_index))
        .route("/console/web/pay.js", get(web_pay_js))
        .route("/console/web/qr.js", get(web_qr_js))
        .route("/console/api/info", post(info))
        .route("/console/api/state", post(state))
        .route("/console/api/sim/{kind}/{no}/{action}", post(simulate))
        .route("/console/demo-webhook", post(demo_webhook))
}

fn disabled() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "the console is off; set consoleEnabled=true to serve it",
    )
}

fn enabled(state: &AppState) -> Result<(), ApiError> {
    if state.pay.config.console_enabled {
        Ok(())
    } else {
        Err(disabled())
    }
}

/// Enabled, and the caller presents the admin credential.
fn admin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    enabled(state)?;
    let caller = identity::caller(headers, &state.pay.config, state.pay.now())?;
    if caller.admin {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "ADMIN_REQUIRED",
            "the console needs the admin credential (x-pay-common-admin-token)",
        ))
    }
}

fn simulator(state: &AppState) -> Result<(), ApiError> {
    if state.pay.config.console_simulator {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NO_SIMULATOR",
            "the simulator buttons exist only with consoleSimulator=true (pay-common demo)",
        ))
    }
}

fn storage(e: crate::store::StoreError) -> ApiError {
    tracing::error!(error = %e, "console listing failed");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "STORAGE_ERROR",
        "could not read the ledger; it has been logged",
    )
}

fn page(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

async fn index(State(state): State<AppState>) -> Response {
    match enabled(&state) {
        Ok(()) => page("text/html; charset=utf-8", INDEX_HTML),
        Err(e) => e.into_response(),
    }
}

async fn script(State(state): State<AppState>) -> Response {
    match enabled(&state) {
        Ok(()) => page("text/javascript; charset=utf-8", CONSOLE_JS),
        Err(e) => e.into_response(),
    }
}

/// The web example, only in the demo (the console on, with the simulator).
fn web_page(state: &AppState, content_type: &'static str, body: &'static str) -> Response {
    if let Err(e) = enabled(state) {
        return e.into_response();
    }
    if !state.pay.config.console_simulator {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "the web example is served only by pay-common demo (consoleSimulator=true); host examples/web/ yourself",
        )
        .into_response();
    }
    page(content_type, body)
}

async fn web_index(State(state): State<AppState>) -> Response {
    web_page(&state, "text/html; charset=utf-8", WEB_INDEX_HTML)
}

async fn web_pay_js(State(state): State<AppState>) -> Response {
    web_page(&state, "text/javascript; charset=utf-8", WEB_PAY_JS)
}

async fn web_qr_js(State(state): State<AppState>) -> Response {
    web_page(&state, "text/javascript; charset=utf-8", WEB_QR_JS)
}

async fn info(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(e) = admin(&state, &headers) {
        return e.into_response();
    }
    let cfg = &state.pay.config;
    let merchant = cfg.credentials.as_ref();
    ok(
        200,
        Some(json!({
            "simulator": cfg.console_simulator,
            "appid": cfg.app_id,
            "mchid": merchant.map(|c| c.mchid.clone()),
            "merchant_public_key_pem": merchant.map(|c| c.private_key.public_key().to_pem()),
            "refund_policy": format!("{:?}", cfg.refund_policy),
            "store": state.store_kind,
        })),
    )
}

async fn state(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(e) = admin(&state, &headers) {
        return e.into_response();
    }
    let Some(ledger) = state.ledger.as_ref() else {
        return ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "NO_LEDGER",
            "the console needs the ledger",
        )
        .into_response();
    };
    let lists = async {
        let filter = EventFilter {
            event_type: None,
            undelivered_only: false,
            limit: LIST_LIMIT,
        };
        Ok::<_, crate::store::StoreError>(json!({
            "orders": ledger.console_orders(LIST_LIMIT).await?,
            "refunds": ledger.console_refunds(LIST_LIMIT).await?,
            "transfers": ledger.console_transfers(LIST_LIMIT).await?,
            "events": ledger.events(&filter).await?,
            "now": state.pay.now(),
        }))
    };
    match lists.await {
        Ok(v) => ok(200, Some(v)),
        Err(e) => storage(e).into_response(),
    }
}

/// The simulator control routes the console may press, by kind.
fn allowed(kind: &str, action: &str) -> bool {
    matches!(
        (kind, action),
        ("orders", "pay" | "fail" | "paying")
            | ("refunds", "complete")
            | ("transfers", "confirm" | "fail")
    )
}

/// Only the characters our own numbers use, so the value is safe in a URL path.
fn plain_number(no: &str) -> bool {
    !no.is_empty()
        && no.len() <= 64
        && no
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'|' | b'*' | b'@'))
}

async fn simulate(
    State(state): State<AppState>,
    Path((kind, no, action)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let checked = admin(&state, &headers).and_then(|()| simulator(&state));
    if let Err(e) = checked {
        return e.into_response();
    }
    if !allowed(&kind, &action) {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_ACTION",
            format!("{kind}/{action} is not a simulator button (orders: pay, fail, paying; refunds: complete; transfers: confirm, fail)"),
        )
        .into_response();
    }
    if !plain_number(&no) {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_PARAM",
            "the number must be 1-64 letters, digits or _-|*@",
        )
        .into_response();
    }
    let url = format!(
        "{}/sim/{kind}/{no}/{action}",
        state.pay.config.wechatpay_base_url
    );
    let body = if body.is_empty() {
        Bytes::from_static(b"{}")
    } else {
        body
    };
    let answer = reqwest::Client::new()
        .post(&url)
        .header(header::CONTENT_TYPE, "application/json")
        .timeout(std::time::Duration::from_secs(10))
        .body(body)
        .send()
        .await;
    let answer = match answer {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "simulator control call failed");
            return ApiError::new(
                StatusCode::BAD_GATEWAY,
                "SIMULATOR_UNREACHABLE",
                "the simulator did not answer",
            )
            .into_response();
        }
    };
    let status = answer.status();
    let value: Value = answer.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        ok(200, Some(value))
    } else {
        let msg = value
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("the simulator refused")
            .to_string();
        let mut e = ApiError::new(
            StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY),
            value
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or("SIMULATOR_REFUSED")
                .to_string(),
            msg,
        );
        e.data = value;
        e.into_response()
    }
}

/// The demo's business webhook: accepts every event, so the console shows them delivered.
async fn demo_webhook(State(state): State<AppState>) -> Response {
    match simulator(&state) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_phone_buttons_pass() {
        assert!(allowed("orders", "pay"));
        assert!(allowed("refunds", "complete"));
        assert!(allowed("transfers", "confirm"));
        assert!(!allowed("faults", "x"));
        assert!(!allowed("orders", "complete"));
    }

    #[test]
    fn numbers_are_path_safe() {
        assert!(plain_number("DEMO_1-2"));
        assert!(!plain_number("../faults"));
        assert!(!plain_number(""));
        assert!(!plain_number(&"x".repeat(65)));
    }
}
