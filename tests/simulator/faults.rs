//! Fault injection fires exactly the configured number of times, from Rust and over HTTP.

use std::time::{Duration, Instant};

use pay_common::simulator::{CallbackMode, DeliveryKind, Fault, FaultRule};
use pay_common::wechatpay::crypto::SIGNTEST_PREFIX;
use serde_json::{Value, json};

use crate::callbacks::open_sdk;
use crate::support::*;

const JSAPI: &str = "/v3/pay/transactions/jsapi";

#[tokio::test]
async fn api_faults_fire_the_configured_number_of_times() {
    let (sim, m) = start(|_| {}).await;
    sim.inject(FaultRule::new("jsapi", Fault::SystemError, 2));
    sim.inject(FaultRule::new("native", Fault::BadGateway, 1));
    let body = order_body("T60000001", 100);
    for _ in 0..2 {
        let r = m.call("POST", JSAPI, Some(&body)).await;
        assert_eq!((r.status, r.code().as_str()), (500, "SYSTEM_ERROR"));
    }
    assert!(
        sim.order("T60000001").is_none(),
        "a SYSTEM_ERROR call has no effect"
    );
    assert_eq!(m.call("POST", JSAPI, Some(&body)).await.status, 200);
    let r = m
        .call("POST", "/v3/pay/transactions/native", Some(&body))
        .await;
    assert_eq!(r.status, 502);
    assert!(
        serde_json::from_slice::<Value>(&r.body).is_err(),
        "502 body is not JSON"
    );
    assert!(sim.faults().is_empty());
}

#[tokio::test]
async fn signature_faults_break_verification_once() {
    let (sim, m) = start(|_| {}).await;
    sim.inject(FaultRule::new("*", Fault::WrongKey, 1));
    sim.inject(FaultRule::new("*", Fault::SignTest, 1));
    let q = format!("/v3/pay/transactions/out-trade-no/T60000002?mchid={MCHID}");
    place(&m, "T60000002", 100).await; // consumes WrongKey
    let r = m.call("GET", &q, None).await;
    assert!(r.header("Wechatpay-Signature").starts_with(SIGNTEST_PREFIX));
    assert!(r.verify(&sim.public_key_id(), &sim.public_key()).is_err());
    let r = m.call("GET", &q, None).await;
    r.verify(&sim.public_key_id(), &sim.public_key()).unwrap();

    sim.inject(FaultRule::new("query_by_out_trade_no", Fault::WrongKey, 1));
    let r = m.call("GET", &q, None).await;
    assert_eq!(r.status, 200);
    assert!(r.verify(&sim.public_key_id(), &sim.public_key()).is_err());
}

