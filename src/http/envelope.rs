//! The `{code, msg, data, error}` envelope, and the one place where every error becomes a status,
//! a stable `error` code and a message that names the field and the rule.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::pay::error::PayError;
use crate::pay::service::ServiceErrorKind;
use crate::pay::types::FieldError;
use crate::wechatpay::client::WechatError;

/// A success: `{"code":0,"msg":"success","data":{"status":…,"data":…}}`.
pub fn ok(status: u16, payload: Option<Value>) -> Response {
    let data = match payload {
        Some(p) => json!({ "status": status, "data": p }),
        None => json!({ "status": status }),
    };
    Json(json!({ "code": 0, "msg": "success", "data": data })).into_response()
}

/// An error answer in our envelope.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine code.
    pub error: String,
    /// Human message.
    pub msg: String,
    /// WeChat's answer, when it refused.
    pub data: Value,
    /// The field and rule of an `INVALID_PARAMETER` (for the message catalogue).
    pub field: Option<Box<(String, String)>>,
}

impl ApiError {
    /// An error without data.
    pub fn new(status: StatusCode, error: impl Into<String>, msg: impl Into<String>) -> Self {
        Self {
            status,
            error: error.into(),
            msg: msg.into(),
            data: Value::Null,
            field: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "code": -1, "msg": self.msg, "data": self.data, "error": self.error });
        (self.status, Json(body)).into_response()
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        let mut err = Self::new(StatusCode::BAD_REQUEST, "INVALID_PARAMETER", e.to_string());
        err.field = Some(Box::new((e.field, e.rule)));
        err
    }
}

impl From<PayError> for ApiError {
    fn from(e: PayError) -> Self {
        use StatusCode as S;
        match e {
            PayError::Field(f) => f.into(),
            PayError::MissingCredentials(vars) => Self::new(
                S::SERVICE_UNAVAILABLE,
                "MISSING_CREDENTIALS",
                format!(
                    "WeChat Pay credentials are missing or invalid: {} (see GET /healthz)",
                    vars.join(", ")
                ),
            ),
            PayError::Unauthenticated(m) => Self::new(S::UNAUTHORIZED, "UNAUTHENTICATED", m),
            PayError::Forbidden { code, message } => Self::new(S::FORBIDDEN, code, message),
            PayError::NotFound(m) => Self::new(S::NOT_FOUND, "NOT_FOUND", m),
            PayError::Service(s) => {
                let status = match s.kind {
                    ServiceErrorKind::Invalid => S::BAD_REQUEST,
                    ServiceErrorKind::Forbidden => S::FORBIDDEN,
                    ServiceErrorKind::NotFound => S::NOT_FOUND,
                    ServiceErrorKind::Conflict => S::CONFLICT,
                    ServiceErrorKind::Unavailable if s.code == crate::store::STORE_UNAVAILABLE => {
                        return crate::http::store_unavailable("the database did not answer");
                    }
                    ServiceErrorKind::Unavailable => {
                        tracing::error!(error = %s, "order service failure");
                        return Self::new(
                            S::INTERNAL_SERVER_ERROR,
                            s.code,
                            "internal error; it has been logged, please retry",
                        );
                    }
                };
                Self::new(status, s.code, s.message)
            }
            PayError::Wechat(w) => wechat(w),
        }
    }
}

fn wechat(e: WechatError) -> ApiError {
    use StatusCode as S;
    match e {
        WechatError::Api(a) => {
            let status = match a.status {
                400 | 403 | 404 | 409 | 429 => S::from_u16(a.status).unwrap_or(S::BAD_GATEWAY),
                _ => S::BAD_GATEWAY,
            };
            tracing::warn!(wechat_status = a.status, code = %a.code, request_id = a.request_id.as_deref(), "WeChat Pay refused the call");
            let data = json!({
                "status": a.status,
                "data": { "code": a.code, "message": a.message, "detail": a.detail },
                "request_id": a.request_id,
            });
            let msg = format!("WeChat Pay refused the request: {} {}", a.code, a.message);
            ApiError {
                status,
                error: a.code,
                msg,
                data,
                field: None,
            }
        }
        WechatError::Timeout => ApiError::new(
            S::GATEWAY_TIMEOUT,
            "UPSTREAM_TIMEOUT",
            "WeChat Pay did not answer in time; retrying with the same number is safe",
        ),
        WechatError::Transport(m) => {
            tracing::warn!(error = %m, "WeChat Pay unreachable");
            ApiError::new(
                S::BAD_GATEWAY,
                "UPSTREAM_UNREACHABLE",
                "WeChat Pay is unreachable; retrying with the same number is safe",
            )
        }
        WechatError::Unverified(v) => {
            tracing::error!(alert = true, error = %v, "WeChat Pay answer failed signature verification");
            ApiError::new(
                S::BAD_GATEWAY,
                "UPSTREAM_UNVERIFIED",
                format!("WeChat Pay's answer could not be verified ({v}); nothing was trusted"),
            )
        }
        WechatError::Decode(m) => ApiError::new(
            S::BAD_GATEWAY,
            "UPSTREAM_BAD_RESPONSE",
            format!("WeChat Pay's answer was not understood: {m}"),
        ),
        WechatError::Request(m) => {
            tracing::error!(error = %m, "request not sent");
            ApiError::new(
                S::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error; it has been logged",
            )
        }
    }
}

/// A callback answer in WeChat's own format.
pub fn callback_answer(result: Result<(), (u16, String)>) -> Response {
    match result {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "code": "SUCCESS", "message": "成功" })),
        )
            .into_response(),
        Err((status, message)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, Json(json!({ "code": "FAIL", "message": message }))).into_response()
        }
    }
}
