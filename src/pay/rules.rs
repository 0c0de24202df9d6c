//! The money rules as pure functions: what a payment notice asks of an order, how much may be
//! refunded, when a number counts as reused. The use cases in `book/` call them before anything
//! is written; the storage port only persists what they decided.

use super::port::PayStep;
use super::service::{
    Actor, OrderState, OrderView, RefundAdmission, RefundDraft, RefundRecord, RefundState,
    ServiceError, ServiceErrorKind, TradeType,
};
use super::types::AmountFen;
use crate::wechatpay::model::Transaction;

/// What the ledger stored about an order, as far as payment matching needs it.
#[derive(Debug, Clone, Copy)]
pub struct StoredOrder<'a> {
    /// Our order number.
    pub out_trade_no: &'a str,
    /// AppID.
    pub appid: &'a str,
    /// Merchant id.
    pub mchid: &'a str,
    /// Total in fen.
    pub amount: i64,
    /// Currency.
    pub currency: &'a str,
}

/// Checks an authenticated transaction against the stored order. The error says which field
/// differs (for the alert and the `order.amount_mismatch` event).
pub fn check_payment(order: StoredOrder<'_>, tx: &Transaction) -> Result<(), String> {
    let total = tx.amount.as_ref().and_then(|a| a.total);
    let currency = tx
        .amount
        .as_ref()
        .and_then(|a| a.currency.clone())
        .unwrap_or_else(|| "CNY".into());
    let mut diffs = Vec::new();
    if tx.out_trade_no != order.out_trade_no {
        diffs.push(format!(
            "out_trade_no {} != {}",
            tx.out_trade_no, order.out_trade_no
        ));
    }
    if tx.appid != order.appid {
        diffs.push(format!("appid {} != {}", tx.appid, order.appid));
    }
    if tx.mchid != order.mchid {
        diffs.push(format!("mchid {} != {}", tx.mchid, order.mchid));
    }
    if total != Some(order.amount) {
        let got = total.map_or("missing".to_string(), |t| t.to_string());
        diffs.push(format!("amount.total {got} != {}", order.amount));
    }
    if currency != order.currency {
        diffs.push(format!("amount.currency {currency} != {}", order.currency));
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs.join("; "))
    }
}

impl PayStep {
    /// The one decision of what an authenticated transaction does to a stored order, whichever
    /// way it arrived (callback of either shape, the query route, reconciliation).
    pub fn decide(order: &OrderView, tx: &Transaction) -> Self {
        if tx.trade_state == "USERPAYING" {
            Self::UserPaying
        } else if !is_paid_state(&tx.trade_state) {
            Self::Nothing
        } else {
            let stored = StoredOrder {
                out_trade_no: &order.out_trade_no,
                appid: &order.appid,
                mchid: &order.mchid,
                amount: order.amount,
                currency: &order.currency,
            };
            match check_payment(stored, tx) {
                Ok(()) => Self::Pay,
                Err(why) => Self::Mismatch(why),
            }
        }
    }
}

/// Is this transaction a completed payment? (`REFUND` means paid and since refunded.)
pub fn is_paid_state(trade_state: &str) -> bool {
    matches!(trade_state, "SUCCESS" | "REFUND")
}

/// Decides a refund amount from the ledger: `requested` (or everything left when `None`)
/// must fit in `paid - refunded - pending`; a caller-supplied total must equal the paid total.
pub fn refund_amount(
    paid_total: i64,
    refunded: i64,
    pending: i64,
    requested: Option<AmountFen>,
    caller_total: Option<AmountFen>,
) -> Result<i64, ServiceError> {
    if let Some(t) = caller_total
        && t.fen() != paid_total
    {
        return Err(ServiceError::new(
            ServiceErrorKind::Invalid,
            "AMOUNT_TOTAL_MISMATCH",
            format!(
                "amount.total must equal the order's paid total ({paid_total} fen), got {}",
                t.fen()
            ),
        ));
    }
    let available = paid_total - refunded - pending;
    let amount = requested.map_or(available, AmountFen::fen);
    if available <= 0 {
        return Err(ServiceError::new(
            ServiceErrorKind::Conflict,
            "NOTHING_TO_REFUND",
            "the order has no refundable amount left (refunded or pending refunds cover it)",
        ));
    }
    if amount > available {
        return Err(ServiceError::new(
            ServiceErrorKind::Conflict,
            "REFUND_EXCEEDS_PAID",
            format!(
                "amount.refund {amount} fen exceeds the refundable {available} fen of the order"
            ),
        ));
    }
    Ok(amount)
}

/// The refusal for an idempotency key (`out_trade_no`, `out_refund_no`, `out_bill_no`) reused
/// with different content.
pub fn number_reused(code: &'static str, field: &str, value: &str, what: &str) -> ServiceError {
    let msg = format!("{field} {value} was already used for a different {what}");
    ServiceError::new(ServiceErrorKind::Conflict, code, msg)
}

