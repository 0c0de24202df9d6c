//! Refunds: amounts decided and reserved by the ledger, ownership, repeats, settlement.

use crate::fixtures::*;
use crate::support::*;
use pay_common::pay::service::*;
use pay_common::pay::types::{OpenId, OutRefundNo};

fn user(openid: &str) -> Actor {
    Actor::User(OpenId::parse(openid).unwrap())
}

pub async fn a_refund_without_amount_reserves_everything_left(db: TestDb) {
    paid_order(&db, "ORDER_1001", ALICE, 100).await;
    let a = db
        .book
        .reserve_refund(&refund_draft("R1", "ORDER_1001", Some(30), Actor::Admin))
        .await
        .unwrap();
    assert!(a.fresh);
    assert_eq!(
        (
            a.refund.amount,
            a.refund.order_total,
            a.refund.state.as_str()
        ),
        (30, 100, "RESERVED")
    );
    // Named by WeChat's transaction id instead of our order number.
    let mut by_transaction = refund_draft("R2", "ORDER_1001", None, Actor::Admin);
    by_transaction.out_trade_no = None;
    by_transaction.transaction_id = Some("4200ORDER_1001".into());
    let b = db.book.reserve_refund(&by_transaction).await.unwrap();
    assert_eq!(b.refund.amount, 70);
    assert_eq!(b.refund.transaction_id.as_deref(), Some("4200ORDER_1001"));
    let view = order_view(&db, "ORDER_1001").await;
    assert_eq!(
        (view.refund_pending, view.refunded, view.refunds.len()),
        (100, 0, 2)
    );
    let none_left = db
        .book
        .reserve_refund(&refund_draft("R3", "ORDER_1001", None, Actor::Admin))
        .await;
    assert_eq!(none_left.unwrap_err().code, "NOTHING_TO_REFUND");
}

pub async fn a_user_may_refund_only_their_own_order(db: TestDb) {
    paid_order(&db, "ORDER_1002", ALICE, 100).await;
    let err = db
        .book
        .reserve_refund(&refund_draft("R1", "ORDER_1002", None, user(BOB)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind, err.code),
        (ServiceErrorKind::Forbidden, "NOT_OWNER")
    );
    assert_eq!(order_view(&db, "ORDER_1002").await.refund_pending, 0);
    let own = db
        .book
        .reserve_refund(&refund_draft("R1", "ORDER_1002", None, user(ALICE)))
        .await;
    assert_eq!(own.unwrap().refund.amount, 100);
}

pub async fn a_repeated_refund_number_returns_the_reservation_and_other_content_is_refused(
    db: TestDb,
) {
    paid_order(&db, "ORDER_1003", ALICE, 100).await;
    paid_order(&db, "ORDER_1004", ALICE, 100).await;
    let first = db
        .book
        .reserve_refund(&refund_draft("R1", "ORDER_1003", Some(40), Actor::Admin))
        .await
        .unwrap();
    let again = db
        .book
        .reserve_refund(&refund_draft("R1", "ORDER_1003", Some(40), Actor::Admin))
        .await
        .unwrap();
    assert_eq!((again.fresh, &again.refund), (false, &first.refund));
    for (order_no, amount) in [("ORDER_1003", Some(41)), ("ORDER_1004", Some(40))] {
        let err = db
            .book
            .reserve_refund(&refund_draft("R1", order_no, amount, Actor::Admin))
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind, err.code),
            (ServiceErrorKind::Conflict, "OUT_REFUND_NO_USED")
        );
    }
    assert_eq!(order_view(&db, "ORDER_1003").await.refund_pending, 40);
    assert_eq!(order_view(&db, "ORDER_1004").await.refund_pending, 0);
}

