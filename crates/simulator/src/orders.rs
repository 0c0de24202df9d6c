//! Orders: JSAPI / APP / H5 / Native ordering, the two queries and close, with WeChat's state
//! machine NOTPAY → USERPAYING → SUCCESS / PAYERROR, NOTPAY → CLOSED, SUCCESS → REFUND.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::api::{self, Reply, SimError, ok, opt_str, req_fen, req_str};
use super::records::Order;
use super::state::{Shared, Sim, later};
use super::verify::{check_appid, check_mchid};
use super::{callbacks, ids};
use wechatpay::crypto::random_alphanumeric;
use wechatpay::model::Transaction;

pub(super) fn order_not_exist() -> SimError {
    SimError::new(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "订单不存在")
}

fn order_paid() -> SimError {
    SimError::new(StatusCode::BAD_REQUEST, "ORDERPAID", "该订单已支付")
}

fn order_closed() -> SimError {
    SimError::new(StatusCode::BAD_REQUEST, "ORDER_CLOSED", "该订单已关闭")
}

fn check_out_trade_no(s: &str) -> Result<(), SimError> {
    let ok_chars = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-|*".contains(c));
    if !(6..=32).contains(&s.len()) || !ok_chars {
        return Err(SimError::param(
            "/out_trade_no",
            "must be 6-32 characters of [0-9A-Za-z_-|*]",
        ));
    }
    Ok(())
}

fn answer_for(trade_type: &str, prepay_id: &str) -> Value {
    match trade_type {
        "NATIVE" => {
            json!({"code_url": format!("weixin://wxpay/bizpayurl?pr={}", random_alphanumeric(9))})
        }
        "MWEB" => json!({"h5_url": format!(
            "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id={prepay_id}&package={}",
            ids::digits(10))}),
        _ => json!({"prepay_id": prepay_id}),
    }
}