/// Decides a refund request against the ledger's view of the order and any refund already
/// stored under the same number: the owner rule, the idempotent repeat, the paid-state rule and
/// the amount. `fresh: true` means "reserve this record now"; every implementation then makes
/// the reservation atomic in its own way.
pub fn decide_refund(
    order: &OrderView,
    existing: Option<RefundRecord>,
    d: &RefundDraft,
) -> Result<RefundAdmission, ServiceError> {
    if let Actor::User(openid) = &d.actor
        && order.owner.as_deref() != Some(openid.as_str())
    {
        return Err(ServiceError::new(
            ServiceErrorKind::Forbidden,
            "NOT_OWNER",
            "the order belongs to another user",
        ));
    }
    if let Some(existing) = existing {
        let same = existing.out_trade_no == order.out_trade_no
            && d.amount.is_none_or(|a| a.fen() == existing.amount);
        if !same {
            let no = d.out_refund_no.as_str();
            return Err(number_reused(
                "OUT_REFUND_NO_USED",
                "out_refund_no",
                no,
                "refund",
            ));
        }
        return Ok(RefundAdmission {
            refund: existing,
            fresh: false,
        });
    }
    if order.state != OrderState::Paid {
        let msg = format!(
            "order {} is {}, only a PAID order can be refunded",
            order.out_trade_no,
            order.state.as_str()
        );
        return Err(ServiceError::new(
            ServiceErrorKind::Conflict,
            "ORDER_NOT_PAID",
            msg,
        ));
    }
    let amount = refund_amount(
        order.amount,
        order.refunded,
        order.refund_pending,
        d.amount,
        d.caller_total,
    )?;
    let refund = RefundRecord {
        out_refund_no: d.out_refund_no.to_string(),
        out_trade_no: order.out_trade_no.clone(),
        transaction_id: order.transaction_id.clone(),
        amount,
        order_total: order.amount,
        state: RefundState::Reserved,
        refund_id: None,
        unmatched_id: None,
    };
    Ok(RefundAdmission {
        refund,
        fresh: true,
    })
}

/// The fingerprint of an order's caller-chosen content: equal means "the same order".
pub fn order_fingerprint(
    trade_type: TradeType,
    appid: &str,
    owner: Option<&str>,
    amount: AmountFen,
    currency: &str,
    description: &str,
    extra: &serde_json::Value,
) -> String {
    let canonical = serde_json::json!([
        trade_type.as_str(),
        appid,
        owner,
        amount.fen(),
        currency,
        description,
        extra
    ]);
    sha256_hex(canonical.to_string().as_bytes())
}

/// SHA-256 as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechatpay::model::TransactionAmount;

    fn tx(total: i64, appid: &str) -> Transaction {
        Transaction {
            appid: appid.into(),
            mchid: "1900000001".into(),
            out_trade_no: "ORDER_123456".into(),
            trade_state: "SUCCESS".into(),
            amount: Some(TransactionAmount {
                total: Some(total),
                currency: Some("CNY".into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    const ORDER: StoredOrder<'static> = StoredOrder {
        out_trade_no: "ORDER_123456",
        appid: "wx1",
        mchid: "1900000001",
        amount: 20,
        currency: "CNY",
    };

    #[test]
    fn matching_payment_passes() {
        assert_eq!(check_payment(ORDER, &tx(20, "wx1")), Ok(()));
    }

    #[test]
    fn mismatched_amount_and_appid_are_both_named() {
        let err = check_payment(ORDER, &tx(1, "wx2")).unwrap_err();
        assert!(
            err.contains("amount.total 1 != 20") && err.contains("appid wx2 != wx1"),
            "{err}"
        );
    }

    #[test]
    fn refunds_never_exceed_what_is_left() {
        let a = |n| Some(AmountFen::new("amount.refund", n).unwrap());
        assert_eq!(refund_amount(100, 0, 0, None, None), Ok(100));
        assert_eq!(refund_amount(100, 30, 20, a(50), None), Ok(50));
        assert_eq!(
            refund_amount(100, 30, 20, a(51), None).unwrap_err().code,
            "REFUND_EXCEEDS_PAID"
        );
        assert_eq!(
            refund_amount(100, 100, 0, None, None).unwrap_err().code,
            "NOTHING_TO_REFUND"
        );
        assert_eq!(
            refund_amount(100, 0, 0, a(10), a(99)).unwrap_err().code,
            "AMOUNT_TOTAL_MISMATCH"
        );
    }

    #[test]
    fn fingerprint_depends_on_content() {
        let amt = AmountFen::new("a", 20).unwrap();
        let extra = serde_json::Value::Null;
        let f1 = order_fingerprint(
            TradeType::Jsapi,
            "wx1",
            Some("o1"),
            amt,
            "CNY",
            "Tea",
            &extra,
        );
        let f2 = order_fingerprint(
            TradeType::Jsapi,
            "wx1",
            Some("o1"),
            amt,
            "CNY",
            "Coffee",
            &extra,
        );
        assert_ne!(f1, f2);
        assert_eq!(
            f1,
            order_fingerprint(
                TradeType::Jsapi,
                "wx1",
                Some("o1"),
                amt,
                "CNY",
                "Tea",
                &extra
            )
        );
    }
}
