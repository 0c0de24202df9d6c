//! The loop on the shipped ledger: order → pay → callback → PAID → refund → callback →
//! REFUNDED, with the business webhook receiving each event exactly once once acknowledged.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};

use crate::support::*;

const SECRET: &str = "webhook-secret-for-tests";

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(String, String, bool)>>>);

async fn receiver(received: Received) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: String| {
            let received = received.clone();
            async move {
                let h = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string()
                };
                let ts: i64 = h("x-paycommon-timestamp").parse().unwrap_or(0);
                let valid = h("x-paycommon-signature")
                    == pay_common::store::dispatch::sign(SECRET.as_bytes(), ts, &body);
                let event: Value = serde_json::from_str(&body).unwrap_or_default();
                let id = h("x-paycommon-event-id");
                assert_eq!(event["id"], id.as_str());
                received.0.lock().unwrap().push((
                    id,
                    event["type"].as_str().unwrap_or_default().to_string(),
                    valid,
                ));
                StatusCode::OK
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/hook")
}

#[tokio::test]
async fn ledger_loop_delivers_each_business_event_once() {
    let received = Received::default();
    let hook = receiver(received.clone()).await;
    let extra = vec![
        ("businessWebhookUrl", hook),
        ("businessWebhookSecret", SECRET.to_string()),
    ];
    let app = spawn(Opts {
        extra,
        ..Default::default()
    })
    .await;
    let no = "ORDER_LEDGER_LOOP";
    assert_eq!(app.order(ALICE, no, 50).await.status, 200);
    app.sim.pay(no).unwrap();
    app.wait_state(no, "PAID").await;
    let refund = json!({ "out_trade_no": no, "out_refund_no": "R_LEDGER_LOOP", "amount": { "refund": 50, "total": 50 } });
    assert_eq!(
        app.call(As::Admin, "wxpay_refund", refund).await.status,
        200
    );
    app.sim.complete_refund("R_LEDGER_LOOP", "SUCCESS").unwrap();
    app.wait_state(no, "REFUNDED").await;
    for _ in 0..3 {
        let r = app
            .post("/wx-pay/admin/reconcile", As::Admin, "{}".into())
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let got = received.0.lock().unwrap().clone();
    let types: Vec<&str> = got.iter().map(|(_, t, _)| t.as_str()).collect();
    assert_eq!(types, ["order.paid", "refund.succeeded"], "{got:?}");
    assert!(
        got.iter().all(|(_, _, valid)| *valid),
        "every delivery carries a valid HMAC signature"
    );
    let events = app
        .post("/wx-pay/admin/events", As::Admin, "{}".into())
        .await;
    let list = events.payload()["events"].as_array().unwrap().clone();
    assert!(
        list.iter()
            .all(|e| e["delivered_at"].is_i64() && e["attempts"] == 1),
        "{list:?}"
    );
    let r = app
        .post("/wx-pay/admin/events", As::User(ALICE), "{}".into())
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn timer_trigger_reconciles_without_the_credential_but_is_rate_limited() {
    let app = spawn(Opts {
        deliver_callbacks: false,
        // No background passes: the trigger must be the one that reconciles.
        extra: vec![
            ("reconcileGraceSeconds", "0".into()),
            ("reconcileIntervalSeconds", "0".into()),
        ],
        ..Default::default()
    })
    .await;
    let no = "ORDER_TIMER_TRIG1";
    app.order(ALICE, no, 20).await;
    app.sim.pay(no).unwrap();
    let timer = json!({ "Type": "Timer", "TriggerName": "pay-common-reconcile", "Time": "2026-11-27T08:05:00Z", "Message": "" });
    let r = app.post("/", As::Anonymous, timer.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.payload()["reconcile"]["orders_paid"], 1, "{}", r.body);
    assert_eq!(app.view(no).await["state"], "PAID");
    let again = app
        .post("/wx-pay/admin/reconcile", As::Anonymous, timer.to_string())
        .await;
    assert!(again.msg().starts_with("skipped"), "{}", again.body);
    let r = app
        .post("/wx-pay/admin/reconcile", As::Anonymous, "{}".into())
        .await;
    assert_eq!(r.status, 403, "no credential and no trigger marker");
}

#[tokio::test]
async fn confirmed_transfer_callback_settles_the_ledger_once() {
    let app = spawn(Opts::default()).await;
    let body = json!({
        "out_bill_no": "BILLLOOP1", "transfer_scene_id": "1000", "openid": ALICE, "transfer_amount": 300,
        "transfer_remark": "cash prize", "transfer_scene_report_infos": [{ "info_type": "活动名称", "info_content": "新会员有礼" }]
    });
    let r = app.call(As::Admin, "wxpay_transfer", body).await;
    assert_eq!(r.payload()["state"], "WAIT_USER_CONFIRM", "{}", r.body);
    assert!(r.payload()["package_info"].is_string());
    app.sim.confirm_transfer("BILLLOOP1").unwrap();
    let filter = json!({ "event_type": "transfer.succeeded" }).to_string();
    for _ in 0..200 {
        let events = app
            .post("/wx-pay/admin/events", As::Admin, filter.clone())
            .await;
        let list = events.payload()["events"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !list.is_empty() {
            assert_eq!(list.len(), 1);
            assert_eq!(list[0]["data"]["out_bill_no"], "BILLLOOP1", "{list:?}");
            assert_eq!(list[0]["data"]["state"], "SUCCESS");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!(
        "the transfer callback never settled the ledger: {:?}",
        app.sim.deliveries()
    );
}

#[tokio::test]
async fn a_hanging_wechat_costs_the_pass_its_timeouts_and_applies_nothing() {
    let app = spawn(Opts {
        deliver_callbacks: false,
        extra: vec![
            ("reconcileGraceSeconds", "0".into()),
            ("wechatpayTimeoutMs", "500".into()),
        ],
        ..Default::default()
    })
    .await;
    let numbers: Vec<String> = (0..5).map(|i| format!("ORDER_HANG_API{i}")).collect();
    for no in &numbers {
        assert_eq!(app.order(ALICE, no, 20).await.status, 200);
        app.sim.pay(no).unwrap();
    }
    app.sim.inject(pay_common::simulator::FaultRule::new(
        "query_by_out_trade_no",
        pay_common::simulator::Fault::Hang,
        5,
    ));
    let started = std::time::Instant::now();
    let r = app
        .post("/wx-pay/admin/reconcile", As::Admin, "{}".into())
        .await;
    // Not asserted (no timed assertions): four queries run at once, so about two timeouts.
    eprintln!(
        "reconcile pass over 5 hanging queries took {:?}",
        started.elapsed()
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let summary = &r.payload()["reconcile"];
    assert_eq!(
        (
            summary["orders_checked"].as_u64(),
            summary["errors"].as_u64(),
            summary["orders_paid"].as_u64(),
            summary["deferred"].as_u64()
        ),
        (Some(5), Some(5), Some(0), Some(0)),
        "{}",
        r.body
    );
    assert!(app.sim.faults().is_empty(), "every query met the hang");
    for no in &numbers {
        assert_eq!(
            app.view(no).await["state"],
            "NOTPAY",
            "nothing applied from a hung query"
        );
    }
}
