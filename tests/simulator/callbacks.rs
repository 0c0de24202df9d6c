//! Callbacks: SDK envelopes verify and decrypt, gateway forwards carry the ciphertext of
//! their ParsedContent, retries stop at the first 2xx.

use pay_common::simulator::{CallbackMode, DeliveryKind, SimulatorHandle};
use pay_common::wechatpay::crypto::{self, SignedHeaders, decrypt_resource};
use serde_json::{Value, json};

use crate::support::*;

/// Verifies an SDK callback with the simulator's public key and returns the plaintext.
pub fn open_sdk(sim: &SimulatorHandle, m: &Merchant, c: &Captured) -> Result<Value, String> {
    let h = SignedHeaders::from_headers(&c.headers);
    let key = sim.public_key();
    let id = sim.public_key_id();
    let now = crypto::Clock::now(&crypto::SystemClock);
    crypto::verify_signed(&h, &c.body, now, |s| (s == id).then_some(&key))
        .map_err(|e| e.to_string())?;
    let env: Value = serde_json::from_slice(&c.body).unwrap();
    open_resource(m, &env["resource"])
}

pub fn open_resource(m: &Merchant, r: &Value) -> Result<Value, String> {
    let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
    let plain = decrypt_resource(
        m.api_v3_key.as_bytes(),
        &s("nonce"),
        &s("associated_data"),
        &s("ciphertext"),
    )
    .map_err(|e| e.to_string())?;
    Ok(serde_json::from_slice(&plain).unwrap())
}

#[tokio::test]
async fn sdk_callbacks_are_signed_encrypted_and_keep_the_notify_path() {
    let rx = receiver(0).await;
    let (sim, m) = start(|c| {
        c.callback_mode = CallbackMode::Sdk;
        c.callback_target = Some(rx.url.clone());
    })
    .await;
    place(&m, "T50000001", 100).await;
    sim.pay("T50000001").unwrap();
    wait_until("the pay callback", || !rx.captured().is_empty()).await;
    let c = &rx.captured()[0];
    assert_eq!(c.path, "/wx-pay/unifiedOrderTrigger");
    assert_eq!(
        c.headers["Wechatpay-Signature-Type"],
        "WECHATPAY2-SHA256-RSA2048"
    );
    let env: Value = serde_json::from_slice(&c.body).unwrap();
    assert_eq!(env["event_type"], "TRANSACTION.SUCCESS");
    assert_eq!(env["resource"]["associated_data"], "transaction");
    assert_eq!(env["resource"]["nonce"].as_str().unwrap().len(), 12);
    let plain = open_sdk(&sim, &m, c).unwrap();
    assert_eq!(
        (plain["out_trade_no"].clone(), plain["trade_state"].clone()),
        (json!("T50000001"), json!("SUCCESS"))
    );
    let mut forged = c.clone();
    forged.body = c
        .body
        .iter()
        .map(|b| if *b == b'S' { b'X' } else { *b })
        .collect::<Vec<u8>>()
        .into();
    assert!(
        open_sdk(&sim, &m, &forged).is_err(),
        "signature covers the body"
    );
    assert_eq!(sim.deliveries()[0].status, Some(200));
}

#[tokio::test]
async fn gateway_forwards_carry_ciphertext_that_decrypts_to_parsed_content() {
    let rx = receiver(0).await;
    let (sim, m) = start(|c| c.callback_target = Some(rx.url.clone())).await;
    place(&m, "T50000002", 100).await;
    sim.pay("T50000002").unwrap();
    let r = m
        .call(
            "POST",
            "/v3/refund/domestic/refunds",
            Some(&json!({
        "out_trade_no": "T50000002", "out_refund_no": "R50000002",
        "notify_url": "https://pay.example.com/wx-pay/refundTrigger",
        "amount": {"refund": 100, "total": 100, "currency": "CNY"}})),
        )
        .await;
    assert_eq!(r.status, 200);
    sim.complete_refund("R50000002", "SUCCESS").unwrap();
    wait_until("two forwards", || rx.captured().len() == 2).await;
    for (c, event, aad) in rx
        .captured()
        .iter()
        .zip(["TRANSACTION.SUCCESS", "REFUND.SUCCESS"])
        .map(|(c, e)| {
            (
                c,
                e,
                if e.starts_with("REFUND") {
                    "refund"
                } else {
                    "transaction"
                },
            )
        })
    {
        assert!(c.headers.contains_key("x-tcb-integration-id"));
        assert!(c.headers.get("Wechatpay-Signature").is_none());
        let body: Value = serde_json::from_slice(&c.body).unwrap();
        assert_eq!(body["ParsedNotify"]["event_type"], event);
        assert_eq!(body["rawData"]["event_type"], event);
        assert_eq!(body["rawData"]["resource"]["associated_data"], aad);
        assert_eq!(
            open_resource(&m, &body["rawData"]["resource"]).unwrap(),
            body["ParsedContent"]
        );
    }
    let refund: Value = serde_json::from_slice(&rx.captured()[1].body).unwrap();
    assert_eq!(refund["ParsedContent"]["refund_status"], "SUCCESS");
    assert_eq!(rx.captured()[1].path, "/wx-pay/refundTrigger");
}

