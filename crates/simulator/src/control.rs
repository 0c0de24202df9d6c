//! The control API under `/sim`, unauthenticated because the simulator binds to loopback:
//! it plays the user (pay, fail, confirm), WeChat's back office (refund outcomes), arms
//! faults and exposes the logs. Every route mirrors a [`super::SimulatorHandle`] method.
//!
//! | Route | Effect |
//! | --- | --- |
//! | `GET /sim/info` | mchid, `PUB_KEY_ID`, public key PEM, certificate serial |
//! | `POST /sim/orders/{out_trade_no}/pay` | user pays → SUCCESS + `TRANSACTION.SUCCESS` |
//! | `POST /sim/orders/{out_trade_no}/pay_after_close` | the close/pay race: a CLOSED order is paid anyway → SUCCESS + `TRANSACTION.SUCCESS` |
//! | `POST /sim/orders/{out_trade_no}/paying` | user opens the cashier → USERPAYING |
//! | `POST /sim/orders/{out_trade_no}/fail` | payment fails → PAYERROR |
//! | `GET /sim/orders/{out_trade_no}` | the order as a query shows it |
//! | `POST /sim/refunds/{out_refund_no}/complete` | body `{"status":"SUCCESS"\|"ABNORMAL"\|"CLOSED"}` |
//! | `GET /sim/refunds/{out_refund_no}` | the refund |
//! | `POST /sim/transfers/{out_bill_no}/confirm` | payee confirms → SUCCESS + callback |
//! | `POST /sim/transfers/{out_bill_no}/fail` | body `{"reason":"…"}` → FAIL + callback |
//! | `GET /sim/transfers/{out_bill_no}` | the bill |
//! | `POST /sim/faults` | arm one rule or an array of rules ([`super::FaultRule`]) |
//! | `GET /sim/faults`, `DELETE /sim/faults` | list / disarm |
//! | `GET /sim/deliveries` | every callback attempt |
//! | `GET /sim/requests` | `{accepted, rejected, log}`: counts and every `/v3` request |

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::api::SimError;
use super::faults::FaultRule;
use super::state::Shared;

/// The `/sim` routes.
pub fn router() -> Router<Shared> {
    Router::new()
        .route("/sim/info", get(info))
        .route("/sim/orders/{no}", get(order))
        .route("/sim/orders/{no}/pay", post(pay))
        .route("/sim/orders/{no}/pay_after_close", post(pay_after_close))
        .route("/sim/orders/{no}/paying", post(start_paying))
        .route("/sim/orders/{no}/fail", post(fail_payment))
        .route("/sim/refunds/{no}", get(refund))
        .route("/sim/refunds/{no}/complete", post(complete_refund))
        .route("/sim/transfers/{no}", get(transfer))
        .route("/sim/transfers/{no}/confirm", post(confirm_transfer))
        .route("/sim/transfers/{no}/fail", post(fail_transfer))
        .route("/sim/faults", get(list_faults).post(arm).delete(disarm))
        .route("/sim/deliveries", get(deliveries))
        .route("/sim/requests", get(requests))
}

fn reply<T: serde::Serialize>(r: Result<T, SimError>) -> Response {
    match r {
        Ok(v) => Json(json!(v)).into_response(),
        Err(e) => e.into_response(),
    }
}

fn missing(what: &str) -> SimError {
    SimError::new(
        axum::http::StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("no such {what}"),
    )
}

async fn info(State(sim): State<Shared>) -> Response {
    Json(json!({
        "mchid": sim.cfg.mchid,
        "public_key_id": sim.keys.public_key_id,
        "public_key_pem": sim.keys.public_key.to_pem(),
        "platform_certificate_serial": sim.keys.cert_serial,
    }))
    .into_response()
}

async fn order(State(sim): State<Shared>, Path(no): Path<String>) -> Response {
    let store = sim.store();
    reply(
        store
            .orders
            .get(&no)
            .map(|o| o.to_json(&sim.cfg.mchid))
            .ok_or_else(|| missing("order")),
    )
}

async fn pay(State(sim): State<Shared>, Path(no): Path<String>) -> Response {
    reply(sim.pay(&no))
}

async fn pay_after_close(State(sim): State<Shared>, Path(no): Path<String>) -> Response {
    reply(sim.pay_after_close(&no))
}

async fn start_paying(State(sim): State<Shared>, Path(no): Path<String>) -> Response {
    reply(sim.start_paying(&no))
}

async fn fail_payment(State(sim): State<Shared>, Path(no): Path<String>) -> Response {
    reply(sim.fail_payment(&no))
}

async fn refund(State(sim): State<Shared>, Path(no): Path<String>) -> Response {
    let store = sim.store();
    reply(
        store
            .refunds
            .get(&no)
            .map(|r| r.to_json())
            .ok_or_else(|| missing("refund")),
    )
}

async fn complete_refund(
    State(sim): State<Shared>,
    Path(no): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    let status = body
        .as_ref()
        .and_then(|b| b.get("status"))
        .and_then(Value::as_str)
        .unwrap_or("SUCCESS")
        .to_string();
    reply(sim.complete_refund(&no, &status).map(|r| {
        sim.store()
            .refunds
            .get(&r.out_refund_no)
            .map(|r| r.to_json())
    }))
}

async fn transfer(State(sim): State<Shared>, Path(no): Path<String>) -> Response {
    let store = sim.store();
    reply(
        store
            .transfers
            .get(&no)
            .map(|t| t.to_json(&sim.cfg.mchid))
            .ok_or_else(|| missing("transfer")),
    )
}

async fn confirm_transfer(State(sim): State<Shared>, Path(no): Path<String>) -> Response {
    reply(sim.finish_transfer(&no, None))
}

async fn fail_transfer(
    State(sim): State<Shared>,
    Path(no): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    let reason = body
        .as_ref()
        .and_then(|b| b.get("reason"))
        .and_then(Value::as_str)
        .unwrap_or("PAYEE_ACCOUNT_ABNORMAL")
        .to_string();
    reply(sim.finish_transfer(&no, Some(&reason)))
}

/// Accepts one rule or an array of rules.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Rules {
    One(FaultRule),
    Many(Vec<FaultRule>),
}

async fn arm(State(sim): State<Shared>, Json(rules): Json<Rules>) -> Response {
    let rules = match rules {
        Rules::One(r) => vec![r],
        Rules::Many(v) => v,
    };
    let mut store = sim.store();
    store.faults.extend(rules);
    Json(json!(store.faults)).into_response()
}

async fn list_faults(State(sim): State<Shared>) -> Response {
    Json(json!(sim.store().faults)).into_response()
}

async fn disarm(State(sim): State<Shared>) -> Response {
    sim.store().faults.clear();
    Json(json!([])).into_response()
}

async fn deliveries(State(sim): State<Shared>) -> Response {
    Json(json!(sim.store().deliveries)).into_response()
}

async fn requests(State(sim): State<Shared>) -> Response {
    let store = sim.store();
    Json(json!({
        "accepted": store.accepted_total,
        "rejected": store.rejected_total,
        "log": store.requests,
    }))
    .into_response()
}
