//! Orders: recording, repeats, pay notices (applied once, mismatches held), closing, reads.

use crate::fixtures::*;
use crate::support::*;
use pay_common::pay::service::*;

pub async fn repeating_an_order_returns_the_stored_body_and_prepay(db: TestDb) {
    let d = order("ORDER_0001", ALICE, 20, "Tea");
    assert_eq!(db.book.record_order(&d).await, Ok(OrderAdmission::New));
    let prepay = Prepay {
        prepay_id: Some("wx201410272009395522657a690389285100".into()),
        created_at: T0,
        ..Default::default()
    };
    db.book.order_placed(&d, &prepay).await.unwrap();
    let again = db.book.record_order(&d).await.unwrap();
    assert_eq!(
        again,
        OrderAdmission::Existing {
            request_body: d.request_body.clone(),
            prepay: Some(prepay),
            state: OrderState::Notpay,
        }
    );
    let view = order_view(&db, "ORDER_0001").await;
    assert_eq!(
        (view.amount, view.owner.as_deref(), view.created_at),
        (20, Some(ALICE), T0)
    );
    assert_eq!(view.trade_type, "JSAPI");
}

pub async fn reusing_an_order_number_for_other_content_is_refused(db: TestDb) {
    db.book
        .record_order(&order("ORDER_0002", ALICE, 20, "Tea"))
        .await
        .unwrap();
    let err = db
        .book
        .record_order(&order("ORDER_0002", ALICE, 21, "Tea"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind, err.code),
        (ServiceErrorKind::Conflict, "OUT_TRADE_NO_USED")
    );
    // Keys compare byte for byte, also on MySQL: a different case is a different order.
    let other_case = db
        .book
        .record_order(&order("order_0002", ALICE, 21, "Tea"))
        .await;
    assert_eq!(other_case, Ok(OrderAdmission::New));
    let missing = db
        .book
        .order_placed(
            &order("ORDER_NONE", ALICE, 1, "Never recorded"),
            &Prepay::default(),
        )
        .await;
    assert_eq!(missing.unwrap_err().kind, ServiceErrorKind::NotFound);
}

pub async fn a_matching_payment_marks_the_order_paid_once_with_one_event(db: TestDb) {
    db.book
        .record_order(&order("ORDER_0003", ALICE, 20, "Tea"))
        .await
        .unwrap();
    let n = notice(Some("notify-1"), paid("ORDER_0003", 20));
    assert_eq!(
        db.book.payment_notified(&n).await,
        Ok(NoticeOutcome::Applied)
    );
    assert_eq!(
        db.book.payment_notified(&n).await,
        Ok(NoticeOutcome::Duplicate)
    );
    let other_id = notice(Some("notify-2"), paid("ORDER_0003", 20));
    assert_eq!(
        db.book.payment_notified(&other_id).await,
        Ok(NoticeOutcome::Duplicate)
    );
    let view = order_view(&db, "ORDER_0003").await;
    assert_eq!(view.state, OrderState::Paid);
    assert_eq!(view.transaction_id.as_deref(), Some("4200ORDER_0003"));
    assert_eq!(view.paid_at, Some(T0), "paid_at is WeChat's success_time");
    let events = db.events("order.paid").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data["out_trade_no"], "ORDER_0003");
    assert_eq!(events[0].data["state"], "PAID");
    assert!(events[0].id.starts_with("evt_") && events[0].delivered_at.is_none());
}

pub async fn a_payment_that_does_not_match_is_held_with_an_alert_event(db: TestDb) {
    db.book
        .record_order(&order("ORDER_0004", ALICE, 20, "Tea"))
        .await
        .unwrap();
    let outcome = db
        .book
        .payment_notified(&notice(Some("n-4"), paid("ORDER_0004", 1)))
        .await;
    let Ok(NoticeOutcome::Mismatch(why)) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(why.contains("amount.total 1 != 20"), "{why}");
    assert_eq!(
        order_view(&db, "ORDER_0004").await.state,
        OrderState::AmountMismatch
    );
    // A later, correct notice cannot turn a held order into PAID.
    let later = db
        .book
        .payment_notified(&notice(Some("n-5"), paid("ORDER_0004", 20)))
        .await;
    assert_eq!(later, Ok(NoticeOutcome::Duplicate));
    assert_eq!(
        order_view(&db, "ORDER_0004").await.state,
        OrderState::AmountMismatch
    );
    let events = db.events("order.amount_mismatch").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data["order"]["state"], "AMOUNT_MISMATCH");
    assert!(db.events("order.paid").await.is_empty());
}

