//! Request verification and response signatures.

use std::sync::Arc;

use pay_common::wechatpay::crypto::{FixedClock, decrypt_resource};
use pay_common::wechatpay::keys::PublicKey;

use crate::support::*;

#[tokio::test]
async fn a_well_signed_order_is_accepted_and_answered_with_a_public_key_signature() {
    let (sim, m) = start(|_| {}).await;
    let r = m
        .call(
            "POST",
            "/v3/pay/transactions/jsapi",
            Some(&order_body("T20240001", 100)),
        )
        .await;
    assert_eq!(r.status, 200);
    let prepay = r.json()["prepay_id"].as_str().unwrap().to_string();
    assert!(prepay.starts_with("wx") && prepay[2..].chars().all(|c| c.is_ascii_digit()));
    assert_eq!(r.header("Wechatpay-Serial"), sim.public_key_id());
    assert!(!r.header("Request-ID").is_empty());
    r.verify(&sim.public_key_id(), &sim.public_key()).unwrap();
    let other = pay_common::wechatpay::keys::MerchantKey::generate().public_key();
    assert!(r.verify(&sim.public_key_id(), &other).is_err());
    assert_eq!(sim.request_counts(), (1, 0));
}

#[tokio::test]
async fn one_changed_body_byte_is_a_sign_error() {
    let (sim, m) = start(|_| {}).await;
    let body = order_body("T20240002", 100);
    let mut sent = serde_json::to_vec(&body).unwrap();
    let i = sent.iter().position(|b| *b == b'1').unwrap();
    sent[i] = b'2';
    let t = Tweak {
        sent_body: Some(sent),
        ..Tweak::default()
    };
    let r = m
        .call_with("POST", "/v3/pay/transactions/jsapi", Some(&body), t)
        .await;
    assert_eq!((r.status, r.code().as_str()), (401, "SIGN_ERROR"));
    assert!(!r.header("Request-ID").is_empty());
    assert!(
        r.header("Wechatpay-Signature").is_empty(),
        "errors are not signed"
    );
    let log = sim.requests();
    assert!(!log[0].accepted && log[0].code.as_deref() == Some("SIGN_ERROR"));
    assert!(
        sim.order("T20240002").is_none(),
        "a rejected request changes nothing"
    );
}

#[tokio::test]
async fn the_timestamp_window_is_300_seconds_on_the_simulator_clock() {
    let now = 1_722_850_421;
    let clock = Arc::new(FixedClock::new(now));
    let (sim, m) = start(|c| c.clock = clock.clone()).await;
    let q = format!("/v3/pay/transactions/out-trade-no/NOPE000001?mchid={MCHID}");
    for (ts, status) in [
        (now - 301, 401),
        (now + 301, 401),
        (now - 300, 404),
        (now + 300, 404),
    ] {
        let t = Tweak {
            timestamp: Some(ts),
            ..Tweak::default()
        };
        let r = m.call_with("GET", &q, None, t).await;
        assert_eq!(r.status, status, "timestamp {ts}: {:?}", r.json());
    }
    assert_eq!(sim.request_counts(), (2, 2));
}

