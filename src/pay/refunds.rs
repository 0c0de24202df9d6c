//! Refunds. Money leaves the merchant here, so: only the admin credential (or, when the
//! `owner-full` policy is on, a user asking for the full refund of their own paid order); the
//! amount is decided by the ledger, reserved before WeChat is called, and released only when
//! WeChat definitively refuses.

use serde_json::Value;

use super::error::PayError;
use super::payments::{Caller, Payments};
use super::requests::{RefundLookup, RefundRequest};
use super::service::{RefundDraft, ServiceError, ServiceErrorKind};
use super::types::{FieldError, OutRefundNo, OutTradeNo};
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
    pub async fn refund(&self, caller: &Caller, req: &RefundRequest) -> Result<Value, PayError> {
        let (client, _) = self.ready()?;
        self.may_refund(caller)?;
        let draft = self.refund_draft(caller, req)?;
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
            transaction_id: None,
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

    /// Who may ask for a refund: the admin, or (with `refundPolicy=owner-full`) a user with an
    /// identity, for their own order (the ledger checks the owner).
    pub fn may_refund(&self, caller: &Caller) -> Result<(), PayError> {
        let owner_policy = self.config.refund_policy == RefundPolicy::OwnerFull;
        if caller.admin || (owner_policy && caller.openid.is_some()) {
            Ok(())
        } else {
            self.require_admin(caller, "refunding")
        }
    }

    fn refund_draft(&self, caller: &Caller, req: &RefundRequest) -> Result<RefundDraft, PayError> {
        if caller.admin && req.amount.is_none() {
            return Err(FieldError::new("amount.refund", "is required (fen)").into());
        }
        // A user (owner-full policy) always refunds everything left; an amount they name must
        // be the order's full total, which the ledger checks like a caller-supplied total.
        let (amount, caller_total) = if caller.admin {
            (req.amount, req.total)
        } else {
            (None, req.amount.or(req.total))
        };
        Ok(RefundDraft {
            out_refund_no: req.out_refund_no.clone(),
            out_trade_no: req.out_trade_no.clone(),
            transaction_id: req.transaction_id.clone(),
            amount,
            caller_total,
            reason: req.reason.clone(),
            actor: caller.actor(),
        })
    }

    /// Queries a refund (admin, or the owner of the refunded order).
    pub async fn refund_query(
        &self,
        caller: &Caller,
        lookup: &RefundLookup,
    ) -> Result<Value, PayError> {
        let (client, _) = self.ready()?;
        let no = &lookup.out_refund_no;
        if !caller.admin {
            let refund = self.book.find_refund(no).await?;
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