pub async fn unpaid_orders_excess_amounts_and_wrong_totals_are_refused(db: TestDb) {
    db.book
        .record_order(&order("ORDER_1005", ALICE, 100, "Tea"))
        .await
        .unwrap();
    paid_order(&db, "ORDER_1006", ALICE, 100).await;
    let cases = [
        ("ORDER_1005", Some(10), None, "ORDER_NOT_PAID"),
        ("ORDER_1006", Some(101), None, "REFUND_EXCEEDS_PAID"),
        ("ORDER_1006", Some(10), Some(99), "AMOUNT_TOTAL_MISMATCH"),
        ("ORDER_NONE", Some(10), None, "NOT_FOUND"),
    ];
    for (order_no, amount, total, code) in cases {
        let mut d = refund_draft("R1", order_no, amount, Actor::Admin);
        d.caller_total = total.map(fen);
        let err = db.book.reserve_refund(&d).await.unwrap_err();
        assert_eq!(err.code, code, "{order_no} {amount:?} {total:?}");
    }
    assert!(
        db.book
            .find_refund(&OutRefundNo::parse("R1").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(order_view(&db, "ORDER_1006").await.refund_pending, 0);
}

pub async fn successful_refunds_move_money_and_a_full_refund_marks_the_order_refunded(db: TestDb) {
    paid_order(&db, "ORDER_1007", ALICE, 100).await;
    db.book
        .reserve_refund(&refund_draft("R1", "ORDER_1007", Some(60), Actor::Admin))
        .await
        .unwrap();
    db.book
        .reserve_refund(&refund_draft("R2", "ORDER_1007", Some(40), Actor::Admin))
        .await
        .unwrap();
    db.book
        .refund_accepted(&refund("R1", "ORDER_1007", 60, "PROCESSING"))
        .await
        .unwrap();
    let r1 = db
        .book
        .find_refund(&OutRefundNo::parse("R1").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (r1.state.as_str(), r1.refund_id.as_deref()),
        ("PROCESSING", Some("5030R1"))
    );
    let n1 = notice(Some("rn-1"), refund("R1", "ORDER_1007", 60, "SUCCESS"));
    assert_eq!(
        db.book.refund_notified(&n1).await,
        Ok(NoticeOutcome::Applied)
    );
    assert_eq!(
        db.book.refund_notified(&n1).await,
        Ok(NoticeOutcome::Duplicate)
    );
    let view = order_view(&db, "ORDER_1007").await;
    assert_eq!(
        (view.state, view.refunded, view.refund_pending),
        (OrderState::Paid, 60, 40)
    );
    // Accepted with a final status straight away is applied as a notice.
    db.book
        .refund_accepted(&refund("R2", "ORDER_1007", 40, "SUCCESS"))
        .await
        .unwrap();
    let view = order_view(&db, "ORDER_1007").await;
    assert_eq!(
        (view.state, view.refunded, view.refund_pending),
        (OrderState::Refunded, 100, 0)
    );
    let events = db.events("refund.succeeded").await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].data["order"]["state"], "REFUNDED");
    assert_eq!(events[0].data["refund"]["out_refund_no"], "R1");
    let again = db
        .book
        .refund_notified(&notice(None, refund("R2", "ORDER_1007", 40, "SUCCESS")))
        .await;
    assert_eq!(again, Ok(NoticeOutcome::Duplicate));
}

pub async fn a_closed_refund_releases_its_reservation(db: TestDb) {
    paid_order(&db, "ORDER_1008", ALICE, 100).await;
    db.book
        .reserve_refund(&refund_draft("R1", "ORDER_1008", None, Actor::Admin))
        .await
        .unwrap();
    let n = notice(Some("rn-c"), refund("R1", "ORDER_1008", 100, "CLOSED"));
    assert_eq!(
        db.book.refund_notified(&n).await,
        Ok(NoticeOutcome::Applied)
    );
    let view = order_view(&db, "ORDER_1008").await;
    assert_eq!(
        (view.state, view.refunded, view.refund_pending),
        (OrderState::Paid, 0, 0)
    );
    let events = db.events("refund.failed").await;
    assert_eq!(
        (events.len(), &events[0].data["final"]),
        (1, &serde_json::json!(true))
    );
    let late = db
        .book
        .refund_notified(&notice(None, refund("R1", "ORDER_1008", 100, "SUCCESS")))
        .await;
    assert_eq!(late, Ok(NoticeOutcome::Duplicate), "CLOSED is final");
}

