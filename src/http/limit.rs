//! Load shedding: at most `maxInFlight` requests are processed at once. Beyond that a request is
//! answered 503 at once instead of queueing (a burst of thousands of callbacks would otherwise
//! hold thousands of buffers and connections in memory). WeChat retries a refused callback, and
//! a Mini Program can retry a refused call with the same number.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::envelope::{ApiError, callback_answer};

/// The shared permit pool.
#[derive(Debug, Clone)]
pub struct InFlight(pub Arc<Semaphore>);

impl InFlight {
    /// A pool of `n` permits.
    pub fn new(n: usize) -> Self {
        Self(Arc::new(Semaphore::new(n)))
    }
}

/// Is this path a callback (answered in WeChat's format)?
fn is_callback_path(path: &str) -> bool {
    path == "/" || path.starts_with("/wechatpay/") || path.ends_with("Trigger")
}

/// The middleware.
pub async fn limit(State(in_flight): State<InFlight>, req: Request, next: Next) -> Response {
    if req.uri().path() == "/healthz" {
        // The platform's health check must see a live process even under load.
        return next.run(req).await;
    }
    let Ok(_permit) = in_flight.0.clone().try_acquire_owned() else {
        tracing::warn!(path = req.uri().path(), "overloaded: request shed with 503");
        return if is_callback_path(req.uri().path()) {
            callback_answer(Err((503, "busy; please retry".into())))
        } else {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "BUSY",
                "the service is busy; retry in a moment (same number)",
            )
            .into_response()
        };
    };
    next.run(req).await
}
