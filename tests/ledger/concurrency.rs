//! Races: duplicate callbacks, competing refunds, instances starting together.

use crate::fixtures::*;
use crate::support::*;
use pay_common::pay::service::*;

pub async fn a_hundred_identical_pay_notices_make_one_paid_and_one_event(db: TestDb) {
    db.book
        .record_order(&order("ORDER_2001", ALICE, 20, "Tea"))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let book = db.book.clone();
            // Half replay one notification id, half are query results without one.
            let id = (i % 2 == 0).then_some("notify-same");
            tokio::spawn(async move {
                book.payment_notified(&notice(id, paid("ORDER_2001", 20)))
                    .await
            })
        })
        .collect();
    let mut applied = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(NoticeOutcome::Applied) => applied += 1,
            Ok(NoticeOutcome::Duplicate) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(applied, 1);
    assert_eq!(order_view(&db, "ORDER_2001").await.state, OrderState::Paid);
    assert_eq!(db.events("order.paid").await.len(), 1);
}

pub async fn twenty_concurrent_refunds_never_exceed_the_paid_total(db: TestDb) {
    paid_order(&db, "ORDER_2002", ALICE, 100).await;
    // Two ledgers, as two instances would be.
    let other = db.another_instance().await;
    let other_book = db.book_on(&other);
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let book = if i % 2 == 0 {
                db.book.clone()
            } else {
                other_book.clone()
            };
            let amount = if i % 5 == 0 { None } else { Some(15) };
            let d = refund_draft(&format!("R{i}"), "ORDER_2002", amount, Actor::Admin);
            tokio::spawn(async move { book.reserve_refund(&d).await })
        })
        .collect();
    let mut reserved = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(a) => reserved += a.refund.amount,
            Err(e) => assert!(
                matches!(e.code, "REFUND_EXCEEDS_PAID" | "NOTHING_TO_REFUND"),
                "{e}"
            ),
        }
    }
    other.close().await;
    let view = order_view(&db, "ORDER_2002").await;
    let listed: i64 = view.refunds.iter().map(|r| r.amount).sum();
    assert!(reserved <= 100, "reserved {reserved}");
    assert_eq!((view.refund_pending, listed), (reserved, reserved));
}

pub async fn migrations_are_idempotent_when_instances_start_together(db: TestDb) {
    let (a, b) = tokio::join!(db.another_instance(), db.another_instance());
    let versions: Vec<i64> = {
        use sqlx::Connection;
        let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar("SELECT version FROM pay_common_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(versions, [1, 2, 3], "each version recorded once");
    // Both instances see the same ledger.
    db.book_on(&a)
        .record_order(&order("ORDER_2003", ALICE, 20, "Tea"))
        .await
        .unwrap();
    let seen = db.book_on(&b).find_order(&no("ORDER_2003")).await.unwrap();
    assert_eq!(seen.map(|o| o.amount), Some(20));
    a.close().await;
    b.close().await;
}

/// A use case abandoned at any await (the caller gone, the callback budget spent) rolls back
/// what it began and leaves the ledger's connection usable: each order is afterwards either
/// untouched or PAID with its one event, and WeChat's retry of the same notification applies
/// exactly the ones that were not.
pub async fn payments_abandoned_at_any_point_are_all_or_nothing(db: TestDb) {
    let n: u64 = 40;
    let no = |i: u64| format!("ORDER_3{i:03}");
    let id = |i: u64| format!("notify-abandoned-{i}");
    for i in 0..n {
        db.book
            .record_order(&order(&no(i), ALICE, 20, "Tea"))
            .await
            .unwrap();
        // Given up after a little more time each round, so that it stops at a different await.
        let (id, tx) = (id(i), paid(&no(i), 20));
        let notice = notice(Some(&id), tx);
        let notified = db.book.payment_notified(&notice);
        let _ = tokio::time::timeout(std::time::Duration::from_micros(40 * i), notified).await;
    }
    let mut paid_first = Vec::new();
    for i in 0..n {
        match order_view(&db, &no(i)).await.state {
            OrderState::Paid => paid_first.push(i),
            OrderState::Notpay => {}
            other => panic!("{} is {other:?} after an abandoned payment", no(i)),
        }
    }
    assert_eq!(db.events("order.paid").await.len(), paid_first.len());
    for i in 0..n {
        let outcome = db
            .book
            .payment_notified(&notice(Some(&id(i)), paid(&no(i), 20)))
            .await
            .unwrap();
        let expected = if paid_first.contains(&i) {
            NoticeOutcome::Duplicate
        } else {
            NoticeOutcome::Applied
        };
        assert_eq!(outcome, expected, "retry of {}", no(i));
        assert_eq!(order_view(&db, &no(i)).await.state, OrderState::Paid);
    }
    assert_eq!(db.events("order.paid").await.len(), n as usize);
}