#[tokio::test]
async fn wrong_merchant_serial_missing_header_and_unknown_key_id_are_rejected() {
    let (sim, mut m) = start(|_| {}).await;
    let body = order_body("T20240003", 100);
    let path = "/v3/pay/transactions/jsapi";
    let wrong_mchid = Tweak {
        mchid: Some("1900000999".into()),
        ..Tweak::default()
    };
    let r = m.call_with("POST", path, Some(&body), wrong_mchid).await;
    assert_eq!((r.status, r.code().as_str()), (400, "MCH_NOT_EXISTS"));
    let wrong_serial = Tweak {
        serial: Some("0".repeat(40)),
        ..Tweak::default()
    };
    let r = m.call_with("POST", path, Some(&body), wrong_serial).await;
    assert_eq!((r.status, r.code().as_str()), (401, "SIGN_ERROR"));
    let r = m
        .call_with(
            "POST",
            path,
            Some(&body),
            Tweak {
                no_auth: true,
                ..Tweak::default()
            },
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (401, "SIGN_ERROR"));
    let mut other = body.clone();
    other["mchid"] = "1900000999".into();
    let r = m.call("POST", path, Some(&other)).await;
    assert_eq!((r.status, r.code().as_str()), (400, "MCH_NOT_EXISTS"));
    let mut other = body.clone();
    other["appid"] = "wx0000000000000000".into();
    let r = m.call("POST", path, Some(&other)).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "APPID_MCHID_NOT_MATCH")
    );
    m.wechatpay_serial = Some("PUB_KEY_ID_0000".into());
    let r = m.call("POST", path, Some(&body)).await;
    assert_eq!((r.status, r.code().as_str()), (400, "PARAM_ERROR"));
    assert_eq!(
        sim.request_counts().0,
        2,
        "only the two body checks passed authentication"
    );
}

#[tokio::test]
async fn bad_bodies_name_the_field_and_unknown_routes_are_404() {
    let (_sim, m) = start(|_| {}).await;
    let mut body = order_body("T20240004", 100);
    body["amount"]["total"] = (-5).into();
    let r = m
        .call("POST", "/v3/pay/transactions/jsapi", Some(&body))
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "PARAM_ERROR"));
    assert_eq!(r.json()["detail"]["field"], "/amount/total");
    assert_eq!(r.json()["detail"]["location"], "body");
    let r = m.call("GET", "/v3/no/such/thing", None).await;
    assert_eq!(r.status, 404);
    assert!(!r.code().is_empty() && !r.header("Request-ID").is_empty());
    let r = m.call("GET", "/v3/pay/transactions/jsapi", None).await;
    assert_eq!((r.status, r.code().as_str()), (405, "METHOD_NOT_ALLOWED"));
}

#[tokio::test]
async fn the_204_of_close_verifies_with_the_certificate_from_v3_certificates() {
    let (sim, mut m) = start(|_| {}).await;
    m.wechatpay_serial = None;
    let certs = m.call("GET", "/v3/certificates", None).await;
    assert_eq!(certs.status, 200);
    let entry = &certs.json()["data"][0];
    let enc = &entry["encrypt_certificate"];
    assert_eq!(enc["algorithm"], "AEAD_AES_256_GCM");
    assert_eq!(enc["associated_data"], "certificate");
    let pem = decrypt_resource(
        m.api_v3_key.as_bytes(),
        enc["nonce"].as_str().unwrap(),
        "certificate",
        enc["ciphertext"].as_str().unwrap(),
    )
    .unwrap();
    let cert_key = PublicKey::from_pem(std::str::from_utf8(&pem).unwrap()).unwrap();
    let serial = entry["serial_no"].as_str().unwrap();
    assert_eq!(serial, sim.platform_certificate_serial());
    assert!(
        serial
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
    );
    certs.verify(serial, &cert_key).unwrap();

    place(&m, "T20240005", 100).await;
    let close = serde_json::json!({"mchid": MCHID});
    let r = m
        .call(
            "POST",
            "/v3/pay/transactions/out-trade-no/T20240005/close",
            Some(&close),
        )
        .await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    assert_eq!(r.header("Wechatpay-Serial"), serial);
    r.verify(serial, &cert_key).unwrap();
    assert!(r.verify(&sim.public_key_id(), &sim.public_key()).is_err());
}

#[tokio::test]
async fn debug_output_never_shows_the_api_v3_key() {
    let key = pay_common::wechatpay::keys::MerchantKey::generate();
    let secret = pay_common::simulator::generate_api_v3_key();
    let cfg = pay_common::simulator::SimulatorConfig::new(
        MCHID,
        SERIAL,
        key.public_key(),
        secret.clone(),
    );
    assert!(!format!("{cfg:?}").contains(&secret));
    let sim = pay_common::simulator::Simulator::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    assert!(!format!("{sim:?}").contains(&secret));
}
