//! Request authentication exactly as WeChat performs it: the `Authorization` scheme and its
//! five fields, the merchant id and certificate serial, the 300-second window on the
//! simulator's clock, the SHA256withRSA signature over `METHOD\nPATH?QUERY\nTS\nNONCE\nBODY\n`
//! with the raw body bytes, and a `Wechatpay-Serial` that names a key the simulator holds.

use axum::http::{HeaderMap, StatusCode};

use serde_json::Value;

use super::api::{SimError, req_str};
use super::state::Sim;
use wechatpay::crypto::{self, HEADER_SERIAL, VerifyError};

/// What a verified request tells the handlers.
#[derive(Debug, Clone, Default)]
pub struct Authed {
    /// The request's `Wechatpay-Serial`, if it sent one.
    pub wechatpay_serial: Option<String>,
}

/// Checks one request; `target` is the path plus `?query` exactly as received.
pub fn authenticate(
    sim: &Sim,
    method: &str,
    target: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Authed, SimError> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| SimError::sign("Authorization header is missing"))?;
    let fields = crypto::parse_authorization(auth).map_err(SimError::sign)?;
    if fields.mchid != sim.cfg.mchid {
        return Err(SimError::new(
            StatusCode::BAD_REQUEST,
            "MCH_NOT_EXISTS",
            format!("商户号{}不存在", fields.mchid),
        ));
    }
    if fields.serial_no != sim.cfg.merchant_serial {
        return Err(SimError::sign(format!(
            "serial_no {} is not the merchant's API certificate serial",
            fields.serial_no
        )));
    }
    match crypto::check_timestamp(&fields.timestamp, sim.now()) {
        Ok(_) => {}
        Err(VerifyError::Expired(d)) => {
            return Err(SimError::sign(format!(
                "timestamp is {d} s away from now (limit {} s)",
                crypto::MAX_CLOCK_SKEW_SECS
            )));
        }
        Err(e) => return Err(SimError::sign(e.to_string())),
    }
    let message = crypto::request_message(
        method,
        target,
        parse_ts(&fields.timestamp),
        &fields.nonce_str,
        body,
    );
    if !sim
        .cfg
        .merchant_public_key
        .verify(&message, &fields.signature)
    {
        return Err(SimError::sign("错误的签名，验签失败"));
    }
    let wechatpay_serial = headers
        .get(HEADER_SERIAL)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    if let Some(serial) = &wechatpay_serial
        && sim.keys.private_for(serial).is_none()
    {
        return Err(SimError::param_at(
            "header",
            HEADER_SERIAL,
            format!(
                "{serial} is neither the WeChat Pay public key id nor a platform certificate serial"
            ),
        ));
    }
    Ok(Authed { wechatpay_serial })
}

/// The timestamp as signed: the merchant's own digits. `check_timestamp` already proved it is
/// a number; the message is rebuilt from the same text so leading zeros cannot sneak by.
fn parse_ts(ts: &str) -> i64 {
    ts.trim().parse().unwrap_or_default()
}

/// Checks the body's `mchid` against the merchant (`MCH_NOT_EXISTS` otherwise).
pub fn check_mchid(sim: &Sim, v: &Value) -> Result<(), SimError> {
    let mchid = req_str(v, "/mchid", 32)?;
    if mchid != sim.cfg.mchid {
        return Err(SimError::new(
            StatusCode::BAD_REQUEST,
            "MCH_NOT_EXISTS",
            "商户号不存在",
        ));
    }
    Ok(())
}

/// Checks an `appid` the merchant is bound to (`APPID_MCHID_NOT_MATCH` otherwise).
pub fn check_appid(sim: &Sim, appid: &str) -> Result<(), SimError> {
    if !sim.appid_ok(appid) {
        return Err(SimError::new(
            StatusCode::BAD_REQUEST,
            "APPID_MCHID_NOT_MATCH",
            "appid和mch_id不匹配",
        ));
    }
    Ok(())
}
