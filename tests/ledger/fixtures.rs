//! Fixtures: orders, transactions, refunds and transfers as the cases need them.

use crate::support::{T0, TestDb};
use pay_common::pay::rules::sha256_hex;
use pay_common::pay::service::*;
use pay_common::pay::types::{AmountFen, OpenId, OutBillNo, OutRefundNo, OutTradeNo};
use pay_common::wechatpay::model::{
    Refund, RefundAmount, Transaction, TransactionAmount, TransferBill,
};

pub const APPID: &str = "wx1234567890abcdef";
pub const MCHID: &str = "1900000001";
pub const ALICE: &str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";
pub const BOB: &str = "oUpF8uBobBobBobBobBobBob0001";

pub fn no(s: &str) -> OutTradeNo {
    OutTradeNo::parse(s).unwrap()
}

pub fn fen(n: i64) -> AmountFen {
    AmountFen::new("amount", n).unwrap()
}

pub fn order(out_trade_no: &str, owner: &str, amount: i64, description: &str) -> OrderDraft {
    OrderDraft {
        out_trade_no: no(out_trade_no),
        trade_type: TradeType::Jsapi,
        appid: APPID.into(),
        mchid: MCHID.into(),
        owner: Some(OpenId::parse(owner).unwrap()),
        amount: fen(amount),
        currency: "CNY".into(),
        description: description.into(),
        expires_at: T0 + 1800,
        fingerprint: sha256_hex(format!("{owner}|{amount}|{description}").as_bytes()),
        request_body: format!(
            r#"{{"out_trade_no":"{out_trade_no}","amount":{{"total":{amount}}}}}"#
        ),
    }
}

pub fn paid(out_trade_no: &str, total: i64) -> Transaction {
    Transaction {
        appid: APPID.into(),
        mchid: MCHID.into(),
        out_trade_no: out_trade_no.into(),
        transaction_id: Some(format!("4200{out_trade_no}")),
        trade_state: "SUCCESS".into(),
        success_time: Some("2023-11-14T22:13:20+00:00".into()),
        amount: Some(TransactionAmount {
            total: Some(total),
            currency: Some("CNY".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn notice<T>(id: Option<&str>, object: T) -> Notice<T> {
    Notice {
        notification_id: id.map(str::to_string),
        event_type: "TEST".into(),
        object,
    }
}

/// Records and pays an order (no events besides `order.paid`).
pub async fn paid_order(db: &TestDb, out_trade_no: &str, owner: &str, amount: i64) {
    db.book
        .record_order(&order(out_trade_no, owner, amount, "Tea"))
        .await
        .unwrap();
    let outcome = db
        .book
        .payment_notified(&notice(None, paid(out_trade_no, amount)))
        .await;
    assert_eq!(outcome, Ok(NoticeOutcome::Applied));
}

pub fn refund_draft(
    refund_no: &str,
    order_no: &str,
    amount: Option<i64>,
    actor: Actor,
) -> RefundDraft {
    RefundDraft {
        out_refund_no: OutRefundNo::parse(refund_no).unwrap(),
        out_trade_no: Some(no(order_no)),
        transaction_id: None,
        amount: amount.map(fen),
        caller_total: None,
        reason: Some("test".into()),
        actor,
    }
}

pub fn refund(refund_no: &str, order_no: &str, amount: i64, status: &str) -> Refund {
    Refund {
        refund_id: format!("5030{refund_no}"),
        out_refund_no: refund_no.into(),
        out_trade_no: order_no.into(),
        status: status.into(),
        amount: RefundAmount {
            refund: Some(amount),
            ..Default::default()
        },
        ..Default::default()
    }
}

pub fn transfer(bill_no: &str, amount: i64, description: &str) -> TransferDraft {
    TransferDraft {
        out_bill_no: OutBillNo::parse(bill_no).unwrap(),
        appid: APPID.into(),
        openid: OpenId::parse(ALICE).unwrap(),
        amount: fen(amount),
        fingerprint: sha256_hex(format!("{amount}|{description}").as_bytes()),
        request_body: format!(r#"{{"out_bill_no":"{bill_no}","transfer_amount":{amount}}}"#),
        actor: Actor::Admin,
    }
}

pub fn bill(bill_no: &str, state: &str, amount: i64) -> TransferBill {
    TransferBill {
        out_bill_no: bill_no.into(),
        transfer_bill_no: format!("1330{bill_no}"),
        state: state.into(),
        transfer_amount: Some(amount),
        ..Default::default()
    }
}

pub async fn order_view(db: &TestDb, out_trade_no: &str) -> OrderView {
    db.book
        .find_order(&no(out_trade_no))
        .await
        .unwrap()
        .expect("order exists")
}