#[tokio::test]
async fn retries_follow_the_compressed_schedule_and_stop_after_a_2xx() {
    let rx = receiver(2).await;
    let (sim, m) = start(|c| {
        c.callback_target = Some(rx.url.clone());
        c.time_scale = 0.001;
    })
    .await;
    place(&m, "T50000003", 100).await;
    sim.pay("T50000003").unwrap();
    wait_until("an acknowledged attempt", || {
        sim.deliveries().iter().any(|d| d.status == Some(200))
    })
    .await;
    // The next retry would be due 30 ms later; give it three times that to (not) happen.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let log = sim.deliveries();
    let statuses: Vec<_> = log.iter().map(|d| (d.attempt, d.status)).collect();
    assert_eq!(
        statuses,
        vec![(1, Some(500)), (2, Some(500)), (3, Some(200))]
    );
    assert!(
        log.iter()
            .all(|d| d.notification_id == log[0].notification_id && d.kind == DeliveryKind::Normal)
    );
    assert_eq!(rx.captured().len(), 3);
}

#[tokio::test]
async fn transfer_callbacks_use_mch_payment_and_fire_on_every_terminal_state() {
    let rx = receiver(0).await;
    let (sim, m) = start(|c| {
        c.callback_mode = CallbackMode::Sdk;
        c.callback_target = Some(rx.url.clone());
    })
    .await;
    for no in ["B6", "B7"] {
        let r = m
            .call(
                "POST",
                "/v3/fund-app/mch-transfer/transfer-bills",
                Some(&json!({
            "appid": APPID, "out_bill_no": no, "transfer_scene_id": "1000", "openid": "o1",
            "transfer_amount": 100, "transfer_remark": "r",
            "notify_url": "https://pay.example.com/wx-pay/transferTrigger",
            "transfer_scene_report_infos": [{"info_type": "a", "info_content": "b"}]})),
            )
            .await;
        assert_eq!(r.status, 200);
    }
    sim.confirm_transfer("B6").unwrap();
    m.call(
        "POST",
        "/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/B7/cancel",
        None,
    )
    .await;
    wait_until("two transfer callbacks", || rx.captured().len() == 2).await;
    let mut states: Vec<String> = rx
        .captured()
        .iter()
        .map(|c| {
            let env: Value = serde_json::from_slice(&c.body).unwrap();
            assert_eq!(env["event_type"], "MCHTRANSFER.BILL.FINISHED");
            assert_eq!(env["resource"]["associated_data"], "mch_payment");
            open_sdk(&sim, &m, c).unwrap()["state"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    states.sort();
    assert_eq!(states, vec!["CANCELLED", "SUCCESS"]);
}

#[tokio::test]
async fn certificate_mode_callbacks_carry_the_certificate_serial() {
    let rx = receiver(0).await;
    let (sim, m) = start(|c| {
        c.callback_mode = CallbackMode::Sdk;
        c.callback_target = Some(rx.url.clone());
        c.sign_callbacks_with_certificate = true;
    })
    .await;
    place(&m, "T50000004", 100).await;
    sim.pay("T50000004").unwrap();
    wait_until("the pay callback", || !rx.captured().is_empty()).await;
    let c = &rx.captured()[0];
    let h = SignedHeaders::from_headers(&c.headers);
    assert_eq!(h.serial, sim.platform_certificate_serial());
    let cert =
        pay_common::wechatpay::keys::PublicKey::from_pem(&sim.platform_certificate_pem()).unwrap();
    let now = crypto::Clock::now(&crypto::SystemClock);
    crypto::verify_signed(&h, &c.body, now, |s| (s == h.serial).then_some(&cert)).unwrap();
    assert!(
        open_sdk(&sim, &m, c).is_err(),
        "not signed with the public-key pair"
    );
}
