//! WeChat's error answer, `{"code","message","detail"}` with a status, as one type shared by
//! the `/v3` handlers, the request verifier and the control API.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error as WeChat Pay answers it (section 7 of the protocol notes).
#[derive(Debug, Clone, PartialEq)]
pub struct SimError {
    /// HTTP status.
    pub status: StatusCode,
    /// Machine code, e.g. `ORDERPAID`.
    pub code: String,
    /// Human text.
    pub message: String,
    /// Optional `detail` object (`field`, `location`, `issue`).
    pub detail: Option<Value>,
}

impl SimError {
    /// An error without detail.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_string(),
            message: message.into(),
            detail: None,
        }
    }
    /// 400 `PARAM_ERROR` naming the offending field (JSON pointer) in `location`.
    pub fn param_at(location: &str, field: &str, issue: impl Into<String>) -> Self {
        let issue = issue.into();
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "PARAM_ERROR".into(),
            message: format!("输入源“{field}”映射到值字段“{field}”：{issue}"),
            detail: Some(json!({"field": field, "location": location, "issue": issue})),
        }
    }
    /// 400 `PARAM_ERROR` for a body field.
    pub fn param(field: &str, issue: impl Into<String>) -> Self {
        Self::param_at("body", field, issue)
    }
    /// 401 `SIGN_ERROR`.
    pub fn sign(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "SIGN_ERROR", reason)
    }
    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut v = json!({"code": self.code, "message": self.message});
        if let Some(d) = &self.detail {
            v["detail"] = d.clone();
        }
        v
    }
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for SimError {}

/// The code and message of an error response, kept in its extensions for the request log.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    /// e.g. `SIGN_ERROR`.
    pub code: String,
    /// Human text.
    pub message: String,
}

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        let info = ErrorInfo {
            code: self.code.clone(),
            message: self.message.clone(),
        };
        let mut res = (self.status, Json(self.body())).into_response();
        res.extensions_mut().insert(info);
        res
    }
}

/// A handler's result: status plus optional JSON body (`None` = 204).
pub type Reply = Result<(StatusCode, Option<Value>), SimError>;

/// A 200 with a JSON body.
pub fn ok(v: Value) -> Reply {
    Ok((StatusCode::OK, Some(v)))
}

/// Parses a request body, mapping malformed JSON to `PARAM_ERROR`.
pub fn parse_body(body: &[u8]) -> Result<Value, SimError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| SimError::param("/", format!("body is not valid JSON: {e}")))?;
    if !v.is_object() {
        return Err(SimError::param("/", "body must be a JSON object"));
    }
    Ok(v)
}

/// A required string field at `ptr` (JSON pointer), non-empty and at most `max` chars.
pub fn req_str<'a>(v: &'a Value, ptr: &str, max: usize) -> Result<&'a str, SimError> {
    match v.pointer(ptr) {
        None | Some(Value::Null) => Err(SimError::param(ptr, "is required")),
        Some(Value::String(s)) if s.is_empty() => Err(SimError::param(ptr, "must not be empty")),
        Some(Value::String(s)) if s.chars().count() > max => Err(SimError::param(
            ptr,
            format!("longer than {max} characters"),
        )),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(SimError::param(ptr, "must be a string")),
    }
}

/// An optional string field at `ptr`.
pub fn opt_str<'a>(v: &'a Value, ptr: &str, max: usize) -> Result<Option<&'a str>, SimError> {
    match v.pointer(ptr) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => req_str(v, ptr, max).map(Some),
    }
}

/// A required positive integer (fen) at `ptr`.
pub fn req_fen(v: &Value, ptr: &str) -> Result<i64, SimError> {
    match v.pointer(ptr) {
        None | Some(Value::Null) => Err(SimError::param(ptr, "is required")),
        Some(n) => match n.as_i64() {
            Some(n) if n > 0 => Ok(n),
            _ => Err(SimError::param(ptr, "must be a positive integer (fen)")),
        },
    }
}

/// Checks a `notify_url`: https, no query string, at most `max` chars.
pub fn check_notify_url(url: &str, ptr: &str, max: usize) -> Result<(), SimError> {
    if url.chars().count() > max {
        return Err(SimError::param(
            ptr,
            format!("longer than {max} characters"),
        ));
    }
    if !url.starts_with("https://") {
        return Err(SimError::param(ptr, "must be an https URL"));
    }
    if url.contains('?') {
        return Err(SimError::param(ptr, "must not carry a query string"));
    }
    Ok(())
}

/// Turns a handler [`Reply`] into a response.
pub fn respond(reply: Reply) -> Response {
    match reply {
        Ok((status, Some(v))) => (status, axum::Json(v)).into_response(),
        Ok((status, None)) => status.into_response(),
        Err(e) => e.into_response(),
    }
}