#[tokio::test]
async fn latency_delays_and_hang_outlasts_the_client_timeout() {
    let (sim, mut m) = start(|_| {}).await;
    sim.inject(FaultRule::new(
        "certificates",
        Fault::Latency { ms: 150 },
        1,
    ));
    let t = Instant::now();
    assert_eq!(m.call("GET", "/v3/certificates", None).await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(150));
    sim.inject(FaultRule::new("certificates", Fault::Hang, 1));
    m.http = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let url = format!("{}/v3/certificates", m.base);
    assert!(
        m.http
            .get(url)
            .header("authorization", "x")
            .send()
            .await
            .unwrap_err()
            .is_timeout()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn callback_faults_probe_tamper_duplicate_and_reorder() {
    let rx = receiver(0).await;
    let (sim, m) = start(|c| {
        c.callback_mode = CallbackMode::Sdk;
        c.callback_target = Some(rx.url.clone());
    })
    .await;
    for f in [
        Fault::SignTestProbe,
        Fault::TamperedCiphertext,
        Fault::Duplicate,
        Fault::OutOfOrder,
    ] {
        sim.inject(FaultRule::new("callback", f, 1));
    }
    place(&m, "T60000003", 100).await;
    sim.pay("T60000003").unwrap();
    wait_until("five deliveries", || sim.deliveries().len() == 5).await;
    let kinds: Vec<DeliveryKind> = sim.deliveries().iter().map(|d| d.kind).collect();
    use DeliveryKind::*;
    assert_eq!(kinds, vec![Probe, Tampered, Normal, Duplicate, Stale]);
    let got = rx.captured();
    assert!(
        got[0].headers["Wechatpay-Signature"]
            .to_str()
            .unwrap()
            .starts_with(SIGNTEST_PREFIX)
    );
    assert!(open_sdk(&sim, &m, &got[0]).is_err());
    assert!(
        open_sdk(&sim, &m, &got[1])
            .unwrap_err()
            .contains("authentication")
    );
    assert_eq!(
        open_sdk(&sim, &m, &got[2]).unwrap()["trade_state"],
        "SUCCESS"
    );
    assert_eq!(
        got[3].body, got[2].body,
        "duplicate is the same notification"
    );
    assert_eq!(
        open_sdk(&sim, &m, &got[4]).unwrap()["trade_state"],
        "USERPAYING"
    );
    // Faults are spent: the next payment is delivered once.
    place(&m, "T60000004", 100).await;
    sim.pay("T60000004").unwrap();
    wait_until("sixth delivery", || sim.deliveries().len() == 6).await;
}

#[tokio::test]
async fn the_control_api_drives_the_same_simulator() {
    let rx = receiver(0).await;
    let (sim, m) = start(|c| c.callback_target = Some(rx.url.clone())).await;
    let http = reqwest::Client::new();
    let base = sim.base_url();
    let info: Value = http
        .get(format!("{base}/sim/info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["public_key_id"], sim.public_key_id());
    let armed = http
        .post(format!("{base}/sim/faults"))
        .json(&json!({"endpoint": "jsapi", "kind": "system_error", "times": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(armed.status(), 200);
    assert_eq!(
        m.call("POST", JSAPI, Some(&order_body("T60000005", 100)))
            .await
            .status,
        500
    );
    place(&m, "T60000005", 100).await;
    let paid: Value = http
        .post(format!("{base}/sim/orders/T60000005/pay"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(paid["trade_state"], "SUCCESS");
    let missing = http
        .post(format!("{base}/sim/orders/NOPE000000/pay"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    wait_until("the callback", || !rx.captured().is_empty()).await;
    let log: Value = http
        .get(format!("{base}/sim/deliveries"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log[0]["event_type"], "TRANSACTION.SUCCESS");
    assert_eq!(log[0]["status"], 200);
    let order: Value = http
        .get(format!("{base}/sim/orders/T60000005"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(order["trade_state"], "SUCCESS");
}

#[tokio::test]
async fn gateway_forgeries_keep_a_believable_parsed_content() {
    let rx = receiver(0).await;
    let (sim, m) = start(|c| c.callback_target = Some(rx.url.clone())).await;
    sim.inject(FaultRule::new(
        "TRANSACTION.SUCCESS",
        Fault::SignTestProbe,
        1,
    ));
    sim.inject(FaultRule::new(
        "TRANSACTION.SUCCESS",
        Fault::TamperedCiphertext,
        1,
    ));
    place(&m, "T60000006", 100).await;
    sim.pay("T60000006").unwrap();
    wait_until("three forwards", || rx.captured().len() == 3).await;
    let bodies: Vec<Value> = rx
        .captured()
        .iter()
        .map(|c| serde_json::from_slice(&c.body).unwrap())
        .collect();
    for b in &bodies {
        assert_eq!(b["ParsedContent"]["trade_state"], "SUCCESS");
    }
    assert!(
        bodies[0]["rawData"].get("resource").is_none(),
        "probe: no ciphertext to check"
    );
    let tampered = crate::callbacks::open_resource(&m, &bodies[1]["rawData"]["resource"]);
    assert!(
        tampered.is_err(),
        "tampered ciphertext fails authentication"
    );
    let real = crate::callbacks::open_resource(&m, &bodies[2]["rawData"]["resource"]).unwrap();
    assert_eq!(real, bodies[2]["ParsedContent"]);
}
