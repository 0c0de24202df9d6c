//! Callback endpoints: `/wx-pay/{unifiedOrderTrigger,refundTrigger,transferTrigger}` and the
//! Integration Center forwards at `/` and `/wechatpay/{order,refund,transfer}`. A body signed with
//! `Wechatpay-*` headers is verified over its raw bytes; a forward is authenticated by decryption
//! or by asking WeChat. Answers are in WeChat's format, not our envelope.

use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;

use super::envelope::callback_answer;
use super::messages::callback_message;
use crate::pay::callbacks::CallbackError;
use crate::pay::payments::Payments;
use crate::wechatpay::crypto::HEADER_SIGNATURE;
use crate::wechatpay::notify::GatewayForward;

/// Does this request carry WeChat's signature headers?
pub fn is_signed(headers: &HeaderMap) -> bool {
    headers.contains_key(HEADER_SIGNATURE)
}

/// Handles a callback of either shape and answers SUCCESS or FAIL.
pub async fn handle(pay: &Payments, headers: &HeaderMap, body: &Bytes) -> Response {
    let integration = headers
        .get("x-tcb-integration-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let result = if is_signed(headers) {
        pay.callback_signed(headers, body).await
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(v) if GatewayForward::is_forward(&v) => pay.callback_gateway(&v).await,
            Ok(_) => Err(CallbackError {
                status: 400,
                message: "neither a signed notification nor an Integration Center forward".into(),
            }),
            Err(e) => Err(CallbackError {
                status: 400,
                message: format!("body is not JSON: {e}"),
            }),
        }
    };
    if let Err(e) = &result {
        tracing::warn!(status = e.status, reason = %e.message, integration, "callback answered FAIL");
    }
    let lang = pay.config.message_language;
    callback_answer(
        result
            .map(|_| ())
            .map_err(|e| (e.status, callback_message(e.status, &e.message, lang))),
    )
}
