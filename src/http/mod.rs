//! The HTTP edge: routes, the envelope, identity and callbacks. Handlers take raw bytes, decide
//! whether they hold a callback or a route call, and hand typed work to the `pay` layer.

pub mod admin;
pub mod callbacks;
pub mod envelope;
pub mod health;
pub mod identity;
pub mod jwt;
pub mod limit;
pub mod messages;
pub mod routes;
pub mod serve;
pub mod text;
pub mod trace;

use axum::Router;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::Value;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::pay::payments::Payments;
use crate::wechatpay::notify::GatewayForward;
use envelope::ApiError;

/// Shared state of the handlers. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The orchestration handle.
    pub pay: Payments,
    /// Which store backs the service (`sqlite`, `postgres`, `mysql`, or a custom port's name).
    pub store_kind: &'static str,
    /// The ledger, when the order service is the shipped one (admin routes need it).
    pub ledger: Option<crate::store::Ledger>,
    /// Rate limit of credential-less reconcile triggers.
    pub trigger_gate: admin::TriggerGate,
    /// Requests being processed (load shedding beyond `maxInFlight`).
    pub in_flight: limit::InFlight,
}

impl AppState {
    /// `Err(cause)` while the ledger cannot be used (not connected yet, down, read-only); the
    /// ledger's supervisor is then asked to check again.
    pub fn store_down(&self) -> Option<String> {
        let ledger = self.ledger.as_ref()?;
        match ledger.store_status() {
            crate::store::StoreStatus::Ready => None,
            crate::store::StoreStatus::Unavailable(cause) => {
                ledger.suspect();
                Some(cause)
            }
        }
    }

    /// 503 `STORE_UNAVAILABLE` while the ledger cannot be used.
    pub(crate) fn store_gate(&self) -> Result<(), ApiError> {
        match self.store_down() {
            None => Ok(()),
            Some(cause) => Err(store_unavailable(&cause)),
        }
    }

    /// The business-webhook dispatcher, when `businessWebhookUrl` is configured.
    pub fn dispatcher(&self) -> Option<crate::store::EventDispatcher> {
        let cfg = &self.pay.config;
        let (ledger, url, secret) = (
            self.ledger.clone()?,
            cfg.business_webhook_url.clone()?,
            cfg.business_webhook_secret.clone()?,
        );
        Some(crate::store::EventDispatcher::new(
            ledger,
            url,
            secret.expose(),
        ))
    }
}

/// The refusal while the ledger cannot be used: 503, so callers retry with the same number.
pub fn store_unavailable(cause: &str) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        crate::store::STORE_UNAVAILABLE,
        format!(
            "the order ledger is unavailable ({cause}); retry in a moment with the same number"
        ),
    )
}

/// The whole router.
pub fn router(state: AppState) -> Router {
    let cfg = &state.pay.config;
    let limit = cfg.max_body_bytes;
    let cors = cors(&cfg.cors_allow_origins);
    let limits = limit::Limits {
        in_flight: state.in_flight.clone(),
        body_timeout: cfg.body_read_timeout,
        max_body: limit,
        language: cfg.message_language,
    };
    let mut app = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/wx-pay/{route}", post(wx_pay))
        .route("/wx-pay/admin/{action}", post(admin::admin))
        .route("/wechatpay/{kind}", post(forward))
        .route("/", post(root))
        .merge(crate::console::router())
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(limits, limit::limit))
        .layer(axum::middleware::map_response_with_state(
            cfg.message_language,
            method_not_allowed,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .layer(axum::middleware::from_fn(trace::trace));
    if let Some(cors) = cors {
        app = app.layer(cors);
    }
    app.with_state(state)
}

fn cors(origins: &[String]) -> Option<CorsLayer> {
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else if list.is_empty() {
        return None;
    } else {
        AllowOrigin::list(list)
    };
    let headers = [
        axum::http::header::CONTENT_TYPE,
        axum::http::header::AUTHORIZATION,
    ];
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers(headers),
    )
}

pub(crate) fn body_error(e: BytesRejection) -> ApiError {
    let status = e.status();
    let msg = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "request body is larger than maxBodyBytes".to_string()
    } else {
        format!("request body could not be read: {e}")
    };
    ApiError::new(status, "INVALID_BODY", msg)
}

/// A caller's body as a JSON object (empty = `{}`), with no control characters in any string.
pub(crate) fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_JSON",
            format!("request body must be JSON: {e}"),
        )
    })?;
    if !value.is_object() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_JSON",
            "request body must be a JSON object",
        ));
    }
    text::check(&value)?;
    Ok(value)
}

async fn run_route(state: &AppState, route: &str, headers: &HeaderMap, body: Value) -> Response {
    let result = async {
        let caller = identity::caller(headers, &state.pay.config, state.pay.now())?;
        if routes::ROUTES.contains(&route) {
            state.store_gate()?;
        }
        routes::dispatch(&state.pay, route, &caller, &body).await
    }
    .await;
    result.unwrap_or_else(|e| {
        if e.error == crate::store::STORE_UNAVAILABLE
            && let Some(ledger) = &state.ledger
        {
            ledger.suspect();
        }
        localized(state, e)
    })
}

