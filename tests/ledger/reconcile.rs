//! Reconciliation against a counting fake WeChat.

use std::sync::Arc;

use crate::fake::FakeWechat;
use crate::fixtures::*;
use crate::support::*;
use pay_common::pay::reconcile::{ReconcileSettings, ReconcileSummary, Reconciler};
use pay_common::pay::service::*;

fn unpaid(out_trade_no: &str, total: i64) -> pay_common::wechatpay::model::Transaction {
    let mut tx = paid(out_trade_no, total);
    tx.trade_state = "NOTPAY".into();
    tx.transaction_id = None;
    tx
}

pub async fn reconciliation_pays_closes_and_settles_what_callbacks_missed(db: TestDb) {
    let wx = FakeWechat::default();
    let l = &db.book;
    for (no, expires_at) in [
        ("ORDER_3001", 7200),
        ("ORDER_3002", 7200),
        ("ORDER_3003", 1800),
        ("ORDER_3004", 1800),
        ("ORDER_3005", 7200),
    ] {
        let mut d = order(no, ALICE, 20, "Tea");
        d.expires_at = T0 + expires_at;
        l.record_order(&d).await.unwrap();
    }
    {
        let mut orders = wx.orders.lock().unwrap();
        orders.insert("ORDER_3001".into(), paid("ORDER_3001", 20));
        orders.insert("ORDER_3002".into(), unpaid("ORDER_3002", 20));
        orders.insert("ORDER_3003".into(), unpaid("ORDER_3003", 20));
        orders.insert("ORDER_3005".into(), paid("ORDER_3005", 2000));
    }
    paid_order(&db, "ORDER_3007", ALICE, 100).await;
    for (r, amount) in [("R1", 60), ("R2", 10), ("R3", 30)] {
        l.reserve_refund(&refund_draft(r, "ORDER_3007", Some(amount), Actor::Admin))
            .await
            .unwrap();
    }
    l.refund_accepted(&refund("R3", "ORDER_3007", 30, "PROCESSING"))
        .await
        .unwrap();
    wx.refunds
        .lock()
        .unwrap()
        .insert("R1".into(), refund("R1", "ORDER_3007", 60, "SUCCESS"));
    wx.refunds
        .lock()
        .unwrap()
        .insert("R3".into(), refund("R3", "ORDER_3007", 30, "PROCESSING"));
    for b in ["BILL1", "BILL2"] {
        l.record_transfer(&transfer(b, 500, "prize")).await.unwrap();
    }
    wx.transfers
        .lock()
        .unwrap()
        .insert("BILL1".into(), bill("BILL1", "SUCCESS", 500));
    // Recorded 10 s before the pass: inside the grace period, left alone.
    db.set_now(T0 + 3590);
    l.record_order(&order("ORDER_3006", ALICE, 20, "Tea"))
        .await
        .unwrap();
    db.set_now(T0 + 3600);

    let settings = ReconcileSettings::default();
    let s = Reconciler::run_once(l, &wx, db.now(), &settings).await;
    let expected = ReconcileSummary {
        orders_checked: 5,
        orders_paid: 1,
        orders_closed: 2,
        orders_mismatched: 1,
        refunds_checked: 3,
        refunds_settled: 2,
        transfers_checked: 2,
        transfers_settled: 2,
        errors: 0,
        deferred: 0,
    };
    assert_eq!(s, expected);
    assert_eq!(order_view(&db, "ORDER_3001").await.state, OrderState::Paid);
    assert_eq!(
        order_view(&db, "ORDER_3002").await.state,
        OrderState::Notpay
    );
    assert_eq!(
        order_view(&db, "ORDER_3003").await.state,
        OrderState::Closed
    );
    assert_eq!(
        order_view(&db, "ORDER_3004").await.state,
        OrderState::Closed
    );
    assert_eq!(
        order_view(&db, "ORDER_3005").await.state,
        OrderState::AmountMismatch
    );
    assert_eq!(
        order_view(&db, "ORDER_3006").await.state,
        OrderState::Notpay
    );
    assert_eq!(
        (
            wx.calls("close_order", "ORDER_3003"),
            wx.calls("close_order", "ORDER_3004")
        ),
        (1, 0)
    );
    assert_eq!(wx.calls("query_order", "ORDER_3006"), 0);
    let o7 = order_view(&db, "ORDER_3007").await;
    assert_eq!(
        (o7.refunded, o7.refund_pending),
        (60, 30),
        "R1 succeeded, R2 released, R3 still pending"
    );
    assert_eq!(
        db.ledger
            .find_transfer("BILL1")
            .await
            .unwrap()
            .unwrap()
            .state,
        "SUCCESS"
    );
    assert_eq!(
        db.ledger
            .find_transfer("BILL2")
            .await
            .unwrap()
            .unwrap()
            .state,
        "REJECTED"
    );
    let expected_events = [
        ("order.paid", 2),
        ("order.closed", 2),
        ("order.amount_mismatch", 1),
        ("refund.succeeded", 1),
        ("transfer.succeeded", 1),
    ];
    for (ty, n) in expected_events {
        assert_eq!(db.events(ty).await.len(), n, "{ty}");
    }

    // Claimed rows are leased: the same moment again touches nothing …
    let calls = wx.total_calls();
    let again = Reconciler::run_once(l, &wx, db.now(), &settings).await;
    assert_eq!(
        (again, wx.total_calls()),
        (ReconcileSummary::default(), calls)
    );
    // … and after the lease the still-open rows are looked at again.
    let later = Reconciler::run_once(l, &wx, db.now() + settings.lease_secs, &settings).await;
    assert_eq!(
        (
            later.orders_checked,
            later.refunds_checked,
            later.transfers_checked
        ),
        (2, 1, 0)
    );
}

