//! Unmatched money, as data: a payment, refund or transfer that WeChat reports with a verified
//! notice (or a verified query answer) and that the ledger cannot match to anything it holds:
//! a payment for an order number it never recorded, a payment for an order it had already
//! closed (the close/pay race at WeChat), a refund or a transfer it never made. Such money is
//! never acknowledged and forgotten: [`super::book::Book`] records it durably with its event
//! before WeChat hears SUCCESS, and an admin resolves it once (refund it, attach it, dismiss
//! it). The decisions of what counts as money and what is recorded are the pure functions here.

use serde::Serialize;
use serde_json::{Value, json};

use super::model::{OrderView, RefundRecord};
use super::rules::is_paid_state;
use super::states::{RefundState, UnmatchedKind, UnmatchedReason, UnmatchedState};
use crate::wechatpay::model::{Refund, Transaction, TransferBill};

/// What the ledger records for unmatched money, decided by `pay` before the port is called.
#[derive(Debug, Clone, PartialEq)]
pub struct UnmatchedDraft {
    /// Payment, refund or transfer.
    pub kind: UnmatchedKind,
    /// Why it does not match.
    pub reason: UnmatchedReason,
    /// Our side's number as WeChat reports it (`out_trade_no`, `out_refund_no`, `out_bill_no`).
    pub out_no: String,
    /// WeChat's number (`transaction_id`, `refund_id`, `transfer_bill_no`): with `kind`, the key
    /// that makes a redelivered notice record nothing new.
    pub wechat_no: String,
    /// Amount in fen (the paid total, the refund, the transfer).
    pub amount: i64,
    /// The payer (payments) or payee (transfers), when WeChat names one.
    pub openid: Option<String>,
    /// The verified object as WeChat sent it.
    pub object: Value,
    /// The outbox event written with the record.
    pub event: &'static str,
    /// The closed order a late payment was for (`PAID_AFTER_CLOSE`), for the event.
    pub order: Option<OrderView>,
}

impl UnmatchedDraft {
    /// A payment the ledger cannot apply: `closed` is the order it had already closed, `None`
    /// when the order is unknown. `None` when the transaction is not money received.
    pub fn payment(tx: &Transaction, closed: Option<&OrderView>) -> Option<Self> {
        if !is_paid_state(&tx.trade_state) {
            return None;
        }
        let (reason, event) = match closed {
            Some(_) => (UnmatchedReason::PaidAfterClose, "order.paid_after_close"),
            None => (UnmatchedReason::UnknownOrder, "payment.unmatched"),
        };
        Some(Self {
            kind: UnmatchedKind::Payment,
            reason,
            out_no: tx.out_trade_no.clone(),
            wechat_no: tx
                .transaction_id
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| tx.out_trade_no.clone()),
            amount: tx.amount.as_ref().and_then(|a| a.total).unwrap_or(0),
            openid: tx
                .payer
                .as_ref()
                .map(|p| p.openid.clone())
                .filter(|s| !s.is_empty()),
            object: json!(tx),
            event,
            order: closed.cloned(),
        })
    }

    /// A refund the ledger never made; `None` unless money went back (SUCCESS).
    pub fn refund(r: &Refund) -> Option<Self> {
        (r.status == "SUCCESS").then(|| Self {
            kind: UnmatchedKind::Refund,
            reason: UnmatchedReason::UnknownRefund,
            out_no: r.out_refund_no.clone(),
            wechat_no: non_empty(&r.refund_id, &r.out_refund_no),
            amount: r.amount.refund.unwrap_or(0),
            openid: None,
            object: json!(r),
            event: "refund.unmatched",
            order: None,
        })
    }

    /// A transfer the ledger never made; `None` unless money went out (SUCCESS).
    pub fn transfer(bill: &TransferBill) -> Option<Self> {
        (bill.state == "SUCCESS").then(|| Self {
            kind: UnmatchedKind::Transfer,
            reason: UnmatchedReason::UnknownTransfer,
            out_no: bill.out_bill_no.clone(),
            wechat_no: non_empty(&bill.transfer_bill_no, &bill.out_bill_no),
            amount: bill.transfer_amount.unwrap_or(0),
            openid: bill.openid.clone(),
            object: json!(bill),
            event: "transfer.unmatched",
            order: None,
        })
    }
}

fn non_empty(preferred: &str, fallback: &str) -> String {
    if preferred.is_empty() {
        fallback
    } else {
        preferred
    }
    .to_string()
}

/// One unmatched record as stored (the admin list, the events). Amounts in fen, times in Unix
/// seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnmatchedRecord {
    /// `um_…`.
    pub id: String,
    /// Payment, refund or transfer.
    pub kind: UnmatchedKind,
    /// Why it does not match.
    pub reason: UnmatchedReason,
    /// Our side's number as WeChat reports it.
    pub out_no: String,
    /// WeChat's number.
    pub wechat_no: String,
    /// Amount in fen.
    pub amount: i64,
    /// Payer (payments) or payee (transfers).
    pub openid: Option<String>,
    /// The verified object.
    pub object: Value,
    /// Where it stands.
    pub state: UnmatchedState,
    /// The admin's note (the business order it was attached to, why it was dismissed).
    pub note: Option<String>,
    /// The refund that gives the money back, once an admin chose to.
    pub out_refund_no: Option<String>,
    /// Recorded.
    pub created_at: i64,
    /// Last changed.
    pub updated_at: i64,
    /// When an admin resolved it.
    pub resolved_at: Option<i64>,
}

