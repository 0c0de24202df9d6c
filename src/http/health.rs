//! `GET /healthz`: liveness plus the configuration state, by variable name only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use crate::store::StoreStatus;

/// Always 200 while the process serves; `ready` says whether payments can be taken: the
/// configuration is complete and the ledger is connected and writable (`storeReady`; when it
/// is not, `storeProblem` is the real cause).
pub async fn healthz(State(state): State<AppState>) -> Response {
    let cfg = &state.pay.config;
    let mode = match (
        cfg.credentials
            .as_ref()
            .and_then(|c| c.wechatpay_public_key.as_ref()),
        state.pay.keys.certificate_count(),
    ) {
        (Some(_), 0) => "public-key",
        (Some(_), _) => "public-key+platform-certificate",
        (None, _) => "platform-certificate",
    };
    let store_problem = state.ledger.as_ref().and_then(|l| match l.store_status() {
        StoreStatus::Ready => None,
        StoreStatus::Unavailable(cause) => Some(cause),
    });
    let body = json!({
        "status": "ok",
        "ready": cfg.can_take_payments() && store_problem.is_none(),
        "version": env!("CARGO_PKG_VERSION"),
        "signMode": format!("{:?}", cfg.sign_mode).to_lowercase(),
        "verification": mode,
        "platformCertificates": state.pay.keys.certificate_count(),
        "store": state.store_kind,
        "storeReady": store_problem.is_none(),
        "storeProblem": store_problem,
        "problems": cfg.problems,
    });
    (StatusCode::OK, Json(body)).into_response()
}
