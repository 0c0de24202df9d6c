//! Ordering (JSAPI, APP, H5, Native), querying and closing. An order is recorded before WeChat
//! is called; an identical repeat reuses the stored prepay (WeChat keeps it 2 hours) or resends
//! the stored body byte for byte; a different order under the same number is refused.

use serde_json::{Value, json};

use super::error::PayError;
use super::payments::{Caller, Payments};
use super::requests::{OrderRequest, TIME_EXPIRE_RULE};
use super::rules::order_fingerprint;
use super::service::{OrderAdmission, OrderDraft, OrderState, Prepay, TradeType};
use super::types::{FieldError, OutTradeNo};
use crate::wechatpay::client::{Client, WechatError};
use crate::wechatpay::crypto::{NONCE_LEN, random_alphanumeric};
use crate::wechatpay::model::{OrderAmount, OrderBody, Payer};
use crate::wechatpay::{api, invoke};

/// A prepay is reused while younger than this (WeChat keeps it 2 hours; keep a margin).
pub const PREPAY_REUSE_SECS: i64 = 2 * 3600 - 300;

/// `pc` + Unix seconds + 14 random alphanumerics: unique, 26 characters, valid for WeChat.
pub fn generate_out_trade_no(now: i64) -> OutTradeNo {
    OutTradeNo::parse(format!("pc{now}{}", random_alphanumeric(14)))
        .expect("generated number is valid")
}