pub async fn two_reconcilers_never_process_the_same_row_twice(db: TestDb) {
    let wx = Arc::new(FakeWechat::default());
    let numbers: Vec<String> = (0..30).map(|i| format!("ORDER_40{i:02}")).collect();
    for no in &numbers {
        db.book
            .record_order(&order(no, ALICE, 20, "Tea"))
            .await
            .unwrap();
        wx.orders.lock().unwrap().insert(no.clone(), paid(no, 20));
    }
    for i in 0..10 {
        let b = format!("BILL{i}");
        db.book
            .record_transfer(&transfer(&b, 500, "prize"))
            .await
            .unwrap();
        wx.transfers
            .lock()
            .unwrap()
            .insert(b.clone(), bill(&b, "SUCCESS", 500));
    }
    let other = db.another_instance().await;
    let now = T0 + 120;
    let settings = ReconcileSettings {
        batch: 20,
        ..Default::default()
    };
    let run =
        |book: pay_common::pay::book::Book, wx: Arc<FakeWechat>, settings: ReconcileSettings| {
            tokio::spawn(async move {
                let mut total = ReconcileSummary::default();
                // Two passes each: the second picks up what the first batch left.
                for _ in 0..2 {
                    let s = Reconciler::run_once(&book, wx.as_ref(), now, &settings).await;
                    total.orders_checked += s.orders_checked;
                    total.orders_paid += s.orders_paid;
                    total.transfers_checked += s.transfers_checked;
                    total.errors += s.errors;
                }
                total
            })
        };
    let a = run(db.book.clone(), wx.clone(), settings.clone());
    let b = run(db.book_on(&other), wx.clone(), settings);
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    other.close().await;
    assert_eq!((a.errors, b.errors), (0, 0));
    assert_eq!(a.orders_checked + b.orders_checked, 30);
    assert_eq!(a.orders_paid + b.orders_paid, 30);
    assert_eq!(a.transfers_checked + b.transfers_checked, 10);
    for no in &numbers {
        assert_eq!(wx.calls("query_order", no), 1, "{no}");
    }
    for i in 0..10 {
        assert_eq!(wx.calls("query_transfer", &format!("BILL{i}")), 1);
    }
    assert_eq!(db.events("order.paid").await.len(), 30);
}

