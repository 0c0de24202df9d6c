//! The typed request bodies of the order and refund routes. The HTTP edge parses the caller's
//! JSON into these (`http/routes.rs::dispatch`) after the credential and role checks that come
//! first, so below the edge nothing reads raw JSON; every error names the field and the rule.
//! What needs the configuration, the caller or the clock (the configured AppID, the payer,
//! an expiry in the future) is checked by `pay` on the typed value.

use serde_json::{Map, Value};

use super::input::{Input, object};
use super::service::TradeType;
use super::types::{AmountFen, FieldError, OutRefundNo, OutTradeNo, TransactionId};

/// Optional WeChat fields a caller may pass through unchanged.
const PASSTHROUGH: &[&str] = &[
    "attach",
    "goods_tag",
    "support_fapiao",
    "detail",
    "scene_info",
    "settle_info",
];

/// A field the caller may only repeat with the configured value (`appid`, `mchid`,
/// `notify_url`): what was sent, if anything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Repeated {
    field: &'static str,
    sent: Option<Value>,
}

impl Repeated {
    /// What `input` holds at `field`.
    pub fn read(input: Input<'_>, field: &'static str) -> Self {
        Self {
            field,
            sent: input.get(field).cloned(),
        }
    }

    /// Nothing sent at `field` (a request `pay` builds itself).
    pub fn absent(field: &'static str) -> Self {
        Self { field, sent: None }
    }

    /// Refuses anything but `expected` (absence is fine), saying `why`.
    pub fn must_equal(&self, expected: &str, why: &str) -> Result<(), FieldError> {
        match &self.sent {
            None => Ok(()),
            Some(Value::String(s)) if s == expected => Ok(()),
            Some(_) => Err(FieldError::new(
                self.field,
                format!("must not be set by the caller ({why})"),
            )),
        }
    }
}

/// `wxpay_order`, `wxpay_order_h5`, `wxpay_order_native`, `wxpay_order_app`.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRequest {
    /// Our order number; generated when absent.
    pub out_trade_no: Option<OutTradeNo>,
    /// What the user sees on the bill (at most 127 characters).
    pub description: String,
    /// `amount.total`.
    pub amount: AmountFen,
    /// `amount.currency` (only `CNY`).
    pub currency: String,
    /// `useServiceAccount`: order under `service_app_id`.
    pub use_service_account: bool,
    /// `appid`, `mchid`, `notify_url` as sent (only the configured values are allowed).
    pub appid: Repeated,
    /// See `appid`.
    pub mchid: Repeated,
    /// See `appid`.
    pub notify_url: Repeated,
    /// `payer.openid` (JSAPI; only the admin may name a payer).
    pub payer_openid: Option<String>,
    /// `time_expire` as sent (RFC 3339) and as Unix seconds.
    pub time_expire: Option<(String, i64)>,
    /// The pass-through fields that were present.
    pub extra: Map<String, Value>,
}

/// The `time_expire` rule, in its one wording.
pub const TIME_EXPIRE_RULE: &str =
    "must be an RFC 3339 time in the future, e.g. 2026-01-01T12:00:00+08:00";

impl OrderRequest {
    /// Parses an order body for `trade_type`.
    pub fn parse(trade_type: TradeType, body: &Value) -> Result<Self, FieldError> {
        let input = object(body)?;
        let out_trade_no = input
            .opt_str("out_trade_no", 64)?
            .map(OutTradeNo::parse)
            .transpose()?;
        let description = input.req_str("description", 127)?.to_string();
        let amount = AmountFen::from_json(
            "amount.total",
            input.get("amount.total").unwrap_or(&Value::Null),
        )?;
        let currency = input.opt_str("amount.currency", 8)?.unwrap_or("CNY");
        if currency != "CNY" {
            return Err(FieldError::new("amount.currency", "must be CNY"));
        }
        let use_service_account = input.opt_bool("useServiceAccount")?;
        let payer_openid = match trade_type {
            TradeType::Jsapi => input.opt_str("payer.openid", 128)?.map(str::to_string),
            _ => None,
        };
        if trade_type == TradeType::H5 {
            input.req_str("scene_info.payer_client_ip", 45)?;
            input.req_str("scene_info.h5_info.type", 16)?;
        }
        let extra = passthrough(input)?;
        let time_expire = match input.opt_str("time_expire", 64)? {
            None => None,
            Some(s) => {
                let t =
                    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                        .map_err(|_| FieldError::new("time_expire", TIME_EXPIRE_RULE))?;
                Some((s.to_string(), t.unix_timestamp()))
            }
        };
        Ok(Self {
            out_trade_no,
            description,
            amount,
            currency: currency.to_string(),
            use_service_account,
            appid: Repeated::read(input, "appid"),
            mchid: Repeated::read(input, "mchid"),
            notify_url: Repeated::read(input, "notify_url"),
            payer_openid,
            time_expire,
            extra,
        })
    }
}

fn passthrough(input: Input<'_>) -> Result<Map<String, Value>, FieldError> {
    input.opt_str("attach", 128)?;
    input.opt_str("goods_tag", 32)?;
    input.opt_bool("support_fapiao")?;
    for f in ["detail", "scene_info", "settle_info"] {
        input.opt_json(f)?;
    }
    let mut extra = Map::new();
    for f in PASSTHROUGH {
        if let Some(v) = input.get(f) {
            extra.insert((*f).into(), v.clone());
        }
    }
    Ok(extra)
}