fn rfc3339_cst(ts: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(ts).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.to_offset(time::macros::offset!(+8))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The order's expiry (Unix seconds) and, when the caller chose it, their RFC 3339 text.
fn expiry(p: &Payments, req: &OrderRequest, now: i64) -> Result<(i64, Option<String>), FieldError> {
    match &req.time_expire {
        None => Ok((now + p.config.order_expiry.as_secs() as i64, None)),
        Some((_, t)) if *t <= now => Err(FieldError::new("time_expire", TIME_EXPIRE_RULE)),
        Some((text, t)) => Ok((*t, Some(text.clone()))),
    }
}

impl Payments {
    /// Places an order of `trade_type` for the caller and returns the client payload.
    pub async fn place_order(
        &self,
        caller: &Caller,
        trade_type: TradeType,
        req: &OrderRequest,
    ) -> Result<Value, PayError> {
        let (client, creds) = self.ready()?;
        let (draft, payer) = self.order_draft(caller, trade_type, req, &creds.mchid)?;
        let admission = self.book.record_order(&draft).await?;
        let prepay = match admission {
            OrderAdmission::Existing { state, .. } if !state.is_pending() => {
                return Err(refused_state(&draft.out_trade_no, state));
            }
            OrderAdmission::Existing {
                prepay: Some(p), ..
            } if self.now() - p.created_at < PREPAY_REUSE_SECS => p,
            OrderAdmission::Existing { request_body, .. } => {
                self.send_order(client, &draft, request_body).await?
            }
            OrderAdmission::New => {
                self.send_order(client, &draft, draft.request_body.clone())
                    .await?
            }
        };
        tracing::info!(out_trade_no = %draft.out_trade_no, trade_type = trade_type.as_str(), payer = payer.as_deref().map(super::types::mask), "order placed");
        Ok(self.invoke_payload(client, &draft, &prepay))
    }

    fn order_draft(
        &self,
        caller: &Caller,
        trade_type: TradeType,
        req: &OrderRequest,
        mchid: &str,
    ) -> Result<(OrderDraft, Option<String>), PayError> {
        let now = self.now();
        let out_trade_no = req
            .out_trade_no
            .clone()
            .unwrap_or_else(|| generate_out_trade_no(now));
        let (amount, currency, description) = (req.amount, req.currency.as_str(), &req.description);
        let appid = self.appid_for(req.use_service_account, &req.appid)?;
        req.mchid
            .must_equal(mchid, "the merchant id comes from the configuration")?;
        let notify_url = self.config.notify_pay_url.clone().unwrap_or_default();
        req.notify_url
            .must_equal(&notify_url, "callbacks go to notifyURLPayURL")?;
        let payer = self.payer(caller, req, trade_type)?;
        let extra = req.extra.clone();
        let (expires_at, caller_expiry) = expiry(self, req, now)?;
        let mut fingerprint_extra = extra.clone();
        if let Some(e) = &caller_expiry {
            fingerprint_extra.insert("time_expire".into(), e.clone().into());
        }
        let owner = caller.openid.clone().or_else(|| {
            payer
                .as_deref()
                .and_then(|p| super::types::OpenId::parse(p).ok())
        });
        let fingerprint = order_fingerprint(
            trade_type,
            appid,
            owner.as_ref().map(|o| o.as_str()),
            amount,
            currency,
            description,
            &Value::Object(fingerprint_extra),
        );
        let wx = OrderBody {
            appid: appid.into(),
            mchid: mchid.into(),
            description: description.clone(),
            out_trade_no: out_trade_no.to_string(),
            time_expire: caller_expiry.unwrap_or_else(|| rfc3339_cst(expires_at)),
            notify_url,
            amount: OrderAmount {
                total: amount.fen(),
                currency: currency.into(),
            },
            payer: payer.clone().map(|openid| Payer { openid }),
            extra,
        };
        let draft = OrderDraft {
            out_trade_no,
            trade_type,
            appid: appid.into(),
            mchid: mchid.into(),
            owner,
            amount,
            currency: currency.into(),
            description: description.into(),
            expires_at,
            fingerprint,
            request_body: serde_json::to_string(&wx).expect("request bodies serialise"),
        };
        Ok((draft, payer))
    }

    /// JSAPI needs a payer: the `x-wx-openid` header wins; only an admin may name one in the body.
    /// APP, H5 and Native orders have no payer and may be placed anonymously (from an H5 page
    /// on an allowed origin, say): no money leaves the merchant, and only the admin can then
    /// query or close an order without an owner.
    fn payer(
        &self,
        caller: &Caller,
        req: &OrderRequest,
        trade_type: TradeType,
    ) -> Result<Option<String>, PayError> {
        if trade_type != TradeType::Jsapi {
            return Ok(None);
        }
        if let Some(o) = &caller.openid {
            return Ok(Some(o.to_string()));
        }
        match (caller.admin, req.payer_openid.as_deref()) {
            (true, Some(o)) => Ok(Some(super::types::OpenId::parse(o)?.to_string())),
            (true, None) => Err(FieldError::new(
                "payer.openid",
                "is required when ordering with the admin credential",
            )
            .into()),
            (false, _) => Err(PayError::Unauthenticated(
                "a JSAPI order needs the payer's identity: the x-wx-openid header (wx.cloud.callHTTPFunction) or Authorization: Bearer <CloudBase access token>".into(),
            )),
        }
    }

    async fn send_order(
        &self,
        client: &Client,
        draft: &OrderDraft,
        body: String,
    ) -> Result<Prepay, PayError> {
        let body = body.into_bytes();
        let created_at = self.now();
        let prepay = match draft.trade_type {
            TradeType::Jsapi => client
                .execute(&api::JsapiOrder { body })
                .await
                .map(|v| Prepay {
                    prepay_id: Some(v.data.prepay_id),
                    ..Default::default()
                }),
            TradeType::App => client
                .execute(&api::AppOrder { body })
                .await
                .map(|v| Prepay {
                    prepay_id: Some(v.data.prepay_id),
                    ..Default::default()
                }),
            TradeType::H5 => client
                .execute(&api::H5Order { body })
                .await
                .map(|v| Prepay {
                    h5_url: Some(v.data.h5_url),
                    ..Default::default()
                }),
            TradeType::Native => client
                .execute(&api::NativeOrder { body })
                .await
                .map(|v| Prepay {
                    code_url: Some(v.data.code_url),
                    ..Default::default()
                }),
        };
        let prepay = Prepay {
            created_at,
            ..prepay.map_err(|e| log_wechat(e, draft))?
        };
        self.book.order_placed(draft, &prepay).await?;
        Ok(prepay)
    }

    fn invoke_payload(&self, client: &Client, draft: &OrderDraft, prepay: &Prepay) -> Value {
        let now = self.now();
        let nonce = random_alphanumeric(NONCE_LEN);
        let key = &self
            .config
            .credentials
            .as_ref()
            .expect("ready() checked credentials")
            .private_key;
        let mut payload = match draft.trade_type {
            TradeType::Jsapi => {
                let id = prepay.prepay_id.as_deref().unwrap_or_default();
                serde_json::to_value(invoke::jsapi(key, &draft.appid, id, now, &nonce))
            }
            TradeType::App => {
                let id = prepay.prepay_id.as_deref().unwrap_or_default();
                serde_json::to_value(invoke::app(
                    key,
                    &draft.appid,
                    client.mchid(),
                    id,
                    now,
                    &nonce,
                ))
            }
            TradeType::H5 => Ok(json!({ "h5_url": prepay.h5_url })),
            TradeType::Native => Ok(json!({ "code_url": prepay.code_url })),
        }
        .unwrap_or_default();
        payload["out_trade_no"] = draft.out_trade_no.as_str().into();
        if let Some(t) = self.order_token(&draft.out_trade_no) {
            payload["order_token"] = t.into();
        }
        payload
    }
}

pub(super) fn refused_state(no: &OutTradeNo, state: OrderState) -> PayError {
    use super::service::{ServiceError, ServiceErrorKind::Conflict};
    let (code, what) = match state {
        OrderState::Paid | OrderState::Refunded => ("ORDERPAID", "is already paid"),
        OrderState::Closed => (
            "ORDER_CLOSED",
            "is closed; place a new order with a new out_trade_no",
        ),
        _ => (
            "ORDER_STATE_CONFLICT",
            "cannot be changed in its current state",
        ),
    };
    PayError::Service(ServiceError::new(
        Conflict,
        code,
        format!("order {no} {what} ({})", state.as_str()),
    ))
}

fn log_wechat(e: WechatError, draft: &OrderDraft) -> WechatError {
    tracing::warn!(out_trade_no = %draft.out_trade_no, error = %e, "WeChat Pay refused or failed the order");
    e
}
