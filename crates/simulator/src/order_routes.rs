//! The order routes: each handler names the official page it imitates and calls the state
//! machine in [`super::orders`].

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};

use super::api::{ok, respond};
use super::orders::order_not_exist;
use super::state::Shared;

/// The order routes.
pub fn router() -> Router<Shared> {
    Router::new()
        .route("/v3/pay/transactions/jsapi", post(jsapi))
        .route("/v3/pay/transactions/app", post(app))
        .route("/v3/pay/transactions/h5", post(h5))
        .route("/v3/pay/transactions/native", post(native))
        .route(
            "/v3/pay/transactions/out-trade-no/{out_trade_no}",
            get(by_out_trade_no),
        )
        .route(
            "/v3/pay/transactions/id/{transaction_id}",
            get(by_transaction_id),
        )
        .route(
            "/v3/pay/transactions/out-trade-no/{out_trade_no}/close",
            post(close),
        )
}

/// JSAPI/小程序下单 — <https://pay.weixin.qq.com/docs/merchant/apis/jsapi-payment/direct-jsons.html>.
async fn jsapi(State(sim): State<Shared>, body: Bytes) -> Response {
    respond(sim.create_order("JSAPI", &body))
}

/// APP下单 — <https://pay.weixin.qq.com/docs/merchant/apis/in-app-payment/direct-jsons.html>.
async fn app(State(sim): State<Shared>, body: Bytes) -> Response {
    respond(sim.create_order("APP", &body))
}

/// H5下单 — <https://pay.weixin.qq.com/docs/merchant/apis/h5-payment/direct-jsons.html>.
async fn h5(State(sim): State<Shared>, body: Bytes) -> Response {
    respond(sim.create_order("MWEB", &body))
}

/// Native下单 — <https://pay.weixin.qq.com/docs/merchant/apis/native-payment/direct-jsons.html>.
async fn native(State(sim): State<Shared>, body: Bytes) -> Response {
    respond(sim.create_order("NATIVE", &body))
}

/// 商户订单号查询订单 — <https://pay.weixin.qq.com/docs/merchant/apis/jsapi-payment/query-by-out-trade-no.html>.
async fn by_out_trade_no(
    State(sim): State<Shared>,
    Path(no): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    respond(sim.query_mchid(&q).and_then(|_| {
        let store = sim.store();
        let order = store.orders.get(&no).ok_or_else(order_not_exist)?;
        ok(order.to_json(&sim.cfg.mchid))
    }))
}

/// 微信支付订单号查询订单 — <https://pay.weixin.qq.com/docs/merchant/apis/jsapi-payment/query-by-wx-trade-no.html>.
/// Only paid orders have a transaction id, so before payment this is `ORDER_NOT_EXIST`.
async fn by_transaction_id(
    State(sim): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    respond(sim.query_mchid(&q).and_then(|_| {
        let store = sim.store();
        let order = store
            .orders
            .values()
            .find(|o| o.transaction_id.as_deref() == Some(id.as_str()))
            .ok_or_else(order_not_exist)?;
        ok(order.to_json(&sim.cfg.mchid))
    }))
}

/// 关闭订单 — <https://pay.weixin.qq.com/docs/merchant/apis/jsapi-payment/close-order.html>. 204, signed.
async fn close(State(sim): State<Shared>, Path(no): Path<String>, body: Bytes) -> Response {
    respond(sim.close_order(&no, &body))
}
