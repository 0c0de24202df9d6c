//! The axum server: the `/v3` routes behind one layer that applies faults, authenticates the
//! request, runs the handler and signs every 2xx answer (204s included) with the key the
//! request's `Wechatpay-Serial` selects; the `/sim` control routes; a WeChat-style 404.

use std::net::SocketAddr;

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::api::{ErrorInfo, SimError, ok, respond};
use super::faults::{self, Fault};
use super::log::RequestRecord;
use super::state::Shared;
use super::{control, ids, order_routes, refunds, transfers, verify};
use wechatpay::crypto::{
    self, HEADER_NONCE, HEADER_REQUEST_ID, HEADER_SERIAL, HEADER_SIGNATURE, HEADER_TIMESTAMP,
    SIGNTEST_PREFIX, random_alphanumeric,
};

const MAX_BODY: usize = 1 << 20;

/// `(route template, endpoint name)`: the names faults and the request log use.
pub const ENDPOINTS: &[(&str, &str)] = &[
    ("/v3/pay/transactions/jsapi", "jsapi"),
    ("/v3/pay/transactions/app", "app"),
    ("/v3/pay/transactions/h5", "h5"),
    ("/v3/pay/transactions/native", "native"),
    (
        "/v3/pay/transactions/out-trade-no/{out_trade_no}",
        "query_by_out_trade_no",
    ),
    (
        "/v3/pay/transactions/id/{transaction_id}",
        "query_by_transaction_id",
    ),
    (
        "/v3/pay/transactions/out-trade-no/{out_trade_no}/close",
        "close",
    ),
    ("/v3/refund/domestic/refunds", "refund_create"),
    (
        "/v3/refund/domestic/refunds/{out_refund_no}",
        "refund_query",
    ),
    (
        "/v3/fund-app/mch-transfer/transfer-bills",
        "transfer_create",
    ),
    (
        "/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{out_bill_no}",
        "transfer_query",
    ),
    (
        "/v3/fund-app/mch-transfer/transfer-bills/transfer-bill-no/{transfer_bill_no}",
        "transfer_query_by_no",
    ),
    (
        "/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{out_bill_no}/cancel",
        "transfer_cancel",
    ),
    ("/v3/certificates", "certificates"),
];

fn endpoint_name(template: &str) -> &'static str {
    ENDPOINTS
        .iter()
        .find(|(t, _)| *t == template)
        .map(|(_, n)| *n)
        .unwrap_or("")
}

/// Binds and spawns the server; returns the bound address and its task.
pub async fn serve(
    sim: Shared,
    addr: SocketAddr,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let mut stop = sim.shutdown.subscribe();
    let app = router(sim);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|v| *v).await;
            })
            .await;
    });
    Ok((local, task))
}

fn router(sim: Shared) -> Router {
    let v3 = Router::new()
        .merge(order_routes::router())
        .merge(refunds::router())
        .merge(transfers::router())
        .route("/v3/certificates", get(certificates))
        .route_layer(middleware::from_fn_with_state(sim.clone(), wechat_layer));
    Router::new()
        .merge(v3)
        .merge(control::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(request_id))
        .with_state(sim)
}

async fn not_found() -> SimError {
    SimError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "请求的资源不存在")
}

async fn method_not_allowed() -> SimError {
    SimError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "请求方法不被允许",
    )
}

async fn request_id(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    if !res.headers().contains_key(HEADER_REQUEST_ID) {
        let id = HeaderValue::from_str(&ids::request_id()).expect("ASCII id");
        res.headers_mut().insert(HEADER_REQUEST_ID, id);
    }
    res
}