pub async fn a_payment_for_an_unknown_order_is_reported_unknown(db: TestDb) {
    // No money moved (NOTPAY): nothing to keep. Money received is recorded (see unmatched.rs).
    let mut unpaid = paid("ORDER_NONE", 20);
    unpaid.trade_state = "NOTPAY".into();
    let outcome = db.book.payment_notified(&notice(Some("n-x"), unpaid)).await;
    assert_eq!(outcome, Ok(NoticeOutcome::Unknown));
    assert!(
        db.ledger
            .events(&Default::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        db.book
            .find_order(&no("ORDER_NONE"))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn userpaying_then_success_both_apply_without_extra_events(db: TestDb) {
    db.book
        .record_order(&order("ORDER_0005", ALICE, 20, "Tea"))
        .await
        .unwrap();
    let mut tx = paid("ORDER_0005", 20);
    tx.trade_state = "USERPAYING".into();
    assert_eq!(
        db.book.payment_notified(&notice(None, tx.clone())).await,
        Ok(NoticeOutcome::Applied)
    );
    assert_eq!(
        order_view(&db, "ORDER_0005").await.state,
        OrderState::Userpaying
    );
    assert_eq!(
        db.book.payment_notified(&notice(None, tx)).await,
        Ok(NoticeOutcome::Duplicate)
    );
    let mut failed = paid("ORDER_0005", 20);
    failed.trade_state = "PAYERROR".into();
    assert_eq!(
        db.book.payment_notified(&notice(None, failed)).await,
        Ok(NoticeOutcome::Duplicate)
    );
    assert_eq!(
        db.book
            .payment_notified(&notice(None, paid("ORDER_0005", 20)))
            .await,
        Ok(NoticeOutcome::Applied)
    );
    assert_eq!(order_view(&db, "ORDER_0005").await.state, OrderState::Paid);
    let all = db.ledger.events(&Default::default()).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|e| e.event_type.as_str())
            .collect::<Vec<_>>(),
        ["order.paid"]
    );
}

pub async fn closing_changes_only_pending_orders(db: TestDb) {
    db.book
        .record_order(&order("ORDER_0006", ALICE, 20, "Tea"))
        .await
        .unwrap();
    paid_order(&db, "ORDER_0007", ALICE, 30).await;
    db.book.order_closed(&no("ORDER_0006")).await.unwrap();
    db.book.order_closed(&no("ORDER_0006")).await.unwrap();
    db.book.order_closed(&no("ORDER_0007")).await.unwrap();
    db.book.order_closed(&no("ORDER_NONE")).await.unwrap();
    assert_eq!(
        order_view(&db, "ORDER_0006").await.state,
        OrderState::Closed
    );
    assert_eq!(order_view(&db, "ORDER_0007").await.state, OrderState::Paid);
    assert_eq!(db.events("order.closed").await.len(), 1);
    // A payment arriving for a closed order does not reopen it: it is recorded as unmatched
    // money for an admin (see unmatched.rs).
    let late = db
        .book
        .payment_notified(&notice(Some("late"), paid("ORDER_0006", 20)))
        .await;
    assert_eq!(late, Ok(NoticeOutcome::Unmatched));
    assert_eq!(
        order_view(&db, "ORDER_0006").await.state,
        OrderState::Closed
    );
}

pub async fn orders_are_found_by_transaction_id(db: TestDb) {
    paid_order(&db, "ORDER_0008", BOB, 50).await;
    let found = db
        .book
        .find_by_transaction_id("4200ORDER_0008")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.out_trade_no.as_str(), found.owner.as_deref()),
        ("ORDER_0008", Some(BOB))
    );
    assert!(
        db.book
            .find_by_transaction_id("4200NOPE")
            .await
            .unwrap()
            .is_none()
    );
}
