//! The admin side of unmatched money: `admin/unmatched` lists the records, newest first;
//! `admin/unmatched_resolve` resolves one, once. `refund` gives the whole payment back through
//! WeChat (refund by `transaction_id`); the refund is recorded with the resolution before WeChat
//! is called, so its callback (or reconciliation) settles it like any refund, and moves the
//! record to REFUNDED, or back to OPEN when WeChat does not refund. `attach` ties it to a
//! business order named in the note, `dismiss` closes it with a note; no money moves.

use serde_json::{Value, json};

use super::error::PayError;
use super::input::object;
use super::payments::{Caller, Payments};
use super::refunds::is_definitive_refusal;
use super::states::{UnmatchedKind, UnmatchedState};
use super::types::{FieldError, OutRefundNo};
use super::unmatched::{UnmatchedAction, UnmatchedFilter};
use crate::wechatpay::api;
use crate::wechatpay::crypto::random_alphanumeric;
use crate::wechatpay::model::{RefundBody, RefundBodyAmount, body_bytes};

/// Listing size when `limit` is not given, and its ceiling.
const LIST_DEFAULT: i64 = 100;
const LIST_MAX: i64 = 1000;
/// The longest note an admin may leave.
const NOTE_MAX: usize = 256;

impl Payments {
    /// `admin/unmatched`: records by `state` and `kind`, newest first.
    pub async fn list_unmatched(&self, caller: &Caller, body: &Value) -> Result<Value, PayError> {
        self.require_admin(caller, "listing unmatched money")?;
        let input = object(body)?;
        let state = match input.opt_str("state", 16)? {
            None => None,
            Some(s) => Some(UnmatchedState::parse(s).ok_or_else(|| {
                FieldError::new(
                    "state",
                    "must be OPEN, REFUNDING, REFUNDED, ATTACHED or DISMISSED",
                )
            })?),
        };
        let kind =
            match input.opt_str("kind", 16)? {
                None => None,
                Some(k) => Some(UnmatchedKind::parse(k).ok_or_else(|| {
                    FieldError::new("kind", "must be payment, refund or transfer")
                })?),
            };
        let limit = input.list_limit(LIST_DEFAULT, LIST_MAX)?;
        let filter = UnmatchedFilter { state, kind, limit };
        let records = self.book.unmatched(&filter).await?;
        Ok(json!({ "records": records }))
    }

    /// `admin/unmatched_resolve`: `{id, action: "refund"|"attach"|"dismiss", note?,
    /// out_refund_no?}`. Answers `{record, refund}` (`refund`: WeChat's answer, for a refund).
    pub async fn resolve_unmatched(
        &self,
        caller: &Caller,
        body: &Value,
    ) -> Result<Value, PayError> {
        self.require_admin(caller, "resolving unmatched money")?;
        let input = object(body)?;
        let id = input.req_str("id", 64)?;
        let action = UnmatchedAction::parse(input.req_str("action", 16)?)
            .ok_or_else(|| FieldError::new("action", "must be refund, attach or dismiss"))?;
        let note = input.opt_str("note", NOTE_MAX)?.map(str::trim);
        let note = note.filter(|n| !n.is_empty()).map(str::to_string);
        if note.is_none() && action != UnmatchedAction::Refund {
            let why = match action {
                UnmatchedAction::Attach => "is required to attach (name the business order)",
                _ => "is required to dismiss (say why)",
            };
            return Err(FieldError::new("note", why).into());
        }
        let out_refund_no = match input.opt_str("out_refund_no", 64)? {
            Some(no) => OutRefundNo::parse(no)?,
            None => OutRefundNo::parse(format!("UM{}", random_alphanumeric(24)))?,
        };
        if action == UnmatchedAction::Refund {
            // Nothing is resolved while WeChat cannot be asked.
            self.ready()?;
        }
        let (record, refund) = self
            .book
            .resolve_unmatched(id, action, note, &out_refund_no)
            .await?;
        let Some(refund) = refund else {
            return Ok(json!({ "record": record, "refund": null }));
        };
        let (client, _) = self.ready()?;
        let wx = RefundBody {
            transaction_id: refund.transaction_id.clone(),
            out_trade_no: String::new(),
            out_refund_no: refund.out_refund_no.clone(),
            reason: None,
            notify_url: self.config.notify_refund_url.clone(),
            amount: RefundBodyAmount {
                refund: refund.amount,
                total: refund.order_total,
                currency: "CNY".into(),
            },
        };
        let request = api::CreateRefund {
            body: body_bytes(&wx),
        };
        match client.execute(&request).await {
            Ok(answer) => {
                self.book.refund_accepted(&answer.data).await?;
                tracing::info!(unmatched_id = %record.id, out_refund_no = %out_refund_no, amount = refund.amount, "refund of unmatched money accepted");
                let record = self
                    .book
                    .find_unmatched(&record.id)
                    .await?
                    .unwrap_or(record);
                Ok(json!({ "record": record, "refund": answer.json() }))
            }
            Err(e) if is_definitive_refusal(&e) => {
                // Nothing was refunded: the record is OPEN again for another decision.
                self.book
                    .refund_rejected(&out_refund_no, &e.to_string())
                    .await?;
                Err(e.into())
            }
            Err(e) => {
                // Outcome unknown: the record stays REFUNDING; reconciliation settles it.
                tracing::warn!(unmatched_id = %record.id, out_refund_no = %out_refund_no, error = %e, "refund of unmatched money: outcome unknown");
                Err(e.into())
            }
        }
    }
}
