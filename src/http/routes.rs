//! The `/wx-pay/<route>` table and the legacy dispatch (`_action`, or body `path`) that lands on
//! the same table. Every route is a POST with a JSON body.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::envelope::{ApiError, ok};
use crate::pay::payments::{Caller, Payments};
use crate::pay::requests::{
    OrderLookup, OrderRequest, RefundLookup, RefundRequest, TransactionLookup,
};
use crate::pay::service::TradeType;
use crate::pay::transfer_requests::{BillLookup, ClaimRequest, TransferLookup, TransferRequest};

/// Every route name the table answers (for the unknown-route message and the README).
pub const ROUTES: &[&str] = &[
    "wxpay_order",
    "wxpay_order_h5",
    "wxpay_order_native",
    "wxpay_order_app",
    "wxpay_query_order_by_out_trade_no",
    "wxpay_query_order_by_transaction_id",
    "wxpay_close_order",
    "wxpay_order_view",
    "wxpay_refund",
    "wxpay_refund_query",
    "wxpay_transfer",
    "wxpay_transfer_bill_query",
    "wxpay_transfer_bill_query_by_no",
    "wxpay_transfer_batch_query",
    "wxpay_transfer_cancel",
];

/// Callback route names (handled by `callbacks`).
pub const TRIGGERS: &[&str] = &["unifiedOrderTrigger", "refundTrigger", "transferTrigger"];

/// Normalises a legacy action name: `wxpay_order`, `/wx-pay/wxpay_order` or a full URL path.
pub fn action_name(raw: &str) -> &str {
    let trimmed = raw.trim().trim_end_matches('/');
    match trimmed.rfind("/wx-pay/") {
        Some(i) => &trimmed[i + "/wx-pay/".len()..],
        None => trimmed.rsplit('/').next().unwrap_or(trimmed),
    }
}

/// The unknown-route answer, as the old function gave it.
pub fn unsupported(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "UNSUPPORTED_ACTION",
        format!("unsupported action: {name}"),
    )
}

/// Runs one route for one caller. The body is parsed here, at the edge, into the route's typed
/// request, after the checks that come first (WeChat credentials for the routes that call
/// WeChat, the role for refunds and the admin's transfer routes, the payee's identity for a
/// payout claim), so a refusal names the most basic problem.
pub async fn dispatch(
    pay: &Payments,
    route: &str,
    caller: &Caller,
    body: &Value,
) -> Result<Response, ApiError> {
    let trade_type = match route {
        "wxpay_order" => Some(TradeType::Jsapi),
        "wxpay_order_h5" => Some(TradeType::H5),
        "wxpay_order_native" => Some(TradeType::Native),
        "wxpay_order_app" => Some(TradeType::App),
        _ => None,
    };
    if let Some(tt) = trade_type {
        pay.ready()?;
        let payload = pay
            .place_order(caller, tt, &OrderRequest::parse(tt, body)?)
            .await?;
        return Ok(ok(200, Some(payload)));
    }
    let payload = match route {
        "wxpay_query_order_by_out_trade_no" => {
            pay.ready()?;
            pay.order_query(caller, &OrderLookup::parse(body)?).await
        }
        "wxpay_query_order_by_transaction_id" => {
            pay.ready()?;
            let lookup = TransactionLookup::parse(body)?;
            pay.query_by_transaction_id(caller, &lookup).await
        }
        "wxpay_close_order" => {
            pay.ready()?;
            pay.order_close(caller, &OrderLookup::parse(body)?).await?;
            return Ok(ok(204, None));
        }
        "wxpay_order_view" => pay.order_view(caller, &OrderLookup::parse(body)?).await,
        "wxpay_refund" => {
            pay.ready()?;
            pay.may_refund(caller)?;
            pay.refund(caller, &RefundRequest::parse(body)?).await
        }
        "wxpay_refund_query" => {
            pay.ready()?;
            pay.refund_query(caller, &RefundLookup::parse(body)?).await
        }
        "wxpay_transfer" if caller.admin => {
            pay.ready()?;
            pay.transfer(caller, &TransferRequest::parse(body)?).await
        }
        // Without the admin credential, the payee claims from a payout allowance.
        "wxpay_transfer" => {
            pay.ready()?;
            pay.may_claim(caller)?;
            pay.claim_payout(caller, &ClaimRequest::parse(body)?).await
        }
        "wxpay_transfer_bill_query" | "wxpay_transfer_batch_query" => {
            pay.ready()?;
            pay.transfer_query(caller, &TransferLookup::parse(body)?)
                .await
        }
        "wxpay_transfer_bill_query_by_no" => {
            pay.ready()?;
            pay.may_query_by_bill_no(caller)?;
            pay.transfer_query_by_no(caller, &BillLookup::parse(body)?)
                .await
        }
        "wxpay_transfer_cancel" => {
            pay.ready()?;
            pay.may_cancel_transfer(caller)?;
            pay.transfer_cancel(caller, &TransferLookup::parse(body)?)
                .await
        }
        other => return Err(unsupported(other)),
    }?;
    Ok(ok(200, Some(payload)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_action_names_normalise() {
        assert_eq!(action_name("wxpay_order"), "wxpay_order");
        assert_eq!(action_name("/wx-pay/wxpay_refund"), "wxpay_refund");
        assert_eq!(
            action_name("https://x.example/api/wx-pay/wxpay_close_order/"),
            "wxpay_close_order"
        );
    }
}