/// Which records [`super::port::LedgerStore::unmatched`] lists, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnmatchedFilter {
    /// Only this state.
    pub state: Option<UnmatchedState>,
    /// Only this kind.
    pub kind: Option<UnmatchedKind>,
    /// At most this many.
    pub limit: i64,
}

/// What an admin does with an OPEN record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnmatchedAction {
    /// Give the whole payment back through WeChat.
    Refund,
    /// It belongs to a business order (named in the note); no money moves.
    Attach,
    /// Nothing to do (the note says why).
    Dismiss,
}

impl UnmatchedAction {
    /// The name in the admin body and the `unmatched.resolved` event.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refund => "refund",
            Self::Attach => "attach",
            Self::Dismiss => "dismiss",
        }
    }

    /// Parses an action name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Refund, Self::Attach, Self::Dismiss]
            .into_iter()
            .find(|a| a.as_str() == s)
    }

    /// The state the record takes.
    pub fn state(self) -> UnmatchedState {
        match self {
            Self::Refund => UnmatchedState::Refunding,
            Self::Attach => UnmatchedState::Attached,
            Self::Dismiss => UnmatchedState::Dismissed,
        }
    }
}

/// A resolution, decided by `pay`, that the port applies only to a record still OPEN, with the
/// `unmatched.resolved` event (and, for a refund, the refund row) in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmatchedResolution {
    /// What the admin chose.
    pub action: UnmatchedAction,
    /// The admin's note.
    pub note: Option<String>,
    /// The refund recorded with it (RESERVED, linked to the record), for [`UnmatchedAction::Refund`].
    pub refund: Option<RefundRecord>,
}

/// Where a refund's result moves the unmatched record it gives back (REFUNDING → REFUNDED on
/// SUCCESS, → OPEN when WeChat did not refund).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmatchedStep {
    /// The record.
    pub id: String,
    /// Its new state.
    pub to: UnmatchedState,
    /// The outbox event written when it moves (`unmatched.refunded`, `unmatched.reopened`).
    pub event: &'static str,
}

impl UnmatchedStep {
    /// Where a refund's result takes the record it gives back: SUCCESS → REFUNDED; CLOSED and a
    /// refusal (`None`) → OPEN again, the money is still with the merchant; ABNORMAL → stays.
    pub fn after_refund(id: &str, result: Option<RefundState>) -> Option<Self> {
        let (to, event) = match result {
            Some(RefundState::Success) => (UnmatchedState::Refunded, "unmatched.refunded"),
            Some(RefundState::Closed | RefundState::Rejected) | None => {
                (UnmatchedState::Open, "unmatched.reopened")
            }
            Some(_) => return None,
        };
        Some(Self {
            id: id.to_string(),
            to,
            event,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechatpay::model::{Payer, TransactionAmount};

    fn tx(state: &str) -> Transaction {
        Transaction {
            out_trade_no: "ORDER_X".into(),
            transaction_id: Some("4200X".into()),
            trade_state: state.into(),
            payer: Some(Payer {
                openid: "oPayer".into(),
            }),
            amount: Some(TransactionAmount {
                total: Some(30),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn only_money_received_is_recorded_and_the_reason_says_why() {
        assert_eq!(UnmatchedDraft::payment(&tx("NOTPAY"), None), None);
        assert_eq!(UnmatchedDraft::payment(&tx("USERPAYING"), None), None);
        let unknown = UnmatchedDraft::payment(&tx("SUCCESS"), None).unwrap();
        assert_eq!(
            (unknown.reason, unknown.event, unknown.amount),
            (UnmatchedReason::UnknownOrder, "payment.unmatched", 30)
        );
        assert_eq!(
            (unknown.wechat_no.as_str(), unknown.openid.as_deref()),
            ("4200X", Some("oPayer"))
        );
        let refund = Refund {
            out_refund_no: "R1".into(),
            status: "CLOSED".into(),
            ..Default::default()
        };
        assert_eq!(UnmatchedDraft::refund(&refund), None);
        let refund = Refund {
            status: "SUCCESS".into(),
            ..refund
        };
        let draft = UnmatchedDraft::refund(&refund).unwrap();
        assert_eq!(
            (draft.wechat_no.as_str(), draft.event),
            ("R1", "refund.unmatched")
        );
        let bill = TransferBill {
            out_bill_no: "B1".into(),
            transfer_bill_no: "1330B1".into(),
            state: "FAIL".into(),
            ..Default::default()
        };
        assert_eq!(UnmatchedDraft::transfer(&bill), None);
        let bill = TransferBill {
            state: "SUCCESS".into(),
            ..bill
        };
        assert_eq!(UnmatchedDraft::transfer(&bill).unwrap().wechat_no, "1330B1");
    }

    #[test]
    fn actions_parse_and_name_their_state() {
        assert_eq!(
            UnmatchedAction::parse("refund").map(UnmatchedAction::state),
            Some(UnmatchedState::Refunding)
        );
        assert_eq!(UnmatchedAction::parse("attach").unwrap().as_str(), "attach");
        assert_eq!(UnmatchedAction::parse("REFUND"), None);
    }

    #[test]
    fn a_refund_result_moves_its_record_only_when_it_settles() {
        let step = |r| UnmatchedStep::after_refund("um_1", r).map(|s| (s.to, s.event));
        assert_eq!(
            step(Some(RefundState::Success)),
            Some((UnmatchedState::Refunded, "unmatched.refunded"))
        );
        assert_eq!(
            step(Some(RefundState::Closed)),
            Some((UnmatchedState::Open, "unmatched.reopened"))
        );
        assert_eq!(step(None).map(|s| s.0), Some(UnmatchedState::Open));
        assert_eq!(step(Some(RefundState::Abnormal)), None);
    }
}
