//! One log line per request with a request id, method, path, status and latency, inside a span
//! that every log line of the request inherits. Bodies and headers are not logged: they hold
//! openids, signatures and the admin credential.

use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::wechatpay::crypto::random_alphanumeric;

/// Response header carrying our request id (quote it when reporting a problem).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The middleware.
pub async fn trace(req: Request, next: Next) -> Response {
    let id = random_alphanumeric(16);
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let span = tracing::info_span!("request", request_id = %id, %method, %path);
    let start = Instant::now();
    let mut resp = next.run(req).instrument(span.clone()).await;
    let status = resp.status().as_u16();
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, ms, "request finished");
        } else {
            tracing::info!(status, ms, "request finished");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    resp
}