pub async fn an_abnormal_refund_stays_reserved_and_may_still_succeed(db: TestDb) {
    paid_order(&db, "ORDER_1009", ALICE, 100).await;
    db.book
        .reserve_refund(&refund_draft("R1", "ORDER_1009", None, Actor::Admin))
        .await
        .unwrap();
    let ab = notice(Some("rn-a"), refund("R1", "ORDER_1009", 100, "ABNORMAL"));
    assert_eq!(
        db.book.refund_notified(&ab).await,
        Ok(NoticeOutcome::Applied)
    );
    let ab2 = notice(Some("rn-a2"), refund("R1", "ORDER_1009", 100, "ABNORMAL"));
    assert_eq!(
        db.book.refund_notified(&ab2).await,
        Ok(NoticeOutcome::Duplicate)
    );
    assert_eq!(order_view(&db, "ORDER_1009").await.refund_pending, 100);
    let more = db
        .book
        .reserve_refund(&refund_draft("R2", "ORDER_1009", None, Actor::Admin))
        .await;
    assert_eq!(more.unwrap_err().code, "NOTHING_TO_REFUND");
    let failed = db.events("refund.failed").await;
    assert_eq!(
        (failed.len(), &failed[0].data["final"]),
        (1, &serde_json::json!(false))
    );
    let ok = notice(Some("rn-s"), refund("R1", "ORDER_1009", 100, "SUCCESS"));
    assert_eq!(
        db.book.refund_notified(&ok).await,
        Ok(NoticeOutcome::Applied)
    );
    assert_eq!(
        order_view(&db, "ORDER_1009").await.state,
        OrderState::Refunded
    );
}

pub async fn a_rejected_refund_releases_its_reservation_once(db: TestDb) {
    paid_order(&db, "ORDER_1010", ALICE, 100).await;
    db.book
        .reserve_refund(&refund_draft("R1", "ORDER_1010", Some(70), Actor::Admin))
        .await
        .unwrap();
    let r1 = OutRefundNo::parse("R1").unwrap();
    db.book.refund_rejected(&r1, "NOT_ENOUGH").await.unwrap();
    db.book.refund_rejected(&r1, "NOT_ENOUGH").await.unwrap();
    assert_eq!(order_view(&db, "ORDER_1010").await.refund_pending, 0);
    let r = db.book.find_refund(&r1).await.unwrap().unwrap();
    assert_eq!(r.state, "REJECTED");
    let again = db
        .book
        .reserve_refund(&refund_draft("R2", "ORDER_1010", Some(100), Actor::Admin))
        .await;
    assert_eq!(again.unwrap().refund.amount, 100);
}

pub async fn a_refund_result_that_does_not_match_changes_nothing(db: TestDb) {
    paid_order(&db, "ORDER_1011", ALICE, 100).await;
    db.book
        .reserve_refund(&refund_draft("R1", "ORDER_1011", Some(10), Actor::Admin))
        .await
        .unwrap();
    let wrong = notice(Some("rn-w"), refund("R1", "ORDER_1011", 99, "SUCCESS"));
    assert!(matches!(
        db.book.refund_notified(&wrong).await,
        Ok(NoticeOutcome::Mismatch(_))
    ));
    // A refund we never made: recorded as unmatched money, the order untouched.
    let unknown = notice(Some("rn-u"), refund("R9", "ORDER_1011", 10, "SUCCESS"));
    assert_eq!(
        db.book.refund_notified(&unknown).await,
        Ok(NoticeOutcome::Unmatched)
    );
    let accepted = db
        .book
        .refund_accepted(&refund("R9", "ORDER_1011", 10, "PROCESSING"))
        .await;
    assert_eq!(accepted.unwrap_err().kind, ServiceErrorKind::NotFound);
    let view = order_view(&db, "ORDER_1011").await;
    assert_eq!((view.refunded, view.refund_pending), (0, 10));
    assert!(db.events("refund.succeeded").await.is_empty());
}
