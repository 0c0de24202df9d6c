//! Who is calling: the platform-injected `x-wx-openid` (the header always wins over any openid in
//! the body) and the admin credential (`x-pay-common-admin-token` or `Authorization: Bearer`),
//! compared in constant time.

use axum::http::{HeaderMap, StatusCode};

use super::envelope::ApiError;
use crate::config::Config;
use crate::pay::payments::Caller;
use crate::pay::types::OpenId;
use crate::wechatpay::crypto::constant_time_eq;

/// Header the platform injects with the user's openid.
pub const OPENID_HEADER: &str = "x-wx-openid";
/// Header carrying the admin credential.
pub const ADMIN_HEADER: &str = "x-pay-common-admin-token";

fn presented_token(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get(ADMIN_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(v.trim());
    }
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Establishes the caller. A wrong admin credential is an error, not a silent downgrade.
pub fn caller(headers: &HeaderMap, config: &Config) -> Result<Caller, ApiError> {
    let openid = match headers
        .get(OPENID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
    {
        None | Some("") => None,
        Some(v) => Some(OpenId::parse(v).map_err(|e| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                format!("x-wx-openid header {}", e.rule),
            )
        })?),
    };
    let admin = match presented_token(headers) {
        None => false,
        Some(token) => {
            let valid = config
                .admin_token
                .as_ref()
                .is_some_and(|t| constant_time_eq(t.expose().as_bytes(), token.as_bytes()));
            if !valid {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "INVALID_ADMIN_TOKEN",
                    "the admin credential is not valid",
                ));
            }
            true
        }
    };
    Ok(Caller { openid, admin })
}