/// `wxpay_query_order_by_out_trade_no`, `wxpay_close_order`, `wxpay_order_view`: an order by
/// our number, with the `order_token` of a web order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLookup {
    /// The order.
    pub out_trade_no: OutTradeNo,
    /// The token returned when the order was placed (opens it without an identity).
    pub order_token: Option<String>,
}

impl OrderLookup {
    /// Parses `{out_trade_no, order_token?}`.
    pub fn parse(body: &Value) -> Result<Self, FieldError> {
        let input = object(body)?;
        Ok(Self {
            out_trade_no: OutTradeNo::parse(input.req_str("out_trade_no", 64)?)?,
            order_token: input.opt_str("order_token", 128)?.map(str::to_string),
        })
    }
}

/// `wxpay_query_order_by_transaction_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionLookup {
    /// WeChat's transaction id.
    pub transaction_id: TransactionId,
}

impl TransactionLookup {
    /// Parses `{transaction_id}`.
    pub fn parse(body: &Value) -> Result<Self, FieldError> {
        let input = object(body)?;
        Ok(Self {
            transaction_id: TransactionId::parse(input.req_str("transaction_id", 64)?)?,
        })
    }
}

/// `wxpay_refund`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    /// Our refund number.
    pub out_refund_no: OutRefundNo,
    /// The order by our number …
    pub out_trade_no: Option<OutTradeNo>,
    /// … or by WeChat's transaction id (one of the two is required).
    pub transaction_id: Option<String>,
    /// `amount.refund`.
    pub amount: Option<AmountFen>,
    /// `amount.total`.
    pub total: Option<AmountFen>,
    /// Shown to the user (at most 80 characters).
    pub reason: Option<String>,
}

impl RefundRequest {
    /// Parses a refund body.
    pub fn parse(body: &Value) -> Result<Self, FieldError> {
        let input = object(body)?;
        let out_refund_no = OutRefundNo::parse(input.req_str("out_refund_no", 64)?)?;
        let out_trade_no = input
            .opt_str("out_trade_no", 64)?
            .map(OutTradeNo::parse)
            .transpose()?;
        let transaction_id = input.opt_str("transaction_id", 32)?.map(str::to_string);
        if out_trade_no.is_none() && transaction_id.is_none() {
            return Err(FieldError::new(
                "out_trade_no",
                "or transaction_id is required",
            ));
        }
        let amount = input
            .get("amount.refund")
            .map(|v| AmountFen::from_json("amount.refund", v))
            .transpose()?;
        let total = input
            .get("amount.total")
            .map(|v| AmountFen::from_json("amount.total", v))
            .transpose()?;
        Ok(Self {
            out_refund_no,
            out_trade_no,
            transaction_id,
            amount,
            total,
            reason: input.opt_str("reason", 80)?.map(str::to_string),
        })
    }
}

/// `wxpay_refund_query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundLookup {
    /// Our refund number.
    pub out_refund_no: OutRefundNo,
}

impl RefundLookup {
    /// Parses `{out_refund_no}`.
    pub fn parse(body: &Value) -> Result<Self, FieldError> {
        let input = object(body)?;
        Ok(Self {
            out_refund_no: OutRefundNo::parse(input.req_str("out_refund_no", 64)?)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn order_errors_name_the_field_and_the_rule() {
        let base = json!({ "description": "Tea", "amount": { "total": 20 } });
        let ok = OrderRequest::parse(TradeType::Jsapi, &base).unwrap();
        assert_eq!((ok.amount.fen(), ok.currency.as_str()), (20, "CNY"));
        let cases = [
            (
                json!({ "amount": { "total": 20 } }),
                "description is required",
            ),
            (
                json!({ "description": "Tea", "amount": { "total": 0 } }),
                "amount.total must be a positive integer (fen)",
            ),
            (
                json!({ "description": "Tea", "amount": { "total": 1 }, "time_expire": "tomorrow" }),
                "time_expire must be an RFC 3339 time in the future, e.g. 2026-01-01T12:00:00+08:00",
            ),
        ];
        for (body, expected) in cases {
            let err = OrderRequest::parse(TradeType::Jsapi, &body).unwrap_err();
            assert_eq!(err.to_string(), expected);
        }
        let h5 = OrderRequest::parse(TradeType::H5, &base).unwrap_err();
        assert_eq!(h5.field, "scene_info.payer_client_ip");
        let mchid = json!({ "description": "Tea", "amount": { "total": 1 }, "mchid": 7 });
        let req = OrderRequest::parse(TradeType::Native, &mchid).unwrap();
        assert_eq!(
            req.mchid
                .must_equal("1900000001", "from the configuration")
                .unwrap_err()
                .field,
            "mchid"
        );
    }

    #[test]
    fn refunds_need_an_order_and_typed_amounts() {
        let err = RefundRequest::parse(&json!({ "out_refund_no": "R1" })).unwrap_err();
        assert_eq!(
            err.to_string(),
            "out_trade_no or transaction_id is required"
        );
        let r = RefundRequest::parse(
            &json!({ "out_refund_no": "R1", "transaction_id": "4200", "amount": { "refund": 5 } }),
        )
        .unwrap();
        assert_eq!((r.amount.map(AmountFen::fen), r.total), (Some(5), None));
    }
}
