//! The records the simulator keeps, as plain data: orders, refunds and transfer bills with
//! their WeChat JSON shapes. The shared state holds them and the route modules change them;
//! neither has to import the other for the types.

use serde_json::{Value, json};

use super::ids;
use wechatpay::model::RefundAmount;

/// One simulated order.
#[derive(Debug, Clone)]
pub struct Order {
    /// JSAPI, APP, MWEB or NATIVE.
    pub trade_type: &'static str,
    /// AppID ordered under.
    pub appid: String,
    /// Merchant order number.
    pub out_trade_no: String,
    /// Where TRANSACTION.SUCCESS goes.
    pub notify_url: String,
    /// Total in fen.
    pub total: i64,
    /// Echoed once paid.
    pub attach: Option<String>,
    /// Payer (JSAPI, or assigned on payment).
    pub openid: Option<String>,
    /// The accepted body: an identical repeat returns `answer`.
    pub request: Value,
    /// The create answer.
    pub answer: Value,
    /// Set on payment.
    pub transaction_id: Option<String>,
    /// trade_state.
    pub state: &'static str,
    /// Payment time, Unix seconds.
    pub success_time: Option<i64>,
    /// Sum of refunds not CLOSED, fen.
    pub refunded: i64,
    /// `time_expire` as Unix seconds: after it the order can no longer be paid.
    pub expires_at: Option<i64>,
}

fn desc(state: &str) -> &'static str {
    match state {
        "NOTPAY" => "未支付",
        "USERPAYING" => "用户支付中",
        "SUCCESS" => "支付成功",
        "PAYERROR" => "支付失败",
        "CLOSED" => "已关闭",
        "REFUND" => "转入退款",
        _ => "",
    }
}

impl Order {
    /// The order as query and `TRANSACTION.SUCCESS` show it.
    pub fn to_json(&self, mchid: &str) -> Value {
        let paid = self.success_time.is_some();
        let mut v = json!({
            "appid": self.appid, "mchid": mchid, "out_trade_no": self.out_trade_no,
            "trade_type": self.trade_type, "trade_state": self.state,
            "trade_state_desc": desc(self.state),
            "amount": {"total": self.total, "currency": "CNY", "payer_currency": "CNY"},
        });
        if let Some(id) = &self.transaction_id {
            v["transaction_id"] = json!(id);
        }
        if paid {
            v["bank_type"] = json!("OTHERS");
            v["success_time"] = json!(ids::rfc3339(self.success_time.unwrap_or_default()));
            v["amount"]["payer_total"] = json!(self.total);
            v["attach"] = json!(self.attach.clone().unwrap_or_default());
        }
        if let Some(openid) = &self.openid {
            v["payer"] = json!({"openid": openid});
        }
        v
    }
    /// Paid (and possibly refunded since).
    pub fn is_paid(&self) -> bool {
        matches!(self.state, "SUCCESS" | "REFUND")
    }
}

/// One simulated refund.
#[derive(Debug, Clone)]
pub struct RefundRecord {
    /// Merchant refund number.
    pub out_refund_no: String,
    /// WeChat's refund id.
    pub refund_id: String,
    /// The order.
    pub out_trade_no: String,
    /// The order's transaction.
    pub transaction_id: String,
    /// PROCESSING, SUCCESS, ABNORMAL or CLOSED.
    pub status: &'static str,
    /// Order total, fen.
    pub total: i64,
    /// Refund amount, fen.
    pub refund: i64,
    /// Where REFUND.* goes, if given.
    pub notify_url: Option<String>,
    /// Unix seconds.
    pub create_time: i64,
    /// Unix seconds, once SUCCESS.
    pub success_time: Option<i64>,
}

