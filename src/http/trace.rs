//! One log line per request with a request id, method, path, status and latency, inside a span
//! that every log line of the request inherits. Bodies and headers are not logged: they hold
//! openids, signatures and the admin credential.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// Response header carrying our request id (quote it when reporting a problem).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The middleware.
pub async fn trace(req: Request, next: Next) -> Response {
    let id = request_id();
    // The span renders its fields once, here; method and path are borrowed, not copied.
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path()
    );
    let start = Instant::now();
    let mut resp = next.run(req).instrument(span.clone()).await;
    let status = resp.status().as_u16();
    // Whole microseconds, so the line reads `"ms":29.131`, not `29.130343999999997`.
    let ms = start.elapsed().as_micros() as f64 / 1000.0;
    if status >= 500 {
        tracing::warn!(parent: &span, status, ms, "request finished");
    } else {
        tracing::info!(parent: &span, status, ms, "request finished");
    }
    if let Ok(v) = HeaderValue::try_from(id) {
        resp.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    resp
}

/// 16 alphanumerics, unique within the process and unpredictable across processes. Request ids
/// need no cryptographic randomness, so they come from std's per-thread random SipHash keys over
/// a counter rather than from aws-lc: its generator's first use in a process collects jitter
/// entropy (about 20 ms of CPU), which would otherwise delay the first `/healthz` answer.
fn request_id() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    static NEXT: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        static KEYS: RandomState = RandomState::new();
    }
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let (hi, lo) = KEYS.with(|k| (k.hash_one((n, 0u8)), k.hash_one((n, 1u8))));
    // 62^16 < 2^128: sixteen base-62 digits of 128 random bits.
    let mut x = (u128::from(hi) << 64) | u128::from(lo);
    let mut id = String::with_capacity(16);
    for _ in 0..16 {
        id.push(ALPHABET[(x % 62) as usize] as char);
        x /= 62;
    }
    id
}

#[cfg(test)]
mod tests {
    use super::request_id;

    #[test]
    fn request_ids_are_sixteen_alphanumerics_and_do_not_repeat() {
        let ids: std::collections::HashSet<String> = (0..10_000).map(|_| request_id()).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(
            ids.iter()
                .all(|id| id.len() == 16 && id.bytes().all(|b| b.is_ascii_alphanumeric()))
        );
    }
}
