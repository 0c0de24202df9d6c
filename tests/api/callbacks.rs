//! The payment loop through callbacks, in both modes, and callbacks that must change nothing.

use pay_common::simulator::{CallbackMode, Fault, FaultRule};
use serde_json::json;

use crate::support::*;

async fn pay_loop(mode: CallbackMode) {
    let app = spawn(Opts {
        mode,
        ..Default::default()
    })
    .await;
    let no = "ORDER_LOOP_000001";
    assert_eq!(app.order(ALICE, no, 20).await.status, 200);
    app.sim.pay(no).unwrap();
    let v = app.wait_state(no, "PAID").await;
    assert!(v["transaction_id"].is_string(), "{v}");
    let delivered: Vec<_> = app
        .sim
        .deliveries()
        .into_iter()
        .filter(|d| d.event_type == "TRANSACTION.SUCCESS")
        .collect();
    assert!(
        delivered.iter().any(|d| d.status == Some(200)),
        "{delivered:?}"
    );
    let refund = json!({ "out_trade_no": no, "out_refund_no": "REFUND_LOOP_0001", "amount": { "refund": 20, "total": 20 } });
    let r = app.call(As::Admin, "wxpay_refund", refund).await;
    assert_eq!(r.status, 200, "{}", r.body);
    app.sim
        .complete_refund("REFUND_LOOP_0001", "SUCCESS")
        .unwrap();
    let v = app.wait_state(no, "REFUNDED").await;
    assert_eq!(v["refunded"], 20, "{v}");
}

#[tokio::test]
async fn gateway_mode_order_pay_callback_refund_callback_loop() {
    pay_loop(CallbackMode::Gateway).await;
}

#[tokio::test]
async fn sdk_mode_order_pay_callback_refund_callback_loop() {
    pay_loop(CallbackMode::Sdk).await;
}

#[tokio::test]
async fn forged_gateway_callback_changes_nothing() {
    let app = spawn(Opts::default()).await;
    let no = "ORDER_FORGED_0001";
    app.order(ALICE, no, 20).await;
    let forged = json!({
        "ParsedContent": { "out_trade_no": no, "trade_state": "SUCCESS", "appid": APPID, "mchid": MCHID,
            "transaction_id": "4200000000000000000000000001", "amount": { "total": 20, "currency": "CNY" } },
        "ParsedNotify": { "id": "forged-1", "event_type": "TRANSACTION.SUCCESS" },
        "rawData": { "id": "forged-1", "event_type": "TRANSACTION.SUCCESS" },
    });
    let r = app
        .post("/wechatpay/order", As::Anonymous, forged.to_string())
        .await;
    assert!(r.status == 200 || r.status >= 400, "{}", r.body);
    assert_eq!(
        app.view(no).await["state"],
        "NOTPAY",
        "a forward without ciphertext is confirmed with WeChat, which says NOTPAY"
    );
    let mut tampered = forged.clone();
    tampered["rawData"]["resource"] = json!({ "algorithm": "AEAD_AES_256_GCM", "ciphertext": "AAAAAAAAAAAAAAAAAAAAAAAAAAAA", "nonce": "abcdefghijkl", "associated_data": "transaction" });
    let r = app.post("/", As::Anonymous, tampered.to_string()).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (401, Some("FAIL")),
        "{}",
        r.body
    );
    assert_eq!(app.view(no).await["state"], "NOTPAY");
    app.sim.pay(no).unwrap();
    app.wait_state(no, "PAID").await;
}

#[tokio::test]
async fn unsigned_or_badly_signed_sdk_callbacks_change_nothing() {
    let app = spawn(Opts {
        mode: CallbackMode::Sdk,
        ..Default::default()
    })
    .await;
    let no = "ORDER_SDK_PROBE01";
    app.order(ALICE, no, 20).await;
    app.sim.inject(FaultRule::new(
        "TRANSACTION.SUCCESS",
        Fault::SignTestProbe,
        1,
    ));
    app.sim.inject(FaultRule::new(
        "TRANSACTION.SUCCESS",
        Fault::TamperedCiphertext,
        1,
    ));
    app.sim.pay(no).unwrap();
    app.wait_state(no, "PAID").await;
    let deliveries = app.sim.deliveries();
    let rejected: Vec<_> = deliveries
        .iter()
        .filter(|d| d.status.is_some_and(|s| s >= 400))
        .collect();
    assert!(
        rejected.len() >= 2,
        "probe and tampered copies must be answered FAIL: {deliveries:?}"
    );
    let forged =
        json!({ "id": "x", "event_type": "TRANSACTION.SUCCESS", "resource": {} }).to_string();
    let resp = app
        .http
        .post(format!("{}/wx-pay/unifiedOrderTrigger", app.base))
        .header("Wechatpay-Timestamp", "1")
        .header("Wechatpay-Nonce", "n")
        .header("Wechatpay-Serial", "s")
        .header("Wechatpay-Signature", "WECHATPAY/SIGNTEST/abc")
        .body(forged)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "FAIL");
}

#[tokio::test]
async fn duplicate_and_out_of_order_callbacks_are_applied_once() {
    let app = spawn(Opts::default()).await;
    let no = "ORDER_DUPLICATE01";
    app.order(ALICE, no, 20).await;
    app.sim
        .inject(FaultRule::new("TRANSACTION.SUCCESS", Fault::Duplicate, 1));
    app.sim
        .inject(FaultRule::new("TRANSACTION.SUCCESS", Fault::OutOfOrder, 1));
    app.sim.pay(no).unwrap();
    let v = app.wait_state(no, "PAID").await;
    for _ in 0..100 {
        if app.sim.deliveries().len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        app.sim.deliveries().iter().all(|d| d.status == Some(200)),
        "{:?}",
        app.sim.deliveries()
    );
    assert_eq!(app.view(no).await, v, "later copies change nothing");
}

#[tokio::test]
async fn a_late_callback_is_covered_by_the_query_fallback() {
    let app = spawn(Opts {
        deliver_callbacks: false,
        ..Default::default()
    })
    .await;
    let no = "ORDER_QUERY_FALLB";
    app.order(ALICE, no, 20).await;
    app.sim.pay(no).unwrap();
    assert_eq!(
        app.view(no).await["state"],
        "NOTPAY",
        "no callback can arrive"
    );
    let r = app
        .call(
            As::User(ALICE),
            "wxpay_query_order_by_out_trade_no",
            json!({ "out_trade_no": no }),
        )
        .await;
    assert_eq!(r.payload()["trade_state"], "SUCCESS", "{}", r.body);
    assert_eq!(
        app.view(no).await["state"],
        "PAID",
        "a verified query answer updates the ledger"
    );
}

#[tokio::test]
async fn mid_migration_callbacks_signed_by_the_platform_certificate_are_accepted() {
    let app = spawn(Opts {
        mode: CallbackMode::Sdk,
        certificate_callbacks: true,
        ..Default::default()
    })
    .await;
    let no = "ORDER_MIGRATION01";
    app.order(ALICE, no, 20).await;
    app.sim.pay(no).unwrap();
    app.wait_state(no, "PAID").await;
    let downloads = app
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.target == "/v3/certificates")
        .count();
    assert_eq!(
        downloads, 1,
        "one rate-limited download for the unknown serial"
    );
}