/// A callback: FAIL (503, so WeChat retries) while the ledger cannot record it.
async fn callback(state: &AppState, headers: &HeaderMap, body: &Bytes) -> Response {
    if let Some(cause) = state.store_down() {
        tracing::warn!(cause = %cause, "callback answered FAIL: the ledger is unavailable");
        let detail = format!("the order ledger is unavailable ({cause}); please retry");
        let message = messages::callback_message(503, &detail, state.pay.config.message_language);
        return envelope::callback_answer(Err((503, message)));
    }
    callbacks::handle(&state.pay, headers, body).await
}

/// An error answer in the configured `messageLanguage`.
fn localized(state: &AppState, e: ApiError) -> Response {
    messages::localize(e, state.pay.config.message_language).into_response()
}

async fn wx_pay(
    State(state): State<AppState>,
    Path(route): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let trigger = routes::TRIGGERS.contains(&route.as_str());
    let body = match body {
        Ok(b) => b,
        Err(e) if trigger => return callback_body_error(&state, e),
        Err(e) => return localized(&state, body_error(e)),
    };
    if trigger {
        return callback(&state, &headers, &body).await;
    }
    match json_body(&body) {
        Ok(v) => run_route(&state, &route, &headers, v).await,
        Err(e) => localized(&state, e),
    }
}

async fn forward(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if !matches!(kind.as_str(), "order" | "refund" | "transfer") {
        return not_found().await;
    }
    match body {
        Ok(b) => callback(&state, &headers, &b).await,
        Err(e) => callback_body_error(&state, e),
    }
}

/// A callback whose body could not be read: FAIL in WeChat's format.
/// A callback whose body could not be read: WeChat's `{code:"FAIL"}` in the configured language.
fn callback_body_error(state: &AppState, e: BytesRejection) -> Response {
    let status = e.status().as_u16();
    let lang = state.pay.config.message_language;
    let message = messages::callback_message(status, &e.body_text(), lang);
    envelope::callback_answer(Err((status, message)))
}

/// `POST /`: an Integration Center forward, a signed notification, or a legacy
/// `{"_action": …}` / `{"path": "/wx-pay/…"}` call.
async fn root(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let signed = callbacks::is_signed(&headers);
    let body = match body {
        Ok(b) => b,
        Err(e) if signed => return callback_body_error(&state, e),
        Err(e) => return localized(&state, body_error(e)),
    };
    if signed {
        return callback(&state, &headers, &body).await;
    }
    if let Ok(v) = serde_json::from_slice::<Value>(&body)
        && GatewayForward::is_forward(&v)
    {
        // WeChat's content is checked by authentication, not by our input rules.
        return callback(&state, &headers, &body).await;
    }
    let mut value = match json_body(&body) {
        Ok(v) => v,
        Err(e) => return localized(&state, e),
    };
    if admin::is_timer_event(&value) {
        return admin::triggered(&state).await;
    }
    let obj = value.as_object_mut().expect("json_body returns objects");
    let action = match (obj.remove("_action"), obj.get("path").cloned()) {
        (Some(Value::String(a)), _) => a,
        (None, Some(Value::String(p))) => {
            obj.remove("path");
            obj.remove("method");
            p
        }
        _ => return localized(&state, routes::unsupported("(none: send _action or path)")),
    };
    let route = routes::action_name(&action).to_string();
    if routes::TRIGGERS.contains(&route.as_str()) {
        return callback(&state, &headers, &body).await;
    }
    run_route(&state, &route, &headers, value).await
}

/// A bug must still answer in our envelope (and be logged), never drop the connection.
fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked; answered 500");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL",
        "internal error; it has been logged",
    )
    .into_response()
}

/// The legacy cloud API gateway posted `{"_action": …}` to whatever path it was given, so any
/// other POST is dispatched like `POST /`; anything else is 404.
async fn fallback(
    state: State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if method == Method::POST {
        root(state, headers, body).await
    } else {
        not_found().await
    }
}

/// axum answers a known path with the wrong method 405 and an empty body; give it our
/// envelope. (axum adds the `Allow` header after this layer, so it is kept either way.)
async fn method_not_allowed(
    State(lang): State<messages::Language>,
    response: Response,
) -> Response {
    if response.status() != StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    let msg = "this path does not answer this method; the Allow header lists the ones it does";
    let refusal = ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", msg);
    let mut answer = messages::localize(refusal, lang).into_response();
    if let Some(allow) = response.headers().get(header::ALLOW) {
        answer.headers_mut().insert(header::ALLOW, allow.clone());
    }
    answer
}

async fn not_found() -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "no such route; payment routes are POST /wx-pay/<route>",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn any_cors_setting_builds_a_layer_without_panicking() {
        for v in [
            "*",
            "https://a.example.com,*",
            " , ",
            "https://a.example.com",
        ] {
            let c =
                crate::config::Config::from_lookup(|k| (k == "corsAllowOrigin").then(|| v.into()));
            let layer = super::cors(&c.cors_allow_origins);
            assert_eq!(layer.is_some(), v != " , ", "{v}");
        }
    }
}
