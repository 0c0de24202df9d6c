//! Crash safety: SIGKILL the real binary between recording an order and answering, restart it
//! on the same SQLite ledger, retry, let the simulator redeliver the callback, and find the
//! ledger consistent: one order, one prepay, PAID once, one `order.paid` event.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pay_common::simulator::{CallbackMode, Fault, FaultRule, Simulator, SimulatorConfig};
use pay_common::wechatpay::keys::MerchantKey;
use serde_json::{Value, json};

const ADMIN: &str = "crash-test-admin-token-0123456789";
const ALICE: &str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";

fn merchant_pem() -> String {
    let v: Value = serde_json::from_str(include_str!("fixtures/wechatpay-kat.json")).unwrap();
    v["rsa_test_key"]["private_key_pkcs8_pem"]
        .as_str()
        .unwrap()
        .to_string()
}

struct Service {
    child: Child,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(env: &[(String, String)]) -> Service {
    let child = Command::new(env!("CARGO_BIN_EXE_pay-common"))
        .arg("serve")
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("service starts");
    Service { child }
}

/// Waits until the service listens and its ledger is open (`storeReady`: the ledger opens in
/// the background, and until then WeChat-bound routes answer 503 `STORE_UNAVAILABLE`).
async fn wait_healthy(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && let Ok(h) = r.json::<Value>().await
            && h["storeReady"] == true
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "service did not come up with its ledger"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn admin(http: &reqwest::Client, base: &str, route: &str, body: Value) -> Value {
    let r = http
        .post(format!("{base}/wx-pay/{route}"))
        .header("x-pay-common-admin-token", ADMIN)
        .json(&body)
        .send()
        .await
        .unwrap();
    r.json().await.unwrap()
}

async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn sigkill_between_recording_and_answering_loses_nothing_and_doubles_nothing() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let merchant = MerchantKey::from_pem(&merchant_pem()).unwrap();
    let serial = "36048761817F82958048330A6301E922AB28A04D";
    let v3 = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb";
    let mut cfg = SimulatorConfig::new("1900000001", serial, merchant.public_key(), v3.into());
    cfg.callback_mode = CallbackMode::Gateway;
    cfg.callback_target = Some(base.clone());
    cfg.time_scale = 0.01;
    let sim = Simulator::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let db = std::env::temp_dir().join(format!("pay-common-crash-{}.db", std::process::id()));
    let env: Vec<(String, String)> = [
        ("PORT", port.to_string()),
        ("HOST", "127.0.0.1".into()),
        (
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", db.display()),
        ),
        ("appId", "wxc1546068399a59fc".into()),
        ("merchantId", "1900000001".into()),
        ("merchantSerialNumber", serial.into()),
        ("privateKey", merchant_pem()),
        ("apiV3Key", v3.into()),
        ("wxPayPublicKey", sim.public_key_pem()),
        ("wxPayPublicKeyId", sim.public_key_id()),
        (
            "notifyURLPayURL",
            "https://pay.example.com/wechatpay/order".into(),
        ),
        ("wechatpayBaseUrl", sim.base_url()),
        ("PAY_COMMON_ADMIN_TOKEN", ADMIN.into()),
        ("reconcileIntervalSeconds", "0".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let http = reqwest::Client::new();
    let no = "ORDER_CRASH_00001";
    let order =
        json!({ "description": "crash test", "out_trade_no": no, "amount": { "total": 88 } });

    // 1. Crash while WeChat is still answering the order: it is recorded, not yet answered.
    let mut service = start(&env);
    wait_healthy(&http, &base).await;
    sim.inject(FaultRule::new("jsapi", Fault::Latency { ms: 3_000 }, 1));
    let pending = tokio::spawn({
        let (http, url, order) = (
            http.clone(),
            format!("{base}/wx-pay/wxpay_order"),
            order.clone(),
        );
        async move {
            http.post(url)
                .header("x-wx-openid", ALICE)
                .json(&order)
                .send()
                .await
        }
    });
    wait_for("the order to be recorded", async || {
        admin(
            &http,
            &base,
            "wxpay_order_view",
            json!({ "out_trade_no": no }),
        )
        .await["code"]
            == 0
    })
    .await;
    service.child.kill().unwrap();
    service.child.wait().unwrap();
    assert!(pending.await.unwrap().is_err(), "the caller saw the crash");

    // 2. Restart; the Mini Program retries the same order.
    let service = start(&env);
    wait_healthy(&http, &base).await;
    let r: Value = http
        .post(format!("{base}/wx-pay/wxpay_order"))
        .header("x-wx-openid", ALICE)
        .json(&order)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["code"], 0, "{r}");
    let prepay = r["data"]["data"]["prepay_id"].as_str().unwrap().to_string();
    let first_answer = sim
        .requests()
        .iter()
        .filter(|q| q.endpoint == "jsapi" && q.accepted)
        .count();
    assert!(first_answer >= 1);

    // 3. Crash again; the user pays while we are down; WeChat retries until we answer.
    drop(service);
    sim.pay(no).unwrap();
    wait_for("a failed delivery", async || {
        sim.deliveries().iter().any(|d| d.status.is_none())
    })
    .await;
    let _service = start(&env);
    wait_healthy(&http, &base).await;
    wait_for("the order to turn PAID", async || {
        admin(
            &http,
            &base,
            "wxpay_order_view",
            json!({ "out_trade_no": no }),
        )
        .await["data"]["data"]["state"]
            == "PAID"
    })
    .await;
    let view = admin(
        &http,
        &base,
        "wxpay_order_view",
        json!({ "out_trade_no": no }),
    )
    .await;
    assert_eq!(view["data"]["data"]["amount"], 88);
    let again: Value = http
        .post(format!("{base}/wx-pay/wxpay_order"))
        .header("x-wx-openid", ALICE)
        .json(&order)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        again["error"], "ORDERPAID",
        "a paid order is never ordered again: {again}"
    );
    let events = admin(
        &http,
        &base,
        "admin/events",
        json!({ "event_type": "order.paid" }),
    )
    .await;
    assert_eq!(
        events["data"]["data"]["events"].as_array().unwrap().len(),
        1,
        "{events}"
    );
    assert_eq!(sim.order(no).unwrap().trade_state, "SUCCESS");
    assert!(!prepay.is_empty());
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}
