//! Load shedding and body reading. The whole body is read first, within `bodyReadTimeoutSeconds`
//! and `maxBodyBytes`, and only then is one of the `maxInFlight` permits taken: a client that
//! sends headers and then stalls holds a connection and a small buffer, never a permit, so it
//! cannot starve anyone (it gets 408 `BODY_TIMEOUT` when its time is up). Beyond the permits a
//! request is answered 503 at once instead of queueing (a burst of thousands of callbacks would
//! otherwise hold thousands of buffers in memory). A quarter of the permits is kept for
//! WeChat's callbacks, so a flood of API calls cannot make payment notices fail; WeChat retries
//! a refused callback, and a Mini Program can retry a refused call with the same number.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::envelope::{ApiError, callback_answer};
use super::messages::{Language, localize};
use crate::wechatpay::crypto::HEADER_SIGNATURE;
use crate::wechatpay::notify::GatewayForward;

/// The permit pools: one every request may use, and one only callbacks may use.
#[derive(Debug, Clone)]
pub struct InFlight {
    general: Arc<Semaphore>,
    callbacks: Arc<Semaphore>,
}

impl InFlight {
    /// `n` permits, of which `n / 4` (at least one when `n >= 2`) are kept for callbacks.
    pub fn new(n: usize) -> Self {
        let reserved = Self::reserved_for_callbacks(n);
        Self {
            general: Arc::new(Semaphore::new(n - reserved)),
            callbacks: Arc::new(Semaphore::new(reserved)),
        }
    }

    /// How many of `n` permits only callbacks may take.
    pub fn reserved_for_callbacks(n: usize) -> usize {
        if n >= 2 { (n / 4).max(1) } else { 0 }
    }

    fn try_acquire(&self, callback: bool) -> Option<OwnedSemaphorePermit> {
        let general = self.general.clone().try_acquire_owned().ok();
        match general {
            Some(p) => Some(p),
            None if callback => self.callbacks.clone().try_acquire_owned().ok(),
            None => None,
        }
    }
}

/// What the middleware enforces.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The permits.
    pub in_flight: InFlight,
    /// `bodyReadTimeoutSeconds`.
    pub body_timeout: Duration,
    /// `maxBodyBytes`.
    pub max_body: usize,
    /// `messageLanguage`, for the refusals.
    pub language: Language,
}

/// Is this request a callback (answered in WeChat's format, may use the reserved permits)?
/// Decided from what is known before the body: the path and WeChat's signature headers.
fn is_callback_request(req: &axum::http::request::Parts) -> bool {
    let path = req.uri.path();
    req.headers.contains_key(HEADER_SIGNATURE)
        || path.starts_with("/wechatpay/")
        || path.ends_with("Trigger")
}

/// An Integration Center forward posted to `/` (or any legacy path): known from the body.
fn is_forward_body(path: &str, body: &[u8]) -> bool {
    !path.starts_with("/wx-pay/")
        && serde_json::from_slice::<serde_json::Value>(body)
            .is_ok_and(|v| GatewayForward::is_forward(&v))
}

fn refuse(callback: bool, lang: Language, status: StatusCode, code: &str, msg: String) -> Response {
    if callback {
        callback_answer(Err((status.as_u16(), msg)))
    } else {
        localize(ApiError::new(status, code, msg), lang).into_response()
    }
}

/// The middleware.
pub async fn limit(State(limits): State<Limits>, req: Request, next: Next) -> Response {
    if req.uri().path() == "/healthz" {
        // The platform's health check must see a live process even under load.
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let callback = is_callback_request(&parts);
    let lang = limits.language;
    let read = Limited::new(body, limits.max_body).collect();
    let bytes = match tokio::time::timeout(limits.body_timeout, read).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            let msg = format!(
                "request body is larger than maxBodyBytes ({} bytes)",
                limits.max_body
            );
            return refuse(
                callback,
                lang,
                StatusCode::PAYLOAD_TOO_LARGE,
                "INVALID_BODY",
                msg,
            );
        }
        Ok(Err(e)) => {
            let msg = format!("request body could not be read: {e}");
            return refuse(callback, lang, StatusCode::BAD_REQUEST, "INVALID_BODY", msg);
        }
        Err(_) => {
            tracing::warn!(
                path = parts.uri.path(),
                "request body did not arrive in time: 408"
            );
            let msg = format!(
                "the request body did not arrive within {} s (bodyReadTimeoutSeconds)",
                limits.body_timeout.as_secs()
            );
            return refuse(
                callback,
                lang,
                StatusCode::REQUEST_TIMEOUT,
                "BODY_TIMEOUT",
                msg,
            );
        }
    };
    let callback = callback || is_forward_body(parts.uri.path(), &bytes);
    let Some(_permit) = limits.in_flight.try_acquire(callback) else {
        tracing::warn!(path = parts.uri.path(), "overloaded: request shed with 503");
        let msg = if callback {
            "busy; please retry"
        } else {
            "the service is busy; retry in a moment (same number)"
        };
        return refuse(
            callback,
            lang,
            StatusCode::SERVICE_UNAVAILABLE,
            "BUSY",
            msg.into(),
        );
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarter_of_the_permits_is_kept_for_callbacks() {
        assert_eq!(InFlight::reserved_for_callbacks(1), 0);
        assert_eq!(InFlight::reserved_for_callbacks(2), 1);
        assert_eq!(InFlight::reserved_for_callbacks(256), 64);
        let pool = InFlight::new(4);
        let held: Vec<_> = (0..3).map(|_| pool.try_acquire(false).unwrap()).collect();
        assert!(
            pool.try_acquire(false).is_none(),
            "API calls stop at 3 of 4"
        );
        let reserved = pool
            .try_acquire(true)
            .expect("a callback still gets the 4th");
        assert!(pool.try_acquire(true).is_none());
        drop((held, reserved));
    }
}