impl RefundRecord {
    /// The refund API object (create and query answers).
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "refund_id": self.refund_id, "out_refund_no": self.out_refund_no,
            "transaction_id": self.transaction_id, "out_trade_no": self.out_trade_no,
            "channel": "ORIGINAL", "user_received_account": "支付用户零钱",
            "create_time": ids::rfc3339(self.create_time), "status": self.status,
            "funds_account": "AVAILABLE", "promotion_detail": [],
            "amount": {
                "total": self.total, "refund": self.refund, "from": [],
                "payer_total": self.total, "payer_refund": self.refund,
                "settlement_total": self.total, "settlement_refund": self.refund,
                "discount_refund": 0, "currency": "CNY",
            },
        });
        if let Some(t) = self.success_time {
            v["success_time"] = json!(ids::rfc3339(t));
        }
        v
    }

    /// The `REFUND.*` callback plaintext (state under `refund_status`).
    pub fn notify_json(&self, mchid: &str) -> Value {
        let mut v = json!({
            "mchid": mchid, "out_trade_no": self.out_trade_no,
            "transaction_id": self.transaction_id, "out_refund_no": self.out_refund_no,
            "refund_id": self.refund_id, "refund_status": self.status,
            "user_received_account": "支付用户零钱",
            "amount": {"total": self.total, "refund": self.refund,
                       "payer_total": self.total, "payer_refund": self.refund},
        });
        if let Some(t) = self.success_time {
            v["success_time"] = json!(ids::rfc3339(t));
        }
        v
    }

    /// The public summary.
    pub fn view(&self) -> RefundView {
        RefundView {
            out_refund_no: self.out_refund_no.clone(),
            refund_id: self.refund_id.clone(),
            status: self.status.to_string(),
            amount: RefundAmount {
                total: Some(self.total),
                refund: Some(self.refund),
                currency: Some("CNY".into()),
            },
        }
    }
}

/// A refund as the simulator holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundView {
    /// Our refund number.
    pub out_refund_no: String,
    /// WeChat's refund id.
    pub refund_id: String,
    /// PROCESSING, SUCCESS, ABNORMAL or CLOSED.
    pub status: String,
    /// Amounts.
    pub amount: RefundAmount,
}

/// One simulated transfer bill.
#[derive(Debug, Clone)]
pub struct Transfer {
    /// Merchant bill number.
    pub out_bill_no: String,
    /// WeChat's bill number.
    pub transfer_bill_no: String,
    /// AppID.
    pub appid: String,
    /// Payee.
    pub openid: String,
    /// Fen.
    pub amount: i64,
    /// Shown to the payee.
    pub remark: String,
    /// Transfer state.
    pub state: &'static str,
    /// For `wx.requestMerchantTransfer`.
    pub package_info: String,
    /// Set on FAIL.
    pub fail_reason: Option<String>,
    /// Where MCHTRANSFER.BILL.FINISHED goes, if given.
    pub notify_url: Option<String>,
    /// Unix seconds.
    pub create_time: i64,
    /// Unix seconds.
    pub update_time: i64,
}

impl Transfer {
    /// The query answer.
    pub fn to_json(&self, mchid: &str) -> Value {
        let mut v = json!({
            "mch_id": mchid, "out_bill_no": self.out_bill_no,
            "transfer_bill_no": self.transfer_bill_no, "appid": self.appid,
            "state": self.state, "transfer_amount": self.amount,
            "transfer_remark": self.remark, "openid": self.openid,
            "create_time": ids::rfc3339(self.create_time),
            "update_time": ids::rfc3339(self.update_time),
        });
        if let Some(r) = &self.fail_reason {
            v["fail_reason"] = json!(r);
        }
        v
    }
    /// The create answer.
    pub fn created_json(&self) -> Value {
        let mut v = json!({
            "out_bill_no": self.out_bill_no, "transfer_bill_no": self.transfer_bill_no,
            "create_time": ids::rfc3339(self.create_time), "state": self.state,
        });
        if self.state == "WAIT_USER_CONFIRM" {
            v["package_info"] = json!(self.package_info);
        }
        v
    }
}