impl Sim {
    /// Validates an order body like WeChat, field by field, into a NOTPAY order.
    fn parse_order(&self, trade_type: &'static str, v: Value) -> Result<Order, SimError> {
        let appid = req_str(&v, "/appid", 32)?.to_string();
        check_mchid(self, &v)?;
        check_appid(self, &appid)?;
        req_str(&v, "/description", 127)?;
        let out_trade_no = req_str(&v, "/out_trade_no", 32)?.to_string();
        check_out_trade_no(&out_trade_no)?;
        let notify_url = req_str(&v, "/notify_url", 255)?.to_string();
        api::check_notify_url(&notify_url, "/notify_url", 255)?;
        let total = req_fen(&v, "/amount/total")?;
        if opt_str(&v, "/amount/currency", 16)?.is_some_and(|c| c != "CNY") {
            return Err(SimError::param("/amount/currency", "only CNY is supported"));
        }
        let attach = opt_str(&v, "/attach", 128)?.map(str::to_string);
        let expires_at = match opt_str(&v, "/time_expire", 64)? {
            None => None,
            Some(t) => Some(
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| {
                        SimError::param(
                            "/time_expire",
                            "must be RFC 3339, e.g. 2015-05-20T13:29:35+08:00",
                        )
                    })?
                    .unix_timestamp(),
            ),
        };
        let openid = match trade_type {
            "JSAPI" => Some(req_str(&v, "/payer/openid", 128)?.to_string()),
            _ => None,
        };
        if trade_type == "MWEB" {
            req_str(&v, "/scene_info/payer_client_ip", 45)?;
            req_str(&v, "/scene_info/h5_info/type", 32)?;
        }
        let answer = answer_for(trade_type, &format!("wx{}", ids::digits(32)));
        Ok(Order {
            trade_type,
            appid,
            out_trade_no,
            notify_url,
            total,
            attach,
            openid,
            request: v,
            answer,
            transaction_id: None,
            state: "NOTPAY",
            success_time: None,
            refunded: 0,
            expires_at,
        })
    }

    /// Places an order, or answers a repeat of one: the same body gets the same answer.
    pub(super) fn create_order(self: &Shared, trade_type: &'static str, body: &[u8]) -> Reply {
        let order = self.parse_order(trade_type, api::parse_body(body)?)?;
        let mut store = self.store();
        if let Some(existing) = store.orders.get(&order.out_trade_no) {
            return match existing.state {
                _ if existing.is_paid() => Err(order_paid()),
                "CLOSED" => Err(order_closed()),
                _ if existing.request == order.request && existing.trade_type == trade_type => {
                    ok(existing.answer.clone())
                }
                _ => Err(SimError::new(
                    StatusCode::FORBIDDEN,
                    "OUT_TRADE_NO_USED",
                    "商户订单号重复",
                )),
            };
        }
        let (no, answer) = (order.out_trade_no.clone(), order.answer.clone());
        store.orders.insert(no.clone(), order);
        drop(store);
        later(self, self.cfg.auto_pay_after, move |sim| {
            let _ = sim.pay(&no);
        });
        ok(answer)
    }

    /// The user pays: NOTPAY/USERPAYING → SUCCESS, then `TRANSACTION.SUCCESS`.
    pub fn pay(self: &Shared, out_trade_no: &str) -> Result<Transaction, SimError> {
        let mut store = self.store();
        let order = store
            .orders
            .get_mut(out_trade_no)
            .ok_or_else(order_not_exist)?;
        if order.state == "NOTPAY" && order.expires_at.is_some_and(|t| t < self.now()) {
            return Err(SimError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                "the order is past its time_expire and can no longer be paid",
            ));
        }
        match order.state {
            "NOTPAY" | "USERPAYING" => {}
            "CLOSED" => return Err(order_closed()),
            _ if order.is_paid() => return Err(order_paid()),
            other => {
                return Err(SimError::new(
                    StatusCode::BAD_REQUEST,
                    "INVALID_REQUEST",
                    format!("order is {other}"),
                ));
            }
        }
        order.state = "USERPAYING";
        let stale = order.to_json(&self.cfg.mchid);
        order.state = "SUCCESS";
        order.transaction_id = Some(format!("4200{}", ids::digits(24)));
        order.success_time = Some(self.now());
        order
            .openid
            .get_or_insert_with(|| format!("oSim{}", random_alphanumeric(24)));
        let now = order.to_json(&self.cfg.mchid);
        let url = order.notify_url.clone();
        drop(store);
        let n = callbacks::Notice::new(
            "TRANSACTION.SUCCESS",
            "支付成功",
            "transaction",
            now.clone(),
        );
        callbacks::spawn(self, &url, n.with_stale(stale));
        Ok(serde_json::from_value(now).unwrap_or_default())
    }

    /// The close/pay race: a payment already under way when the merchant closed the order
    /// still lands (CLOSED → SUCCESS, then `TRANSACTION.SUCCESS`), as WeChat occasionally lets
    /// one through. Only a CLOSED order.
    pub fn pay_after_close(self: &Shared, out_trade_no: &str) -> Result<Transaction, SimError> {
        {
            let mut store = self.store();
            let order = store
                .orders
                .get_mut(out_trade_no)
                .ok_or_else(order_not_exist)?;
            if order.state != "CLOSED" {
                let msg = format!("order is {}, not CLOSED", order.state);
                return Err(SimError::new(
                    StatusCode::BAD_REQUEST,
                    "INVALID_REQUEST",
                    msg,
                ));
            }
            // The payment was under way before the close: it goes on from USERPAYING.
            order.state = "USERPAYING";
        }
        self.pay(out_trade_no)
    }

    /// The user opened the cashier: NOTPAY → USERPAYING (WeChat sends no callback).
    pub fn start_paying(&self, out_trade_no: &str) -> Result<Transaction, SimError> {
        let mut store = self.store();
        let order = store
            .orders
            .get_mut(out_trade_no)
            .ok_or_else(order_not_exist)?;
        match order.state {
            "NOTPAY" | "USERPAYING" => order.state = "USERPAYING",
            "CLOSED" => return Err(order_closed()),
            _ if order.is_paid() => return Err(order_paid()),
            other => {
                let msg = format!("order is {other}");
                return Err(SimError::new(
                    StatusCode::BAD_REQUEST,
                    "INVALID_REQUEST",
                    msg,
                ));
            }
        }
        Ok(serde_json::from_value(order.to_json(&self.cfg.mchid)).unwrap_or_default())
    }

    /// The payment fails: NOTPAY/USERPAYING → PAYERROR (no callback, as on WeChat).
    pub fn fail_payment(self: &Shared, out_trade_no: &str) -> Result<Transaction, SimError> {
        let mut store = self.store();
        let order = store
            .orders
            .get_mut(out_trade_no)
            .ok_or_else(order_not_exist)?;
        match order.state {
            "NOTPAY" | "USERPAYING" => order.state = "PAYERROR",
            "CLOSED" => return Err(order_closed()),
            _ => return Err(order_paid()),
        }
        Ok(serde_json::from_value(order.to_json(&self.cfg.mchid)).unwrap_or_default())
    }

    pub(super) fn query_mchid(
        &self,
        q: &std::collections::HashMap<String, String>,
    ) -> Result<(), SimError> {
        match q.get("mchid") {
            None => Err(SimError::param_at("query", "mchid", "is required")),
            Some(m) if *m != self.cfg.mchid => Err(SimError::new(
                StatusCode::BAD_REQUEST,
                "MCH_NOT_EXISTS",
                "商户号不存在",
            )),
            Some(_) => Ok(()),
        }
    }

    pub(super) fn close_order(&self, out_trade_no: &str, body: &[u8]) -> Reply {
        let v = api::parse_body(body)?;
        check_mchid(self, &v)?;
        let mut store = self.store();
        let order = store
            .orders
            .get_mut(out_trade_no)
            .ok_or_else(order_not_exist)?;
        if order.is_paid() {
            return Err(order_paid());
        }
        order.state = "CLOSED";
        Ok((StatusCode::NO_CONTENT, None))
    }
}
