//! Platform-certificate mode recovers in seconds when WeChat is unreachable while the service
//! starts: failed downloads are retried with a short backoff, and while no certificate is held
//! an unknown serial asks for a download at once (the 60 s limit is for the healthy case).

use std::time::Duration;

use pay_common::simulator::{Fault, FaultRule};
use tokio::time::Instant;

use crate::support::*;

#[tokio::test]
async fn an_order_succeeds_soon_after_the_certificate_download_comes_back() {
    // WeChat refuses `GET /v3/certificates` from before the service starts until we clear it.
    let refused = FaultRule::new("certificates", Fault::SystemError, u32::MAX);
    let app = spawn(Opts {
        public_key_mode: false,
        sim_faults: vec![refused],
        ..Default::default()
    })
    .await;
    let outage_ends = Instant::now() + Duration::from_secs(2);

    // Meanwhile no answer can be verified: the order is not reported as placed.
    let r = app.order(ALICE, "CERT_DOWN_1", 10).await;
    assert_ne!(r.status, 200, "{}", r.body);

    tokio::time::sleep_until(outage_ends).await;
    app.sim.clear_faults();
    let deadline = Instant::now() + Duration::from_secs(3);
    for n in 1.. {
        let r = app.order(ALICE, &format!("CERT_BACK_{n}"), 10).await;
        if r.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no order succeeded within 3 s of the certificates' return: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.health().await["platformCertificates"], 1);

    let downloads: Vec<u16> = app
        .sim
        .requests()
        .iter()
        .filter(|r| r.endpoint == "certificates")
        .map(|r| r.status)
        .collect();
    let failed = downloads.iter().filter(|s| **s == 500).count();
    assert!(
        failed >= 2,
        "downloads were retried during the outage: {downloads:?}"
    );
    assert_eq!(downloads.last(), Some(&200), "{downloads:?}");
}

#[tokio::test]
async fn with_certificates_held_forged_serials_buy_no_download() {
    let app = spawn(Opts {
        public_key_mode: false,
        mode: pay_common::simulator::CallbackMode::Sdk,
        ..Default::default()
    })
    .await;
    let r = app.order(ALICE, "CERT_HEALTHY_1", 10).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let downloads = || {
        app.sim
            .requests()
            .iter()
            .filter(|r| r.endpoint == "certificates")
            .count()
    };
    let before = downloads();
    for n in 0..5 {
        let forged = serde_json::json!({ "id": format!("forged-{n}"), "event_type": "TRANSACTION.SUCCESS", "resource": {} });
        let resp = app
            .http
            .post(format!("{}/wx-pay/unifiedOrderTrigger", app.base))
            .header("Wechatpay-Timestamp", "1700000000")
            .header("Wechatpay-Nonce", "nonce")
            .header(
                "Wechatpay-Serial",
                format!("5157F09EFDC096DE15EBE81A47057A72{n:08}"),
            )
            .header("Wechatpay-Signature", "c2lnbmF0dXJl")
            .body(forged.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 401);
    }
    assert_eq!(
        downloads(),
        before,
        "forged serials bought certificate downloads within a minute of the last one"
    );
}
