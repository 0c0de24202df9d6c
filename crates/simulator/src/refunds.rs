//! Refunds: create and query, with WeChat's rules (paid orders only, `amount.total` equal to
//! the order total, the sum of live refunds never above it, one refund per `out_refund_no`)
//! and the state machine PROCESSING → SUCCESS / ABNORMAL / CLOSED, ABNORMAL → SUCCESS / CLOSED.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::Value;

use super::api::{self, Reply, SimError, ok, opt_str, req_fen, req_str, respond};
use super::records::{RefundRecord, RefundView};
use super::state::{Shared, Sim, later};
use super::{callbacks, ids};

fn not_exists() -> SimError {
    SimError::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "订单不存在")
}

/// A validated refund request.
struct RefundRequest {
    out_refund_no: String,
    by_txn: Option<String>,
    by_out: Option<String>,
    refund: i64,
    total: i64,
    notify_url: Option<String>,
}

fn parse_refund(v: &Value) -> Result<RefundRequest, SimError> {
    let out_refund_no = req_str(v, "/out_refund_no", 64)?;
    if !out_refund_no
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-|*@".contains(c))
    {
        return Err(SimError::param(
            "/out_refund_no",
            "must be [0-9A-Za-z_-|*@]",
        ));
    }
    let by_txn = opt_str(v, "/transaction_id", 32)?.map(str::to_string);
    let by_out = opt_str(v, "/out_trade_no", 32)?.map(str::to_string);
    if by_txn.is_none() && by_out.is_none() {
        return Err(SimError::param(
            "/out_trade_no",
            "transaction_id or out_trade_no is required",
        ));
    }
    let refund = req_fen(v, "/amount/refund")?;
    let total = req_fen(v, "/amount/total")?;
    if req_str(v, "/amount/currency", 16)? != "CNY" {
        return Err(SimError::param("/amount/currency", "only CNY is supported"));
    }
    opt_str(v, "/reason", 80)?;
    let notify_url = opt_str(v, "/notify_url", 256)?.map(str::to_string);
    if let Some(url) = &notify_url {
        api::check_notify_url(url, "/notify_url", 256)?;
    }
    Ok(RefundRequest {
        out_refund_no: out_refund_no.to_string(),
        by_txn,
        by_out,
        refund,
        total,
        notify_url,
    })
}

impl Sim {
    fn create_refund(self: &Shared, body: &[u8]) -> Reply {
        let req = parse_refund(&api::parse_body(body)?)?;
        let mut store = self.store();
        if let Some(existing) = store.refunds.get(&req.out_refund_no) {
            return ok(existing.to_json());
        }
        let order = store
            .orders
            .values_mut()
            .find(|o| {
                req.by_out.as_ref().is_none_or(|n| *n == o.out_trade_no)
                    && req
                        .by_txn
                        .as_ref()
                        .is_none_or(|t| o.transaction_id.as_ref() == Some(t))
            })
            .filter(|o| matches!(o.state, "SUCCESS" | "REFUND"))
            .ok_or_else(not_exists)?;
        if req.total != order.total {
            return Err(SimError::param(
                "/amount/total",
                "does not equal the order total",
            ));
        }
        if req.refund > order.total - order.refunded {
            // Protocol notes §7: INVALID_REQUEST is the business-rule rejection; NOT_ENOUGH is
            // reserved for the merchant's own refundable balance.
            return Err(SimError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                "申请退款金额超过订单可退金额",
            ));
        }
        order.refunded += req.refund;
        order.state = "REFUND";
        let record = RefundRecord {
            out_refund_no: req.out_refund_no.clone(),
            refund_id: format!("50{}", ids::digits(27)),
            out_trade_no: order.out_trade_no.clone(),
            transaction_id: order.transaction_id.clone().unwrap_or_default(),
            status: "PROCESSING",
            total: req.total,
            refund: req.refund,
            notify_url: req.notify_url,
            create_time: self.now(),
            success_time: None,
        };
        let answer = record.to_json();
        store.refunds.insert(req.out_refund_no.clone(), record);
        drop(store);
        later(self, self.cfg.auto_refund_after, move |sim| {
            let _ = sim.complete_refund(&req.out_refund_no, "SUCCESS");
        });
        ok(answer)
    }

    /// Finishes a refund with `SUCCESS`, `ABNORMAL` or `CLOSED` and sends `REFUND.<status>`.
    pub fn complete_refund(
        self: &Shared,
        out_refund_no: &str,
        status: &str,
    ) -> Result<RefundView, SimError> {
        let status: &'static str = match status {
            "SUCCESS" => "SUCCESS",
            "ABNORMAL" => "ABNORMAL",
            "CLOSED" => "CLOSED",
            _ => {
                return Err(SimError::param(
                    "/status",
                    "must be SUCCESS, ABNORMAL or CLOSED",
                ));
            }
        };
        let mut store = self.store();
        let r = store
            .refunds
            .get_mut(out_refund_no)
            .ok_or_else(not_exists)?;
        let allowed = matches!(
            (r.status, status),
            ("PROCESSING", _) | ("ABNORMAL", "SUCCESS" | "CLOSED")
        );
        if !allowed {
            let msg = format!("refund is {}, cannot become {status}", r.status);
            return Err(SimError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                msg,
            ));
        }
        let stale = r.notify_json(&self.cfg.mchid);
        r.status = status;
        if status == "SUCCESS" {
            r.success_time = Some(self.now());
        }
        let (r, order_no) = (r.clone(), r.out_trade_no.clone());
        if status == "CLOSED"
            && let Some(o) = store.orders.get_mut(&order_no)
        {
            o.refunded -= r.refund;
        }
        drop(store);
        if let Some(url) = &r.notify_url {
            let summary = match status {
                "SUCCESS" => "退款成功",
                "ABNORMAL" => "退款异常",
                _ => "退款关闭",
            };
            let event = format!("REFUND.{status}");
            let n =
                callbacks::Notice::new(&event, summary, "refund", r.notify_json(&self.cfg.mchid));
            callbacks::spawn(self, url, n.with_stale(stale));
        }
        Ok(r.view())
    }
}

/// The refund routes.
pub fn router() -> Router<Shared> {
    Router::new()
        .route("/v3/refund/domestic/refunds", post(create))
        .route("/v3/refund/domestic/refunds/{out_refund_no}", get(query))
}

/// 退款申请 — <https://pay.weixin.qq.com/docs/merchant/apis/jsapi-payment/create.html>.
async fn create(State(sim): State<Shared>, body: Bytes) -> Response {
    respond(sim.create_refund(&body))
}

/// 查询单笔退款（按商户退款单号） —
/// <https://pay.weixin.qq.com/docs/merchant/apis/jsapi-payment/query-by-out-refund-no.html>.
async fn query(State(sim): State<Shared>, Path(no): Path<String>) -> Response {
    let store = sim.store();
    respond(
        store
            .refunds
            .get(&no)
            .map(|r| r.to_json())
            .ok_or_else(not_exists)
            .and_then(ok),
    )
}