pub async fn the_background_reconciler_runs_until_shutdown(db: TestDb) {
    let wx = Arc::new(FakeWechat::default());
    db.book
        .record_order(&order("ORDER_4100", ALICE, 20, "Tea"))
        .await
        .unwrap();
    wx.orders
        .lock()
        .unwrap()
        .insert("ORDER_4100".into(), paid("ORDER_4100", 20));
    db.set_now(T0 + 120);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = Reconciler::spawn(
        db.book.clone(),
        wx.clone(),
        std::time::Duration::from_millis(10),
        ReconcileSettings::default(),
        async move {
            stopped.await.ok();
        },
    );
    tokio::time::timeout(std::time::Duration::from_secs(10), wx.queried.notified())
        .await
        .expect("the loop queried the pending order");
    stop.send(()).unwrap();
    task.await.unwrap();
    assert_eq!(order_view(&db, "ORDER_4100").await.state, OrderState::Paid);
    assert_eq!(
        wx.calls("query_order", "ORDER_4100"),
        1,
        "leased after the first pass"
    );
}

/// Five pending orders, paid at WeChat, for the hanging-WeChat cases.
async fn five_paid_orders(db: &TestDb, wx: &FakeWechat, prefix: &str) -> Vec<String> {
    let numbers: Vec<String> = (0..5).map(|i| format!("{prefix}{i:02}")).collect();
    for no in &numbers {
        db.book
            .record_order(&order(no, ALICE, 20, "Tea"))
            .await
            .unwrap();
        wx.orders.lock().unwrap().insert(no.clone(), paid(no, 20));
    }
    db.set_now(T0 + 120);
    numbers
}

pub async fn a_hanging_wechat_is_queried_a_few_rows_at_a_time(db: TestDb) {
    let wx = Arc::new(FakeWechat::default());
    let numbers = five_paid_orders(&db, &wx, "ORDER_HANG").await;
    let gate = wx.hang();
    let settings = ReconcileSettings {
        concurrency: 4,
        ..Default::default()
    };
    let (book, fake, now) = (db.book.clone(), wx.clone(), db.now());
    let pass =
        tokio::spawn(
            async move { Reconciler::run_once(&book, fake.as_ref(), now, &settings).await },
        );
    // A sequential pass would wait at the gate with one query forever; this one has four out.
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while wx.in_flight.load(std::sync::atomic::Ordering::SeqCst) < 4 {
            let arrived = wx.arrived.notified();
            if wx.in_flight.load(std::sync::atomic::Ordering::SeqCst) >= 4 {
                break;
            }
            arrived.await;
        }
    })
    .await
    .expect("four queries in flight at once");
    gate.add_permits(numbers.len());
    let s = pass.await.unwrap();
    assert_eq!((s.orders_checked, s.orders_paid, s.deferred), (5, 5, 0));
    assert_eq!(
        wx.max_in_flight.load(std::sync::atomic::Ordering::SeqCst),
        4,
        "never more than `concurrency` at once"
    );
    assert_eq!(db.events("order.paid").await.len(), 5);
}

pub async fn a_pass_out_of_time_leaves_the_rest_to_the_next_pass(db: TestDb) {
    let wx = Arc::new(FakeWechat::default());
    let numbers = five_paid_orders(&db, &wx, "ORDER_BUDGET").await;
    let gate = wx.hang();
    let settings = ReconcileSettings {
        concurrency: 4,
        pass_budget: std::time::Duration::from_millis(300),
        ..Default::default()
    };
    // WeChat never answers: the pass still ends, having applied nothing, and gives the rows back.
    let s = Reconciler::run_once(&db.book, wx.as_ref(), db.now(), &settings).await;
    assert_eq!(
        (s.orders_checked, s.orders_paid, s.errors, s.deferred),
        (0, 0, 0, 5)
    );
    assert_eq!(
        wx.total_calls(),
        4,
        "four queries were started and abandoned; the fifth never started"
    );
    for no in &numbers {
        assert_eq!(order_view(&db, no).await.state, OrderState::Notpay);
    }
    // The leases were released: the very next pass (same moment) takes all five again.
    gate.add_permits(numbers.len());
    let again = Reconciler::run_once(
        &db.book,
        wx.as_ref(),
        db.now(),
        &ReconcileSettings::default(),
    )
    .await;
    assert_eq!(
        (again.orders_checked, again.orders_paid, again.deferred),
        (5, 5, 0)
    );
}