/// Faults, authentication, the handler, then the response signature.
async fn wechat_layer(State(sim): State<Shared>, req: Request, next: Next) -> Response {
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let endpoint = endpoint_name(template.as_deref().unwrap_or(""));
    let method = req.method().as_str().to_string();
    let target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let mut record = RequestRecord {
        method: method.clone(),
        target: target.clone(),
        endpoint: endpoint.to_string(),
        accepted: false,
        status: 0,
        code: None,
        reason: None,
    };
    let fault = faults::take_api(&mut sim.store().faults, endpoint);
    match &fault {
        Some(Fault::Latency { ms }) => {
            sim.sleep(std::time::Duration::from_millis(*ms)).await;
        }
        Some(Fault::Hang) => {
            sim.sleep(std::time::Duration::from_secs(24 * 3600)).await;
        }
        _ => {}
    }
    let (parts, body) = req.into_parts();
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return finish(
                &sim,
                record,
                SimError::param("/", "body too large or unreadable").into_response(),
            );
        }
    };
    let authed = match verify::authenticate(&sim, &method, &target, &parts.headers, &body) {
        Ok(a) => a,
        Err(e) => return finish(&sim, record, e.into_response()),
    };
    record.accepted = true;
    match fault {
        Some(Fault::SystemError) => {
            let e = SimError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "SYSTEM_ERROR",
                "系统错误",
            );
            record.reason = Some("fault: system_error".into());
            return finish(&sim, record, e.into_response());
        }
        Some(Fault::BadGateway) => {
            record.reason = Some("fault: bad_gateway".into());
            let html = "<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>";
            let res = (
                StatusCode::BAD_GATEWAY,
                [("content-type", "text/html")],
                html,
            )
                .into_response();
            return finish(&sim, record, res);
        }
        _ => {}
    }
    let mut req = Request::from_parts(parts, Body::from(body));
    req.extensions_mut().insert(authed.clone());
    let res = next.run(req).await;
    if !res.status().is_success() {
        return finish(&sim, record, res);
    }
    let signed = sign_response(
        &sim,
        res,
        authed.wechatpay_serial.as_deref(),
        fault.as_ref(),
    )
    .await;
    finish(&sim, record, signed)
}

fn finish(sim: &Shared, mut record: RequestRecord, res: Response) -> Response {
    record.status = res.status().as_u16();
    if let Some(info) = res.extensions().get::<ErrorInfo>() {
        record.code = Some(info.code.clone());
        record.reason.get_or_insert_with(|| info.message.clone());
    }
    sim.store().log_request(record);
    res
}

async fn sign_response(
    sim: &Shared,
    res: Response,
    requested: Option<&str>,
    fault: Option<&Fault>,
) -> Response {
    let (mut parts, body) = res.into_parts();
    let bytes: Bytes = to_bytes(body, MAX_BODY).await.unwrap_or_default();
    let (key, serial) = sim.keys.signer_for(requested);
    let timestamp = sim.now().to_string();
    let nonce = random_alphanumeric(32);
    let message = crypto::response_message(&timestamp, &nonce, &bytes);
    let signature = match fault {
        Some(Fault::WrongKey) => sim.keys.rogue().sign(&message),
        Some(Fault::SignTest) => format!("{SIGNTEST_PREFIX}{}", random_alphanumeric(64)),
        _ => key.sign(&message),
    };
    let h = &mut parts.headers;
    for (name, value) in [
        (HEADER_TIMESTAMP, timestamp.as_str()),
        (HEADER_NONCE, nonce.as_str()),
        (HEADER_SIGNATURE, signature.as_str()),
        (HEADER_SERIAL, serial),
    ] {
        h.insert(name, HeaderValue::from_str(value).expect("ASCII header"));
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// `GET /v3/certificates` — 下载平台证书,
/// <https://pay.weixin.qq.com/docs/merchant/apis/platform-certificate/api-v3-get-certificates/get.html>. One certificate, its PEM encrypted
/// with the APIv3 key under AAD `certificate`.
async fn certificates(State(sim): State<Shared>) -> Response {
    let nonce = random_alphanumeric(12);
    let ciphertext = crypto::encrypt_resource(
        sim.cfg.api_v3_key.as_bytes(),
        &nonce,
        "certificate",
        sim.keys.cert_pem.as_bytes(),
    )
    .expect("32-byte key checked at start");
    respond(ok(serde_json::json!({"data": [{
        "serial_no": sim.keys.cert_serial,
        "effective_time": ids::rfc3339(sim.keys.cert_not_before),
        "expire_time": ids::rfc3339(sim.keys.cert_not_after),
        "encrypt_certificate": {
            "algorithm": "AEAD_AES_256_GCM",
            "nonce": nonce,
            "associated_data": "certificate",
            "ciphertext": ciphertext,
        }
    }]})))
}
