//! Who is calling. Identity sources, in the order they are read:
//! - `Authorization: Bearer <JWT>` (CloudBase Auth via the HTTP cloud API): openid = `provider_sub`
//!   (see `jwt`); turned off with `authTokenIdentity=off`.
//! - `x-wx-openid`, injected by `wx.cloud.callHTTPFunction` / `callContainer`.
//!
//! When both are present they must name the same openid, otherwise the call is refused
//! (401 `IDENTITY_CONFLICT`): neither silently wins. The admin credential is the
//! `x-pay-common-admin-token` header, or a Bearer value that is not a JWT and equals the
//! configured token (compared in constant time). A JWT is never an admin attempt.

use axum::http::{HeaderMap, StatusCode};

use super::envelope::ApiError;
use super::jwt;
use crate::config::Config;
use crate::pay::payments::Caller;
use crate::pay::types::OpenId;
use crate::wechatpay::crypto::constant_time_eq;

/// Header the platform injects with the user's openid.
pub const OPENID_HEADER: &str = "x-wx-openid";
/// Header carrying the admin credential.
pub const ADMIN_HEADER: &str = "x-pay-common-admin-token";

fn header(headers: &HeaderMap, name: impl axum::http::header::AsHeaderName) -> Option<&str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    header(headers, axum::http::header::AUTHORIZATION)
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn unauthenticated(msg: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", msg)
}

/// An identity header sent twice is ambiguous (which one did the platform inject?): refused.
fn refuse_duplicates(headers: &HeaderMap) -> Result<(), ApiError> {
    let names = [
        OPENID_HEADER,
        ADMIN_HEADER,
        axum::http::header::AUTHORIZATION.as_str(),
    ];
    match names
        .iter()
        .find(|n| headers.get_all(**n).iter().nth(1).is_some())
    {
        None => Ok(()),
        Some(name) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "DUPLICATE_HEADER",
            format!("the {name} header must appear at most once"),
        )),
    }
}

/// Establishes the caller. A wrong admin credential or a bad token is an error, not a silent
/// downgrade. `now` is Unix seconds (for `exp`).
pub fn caller(headers: &HeaderMap, config: &Config, now: i64) -> Result<Caller, ApiError> {
    refuse_duplicates(headers)?;
    let header_openid = match header(headers, OPENID_HEADER) {
        None => None,
        Some(v) => Some(
            OpenId::parse(v)
                .map_err(|e| unauthenticated(format!("x-wx-openid header {}", e.rule)))?,
        ),
    };
    let bearer = bearer(headers);
    let jwt = bearer.filter(|b| jwt::looks_like_jwt(b));
    let token_openid = match jwt {
        Some(token) if config.auth_token_identity => {
            let sub = jwt::openid(token, config.auth_jwks.as_deref(), now).map_err(|e| {
                ApiError::new(StatusCode::UNAUTHORIZED, "INVALID_TOKEN", e.to_string())
            })?;
            Some(OpenId::parse(&sub).map_err(|e| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "INVALID_TOKEN",
                    format!("the Bearer token's provider_sub {}", e.rule),
                )
            })?)
        }
        _ => None,
    };
    let openid = match (token_openid, header_openid) {
        (Some(t), Some(h)) if t != h => {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "IDENTITY_CONFLICT",
                "the Bearer token and the x-wx-openid header name different users; send one identity",
            ));
        }
        (t, h) => t.or(h),
    };
    let presented = header(headers, ADMIN_HEADER).or(bearer.filter(|_| jwt.is_none()));
    let admin = match presented {
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
