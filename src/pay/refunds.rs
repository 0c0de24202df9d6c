//! Refunds. Money leaves the merchant here, so: only the admin credential (or, when the
//! `owner-full` policy is on, a user asking for the full refund of their own paid order); the
//! amount is decided by the ledger, reserved before WeChat is called, and released only when
//! WeChat definitively refuses.

use serde_json::Value;

use super::error::PayError;
use super::input::object;
use super::payments::{Caller, Payments};
use super::service::{RefundDraft, ServiceError, ServiceErrorKind};
use super::types::{AmountFen, OutRefundNo, OutTradeNo};
use crate::config::RefundPolicy;
use crate::wechatpay::api;
use crate::wechatpay::client::WechatError;
use crate::wechatpay::model::{RefundBody, RefundBodyAmount, body_bytes};

/// Did WeChat definitively refuse (so nothing can have been refunded)? 4xx except 429.
pub fn is_definitive_refusal(e: &WechatError) -> bool {
    matches!(e, WechatError::Api(a) if (400..500).contains(&a.status) && a.status != 429)
}

impl Payments {
    /// Creates (or idempotently repeats) a refund.
    pub async fn refund(&self, caller: &Caller, body: &Value) -> Result<Value, PayError> {
        let (client, _) = self.ready()?;
        let draft = self.refund_draft(caller, body)?;
        let admission = self.book.reserve_refund(&draft).await?;
        let r = &admission.refund;
        if r.state == super::states::RefundState::Rejected {
            let msg = format!(
                "out_refund_no {} was refused by WeChat Pay; use a new out_refund_no",
                r.out_refund_no
            );
            return Err(ServiceError::new(
                ServiceErrorKind::Conflict,
                "OUT_REFUND_NO_REJECTED",
                msg,
            )
            .into());
        }
        let wx = RefundBody {
            out_trade_no: r.out_trade_no.clone(),
            out_refund_no: r.out_refund_no.clone(),
            reason: draft.reason.clone(),
            notify_url: self.config.notify_refund_url.clone(),
            amount: RefundBodyAmount {
                refund: r.amount,
                total: r.order_total,
                currency: "CNY".into(),
            },
        };
        let request = api::CreateRefund {
            body: body_bytes(&wx),
        };
        let out_refund_no = OutRefundNo::parse(r.out_refund_no.clone())?;
        match client.execute(&request).await {
            Ok(answer) => {
                self.book.refund_accepted(&answer.data).await?;
                tracing::info!(out_refund_no = %out_refund_no, out_trade_no = %r.out_trade_no, amount = r.amount, "refund accepted");
                Ok(answer.json())
            }
            Err(e) if is_definitive_refusal(&e) => {
                self.book
                    .refund_rejected(&out_refund_no, &e.to_string())
                    .await?;
                Err(e.into())
            }
            Err(e) => {
                // Outcome unknown: keep the reservation; a retry with the same out_refund_no or
                // reconciliation settles it.
                tracing::warn!(out_refund_no = %out_refund_no, error = %e, "refund outcome unknown; reservation kept");
                Err(e.into())
            }
        }
    }

    fn refund_draft(&self, caller: &Caller, body: &Value) -> Result<RefundDraft, PayError> {
        let input = object(body)?;
        let owner_policy = self.config.refund_policy == RefundPolicy::OwnerFull;
        let owner_may_refund = owner_policy && caller.openid.is_some();
        if !caller.admin && !owner_may_refund {
            self.require_admin(caller, "refunding")?;
        }
        let out_refund_no = OutRefundNo::parse(input.req_str("out_refund_no", 64)?)?;
        let out_trade_no = input
            .opt_str("out_trade_no", 64)?
            .map(OutTradeNo::parse)
            .transpose()?;
        let transaction_id = input.opt_str("transaction_id", 32)?.map(str::to_string);
        if out_trade_no.is_none() && transaction_id.is_none() {
            return Err(super::types::FieldError::new(
                "out_trade_no",
                "or transaction_id is required",
            )
            .into());
        }
        let amount = input
            .get("amount.refund")
            .map(|v| AmountFen::from_json("amount.refund", v))
            .transpose()?;
        let caller_total = input
            .get("amount.total")
            .map(|v| AmountFen::from_json("amount.total", v))
            .transpose()?;
        if caller.admin && amount.is_none() {
            return Err(super::types::FieldError::new("amount.refund", "is required (fen)").into());
        }
        // A user (owner-full policy) always refunds everything left; an amount they name must
        // be the order's full total, which the ledger checks like a caller-supplied total.
        let (amount, caller_total) = if caller.admin {
            (amount, caller_total)
        } else {
            (None, amount.or(caller_total))
        };
        Ok(RefundDraft {
            out_refund_no,
            out_trade_no,
            transaction_id,
            amount,
            caller_total,
            reason: input.opt_str("reason", 80)?.map(str::to_string),
            actor: caller.actor(),
        })
    }

    /// Queries a refund (admin, or the owner of the refunded order).
    pub async fn refund_query(&self, caller: &Caller, body: &Value) -> Result<Value, PayError> {
        let (client, _) = self.ready()?;
        let no = OutRefundNo::parse(object(body)?.req_str("out_refund_no", 64)?)?;
        if !caller.admin {
            let refund = self.book.find_refund(&no).await?;
            let order = match refund {
                Some(r) => {
                    self.book
                        .find_order(&OutTradeNo::parse(r.out_trade_no)?)
                        .await?
                }
                None => None,
            };
            self.check_owner(caller, order, &format!("refund {no}"))?;
        }
        let answer = client
            .execute(&api::QueryRefund {
                out_refund_no: no.to_string(),
            })
            .await?;
        Ok(answer.json())
    }
}
