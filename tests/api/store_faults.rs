//! Storage faults never hang or lie: with the database unreachable, garbage or read-only, the
//! service listens at once, `/healthz` names the cause and is not ready, WeChat-bound routes
//! answer 503 `STORE_UNAVAILABLE`, callbacks FAIL, and it serves as soon as the database is back.

use serde_json::{Value, json};

use crate::databases::{ClosedPort, PgDatabase};
use crate::support::*;

/// Places orders (each one also asks the ledger's supervisor to check again) until one is
/// accepted; bounded, so a ledger that never comes back fails the test.
async fn order_once_the_ledger_is_back(app: &TestApp, no: &str) -> Reply {
    let mut last = None;
    for _ in 0..150 {
        let r = app.order(ALICE, no, 5).await;
        if r.status != 503 {
            return r;
        }
        assert_eq!(r.error(), "STORE_UNAVAILABLE", "{}", r.body);
        last = Some(r);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("the ledger never came back: {}", last.unwrap().body);
}

/// `/healthz` once the supervisor has made its first attempt (the problem then is the real
/// cause instead of "not connected yet").
async fn health_after_first_attempt(app: &TestApp) -> Value {
    for _ in 0..100 {
        let h = app.health().await;
        if h["storeProblem"] != "not connected yet" {
            return h;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "the ledger's first attempt never finished: {}",
        app.health().await
    );
}

#[tokio::test]
async fn a_closed_database_port_never_holds_up_the_start_and_serves_once_it_opens() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    let port = ClosedPort::new().await;
    let app = spawn(Opts {
        database_url: Some(db.url_via(port.port)),
        ..Default::default()
    })
    .await;
    // Listening at once, not ready, and the store named with the real cause.
    let h = health_after_first_attempt(&app).await;
    assert_eq!(
        (h["status"].as_str(), h["ready"].as_bool()),
        (Some("ok"), Some(false)),
        "{h}"
    );
    assert_eq!(
        (h["store"].as_str(), h["storeReady"].as_bool()),
        (Some("postgres"), Some(false)),
        "{h}"
    );
    let problem = h["storeProblem"].as_str().unwrap_or_default();
    assert!(
        problem.contains("cannot connect") && problem.contains("refused"),
        "{h}"
    );
    // WeChat-bound routes: a clear 503; callbacks: FAIL so WeChat retries.
    let r = app.order(ALICE, "ORDER_STORE_DOWN1", 5).await;
    assert_eq!(
        (r.status, r.error()),
        (503, "STORE_UNAVAILABLE"),
        "{}",
        r.body
    );
    assert!(r.msg().contains("ledger is unavailable"), "{}", r.body);
    let forward = json!({
        "ParsedContent": { "out_trade_no": "ORDER_STORE_DOWN1", "trade_state": "SUCCESS" },
        "ParsedNotify": { "event_type": "TRANSACTION.SUCCESS" },
    });
    let cb = app
        .post("/wechatpay/order", As::Anonymous, forward.to_string())
        .await;
    assert_eq!(
        (cb.status, cb.body["code"].as_str()),
        (503, Some("FAIL")),
        "{}",
        cb.body
    );
    let admin = app
        .post("/wx-pay/admin/events", As::Admin, "{}".into())
        .await;
    assert_eq!(
        (admin.status, admin.error()),
        (503, "STORE_UNAVAILABLE"),
        "{}",
        admin.body
    );
    // The database comes back: the same process serves, no restart.
    port.open_to_postgres().await;
    let r = order_once_the_ledger_is_back(&app, "ORDER_STORE_BACK1").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let h = app.health().await;
    assert_eq!(
        (h["ready"].as_bool(), h["storeReady"].as_bool()),
        (Some(true), Some(true)),
        "{h}"
    );
    assert!(h["storeProblem"].is_null(), "{h}");
    app.sim.pay("ORDER_STORE_BACK1").unwrap();
    app.wait_state("ORDER_STORE_BACK1", "PAID").await;
    // Lost while serving: a clear 503, never a 500, and back again without a restart.
    port.close();
    let r = app.order(ALICE, "ORDER_STORE_LOST1", 5).await;
    assert_eq!(
        (r.status, r.error()),
        (503, "STORE_UNAVAILABLE"),
        "{}",
        r.body
    );
    port.open_to_postgres().await;
    let r = order_once_the_ledger_is_back(&app, "ORDER_STORE_LOST1").await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn the_refusal_is_chinese_by_default() {
    let port = ClosedPort::new().await;
    let app = spawn(Opts {
        database_url: Some(format!("postgres://postgres@127.0.0.1:{}/none", port.port)),
        extra: vec![("messageLanguage", "zh".into())],
        ..Default::default()
    })
    .await;
    let r = app.order(ALICE, "ORDER_STORE_ZH001", 5).await;
    assert_eq!(
        (r.status, r.error()),
        (503, "STORE_UNAVAILABLE"),
        "{}",
        r.body
    );
    assert!(r.msg().starts_with("订单数据库暂时不可用"), "{}", r.body);
}

fn temp_file(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("pay-common-{name}-{}.db", std::process::id()))
}

#[tokio::test]
async fn a_garbage_sqlite_file_is_not_ready_and_named() {
    let file = temp_file("garbage");
    std::fs::write(
        &file,
        b"this is not a SQLite database, just some bytes ".repeat(100),
    )
    .unwrap();
    let app = spawn(Opts {
        database_url: Some(format!("sqlite://{}?mode=rwc", file.display())),
        ..Default::default()
    })
    .await;
    let h = health_after_first_attempt(&app).await;
    assert_eq!(
        (h["ready"].as_bool(), h["storeReady"].as_bool()),
        (Some(false), Some(false)),
        "{h}"
    );
    assert!(
        h["storeProblem"]
            .as_str()
            .unwrap_or_default()
            .contains("not a database"),
        "{h}"
    );
    let r = app.order(ALICE, "ORDER_GARBAGE_DB1", 5).await;
    assert_eq!(
        (r.status, r.error()),
        (503, "STORE_UNAVAILABLE"),
        "{}",
        r.body
    );
    let _ = std::fs::remove_file(file);
}

#[tokio::test]
async fn a_read_only_sqlite_ledger_is_not_ready() {
    let file = temp_file("readonly");
    // A real, migrated ledger, then opened read-only (chmod would not stop root).
    let ledger =
        pay_common::store::Ledger::connect(&format!("sqlite://{}?mode=rwc", file.display()))
            .await
            .unwrap();
    ledger.close().await;
    let app = spawn(Opts {
        database_url: Some(format!("sqlite://{}?mode=ro", file.display())),
        ..Default::default()
    })
    .await;
    let h = health_after_first_attempt(&app).await;
    assert_eq!(
        (h["ready"].as_bool(), h["storeReady"].as_bool()),
        (Some(false), Some(false)),
        "{h}"
    );
    assert!(
        h["storeProblem"]
            .as_str()
            .unwrap_or_default()
            .contains("readonly"),
        "{h}"
    );
    let r = app.order(ALICE, "ORDER_READONLY_01", 5).await;
    assert_eq!(
        (r.status, r.error()),
        (503, "STORE_UNAVAILABLE"),
        "{}",
        r.body
    );
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
}
