//! Test harness: the real server on 127.0.0.1:0 against the in-process simulator, driven over
//! HTTP the way a Mini Program (`x-wx-openid`), an admin and WeChat Pay would.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use pay_common::config::Config;
use pay_common::pay::hooks::{BusinessHooks, NoHooks};
use pay_common::simulator::{CallbackMode, FaultRule, Simulator, SimulatorConfig, SimulatorHandle};
use pay_common::startup::{Application, Parts};
use pay_common::wechatpay::keys::{MerchantKey, PublicKey};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const MCHID: &str = "1900000001";
pub const APPID: &str = "wxc1546068399a59fc";
pub const SERVICE_APPID: &str = "wx0000000000service";
pub const SERIAL: &str = "36048761817F82958048330A6301E922AB28A04D";
pub const API_V3_KEY: &str = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb";
pub const ADMIN_TOKEN: &str = "admin-token-for-tests-0123456789";
pub const ALICE: &str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";
pub const BOB: &str = "oUpF8uBobBobBobBobBobBobBob1";
pub const CALLBACK_HOST: &str = "https://pay.example.com";

pub fn merchant_key_pem() -> String {
    let v: Value = serde_json::from_str(include_str!("../fixtures/wechatpay-kat.json")).unwrap();
    v["rsa_test_key"]["private_key_pkcs8_pem"]
        .as_str()
        .unwrap()
        .to_string()
}

pub fn merchant_public_key() -> PublicKey {
    MerchantKey::from_pem(&merchant_key_pem())
        .unwrap()
        .public_key()
}

/// How to set up one test's world.
pub struct Opts {
    pub mode: CallbackMode,
    pub public_key_mode: bool,
    pub credentials: bool,
    pub extra: Vec<(&'static str, String)>,
    /// The business hooks the service runs with.
    pub hooks: Arc<dyn BusinessHooks>,
    /// `false`: the simulator's callbacks go to a closed port and never arrive.
    pub deliver_callbacks: bool,
    /// The simulator signs callbacks with its platform certificate (a merchant mid-migration).
    pub certificate_callbacks: bool,
    /// Faults armed in the simulator before the service starts.
    pub sim_faults: Vec<FaultRule>,
    /// Open the shipped ledger at this URL the way `serve` does (lazily, brought up in the
    /// background), instead of the in-memory service.
    pub database_url: Option<String>,
}

impl Default for Opts {
    fn default() -> Self {
        Self {
            mode: CallbackMode::Gateway,
            public_key_mode: true,
            credentials: true,
            extra: vec![],
            hooks: Arc::new(NoHooks),
            deliver_callbacks: true,
            certificate_callbacks: false,
            sim_faults: vec![],
            database_url: None,
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub sim: SimulatorHandle,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    database: std::path::PathBuf,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.database.display()));
        }
    }
}

pub fn notify_path(mode: CallbackMode, kind: &str) -> String {
    match (mode, kind) {
        (CallbackMode::Gateway, k) => format!("{CALLBACK_HOST}/wechatpay/{k}"),
        (CallbackMode::Sdk, "order") => format!("{CALLBACK_HOST}/wx-pay/unifiedOrderTrigger"),
        (CallbackMode::Sdk, "refund") => format!("{CALLBACK_HOST}/wx-pay/refundTrigger"),
        (CallbackMode::Sdk, _) => format!("{CALLBACK_HOST}/wx-pay/transferTrigger"),
    }
}

pub async fn spawn(opts: Opts) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let mut sim_cfg =
        SimulatorConfig::new(MCHID, SERIAL, merchant_public_key(), API_V3_KEY.to_string());
    sim_cfg.callback_mode = opts.mode;
    let target = if opts.deliver_callbacks {
        format!("http://{addr}")
    } else {
        "http://127.0.0.1:9".to_string()
    };
    sim_cfg.callback_target = Some(target);
    sim_cfg.time_scale = 0.001;
    sim_cfg.sign_callbacks_with_certificate = !opts.public_key_mode || opts.certificate_callbacks;
    let sim = Simulator::start(sim_cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    for rule in opts.sim_faults {
        sim.inject(rule);
    }
    let mut vars: HashMap<&'static str, String> = HashMap::from([
        (
            "signMode",
            if opts.mode == CallbackMode::Sdk {
                "sdk"
            } else {
                "gateway"
            }
            .to_string(),
        ),
        ("appId", APPID.into()),
        ("service_app_id", SERVICE_APPID.into()),
        ("wechatpayBaseUrl", sim.base_url()),
        ("notifyURLPayURL", notify_path(opts.mode, "order")),
        ("notifyURLRefundsURL", notify_path(opts.mode, "refund")),
        ("transferNotifyUrl", notify_path(opts.mode, "transfer")),
        ("PAY_COMMON_ADMIN_TOKEN", ADMIN_TOKEN.into()),
        ("wechatpayTimeoutMs", "2000".into()),
        // Tests reconcile explicitly through the route; no background passes racing them.
        ("reconcileIntervalSeconds", "0".into()),
        // Tests assert the English texts; the Chinese default is tested with an override.
        ("messageLanguage", "en".into()),
    ]);
    if opts.credentials {
        vars.insert("merchantId", MCHID.into());
        vars.insert("merchantSerialNumber", SERIAL.into());
        vars.insert("privateKey", merchant_key_pem());
        vars.insert("apiV3Key", API_V3_KEY.into());
        if opts.public_key_mode {
            vars.insert("wxPayPublicKey", sim.public_key_pem());
            vars.insert("wxPayPublicKeyId", sim.public_key_id());
        }
    }
    vars.extend(opts.extra);
    let config = Config::from_lookup(|k| vars.get(k).cloned());
    // Every test runs on the shipped ledger, on a fresh SQLite file of its own.
    let database = std::env::temp_dir().join(format!(
        "pay-common-api-{}-{}.db",
        std::process::id(),
        addr.port()
    ));
    let ledger =
        pay_common::store::Ledger::connect(&format!("sqlite://{}?mode=rwc", database.display()))
            .await
            .unwrap();
    let parts = match &opts.database_url {
        Some(url) => Parts::ledger(pay_common::store::Ledger::open_lazy(url).unwrap()),
        None => Parts::ledger(ledger),
    }
    .with_hooks(opts.hooks);
    let app = Application::from_listener(listener, config, parts);
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    TestApp {
        base: format!("http://{addr}"),
        sim,
        http: reqwest::Client::new(),
        shutdown: Some(tx),
        database,
    }
}

/// Who calls.
#[derive(Clone, Copy)]
pub enum As<'a> {
    User(&'a str),
    Admin,
    Anonymous,
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    pub fn payload(&self) -> &Value {
        &self.body["data"]["data"]
    }
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
    pub fn msg(&self) -> &str {
        self.body["msg"].as_str().unwrap_or_default()
    }
}

impl TestApp {
    pub async fn call(&self, who: As<'_>, route: &str, body: Value) -> Reply {
        self.post(&format!("/wx-pay/{route}"), who, body.to_string())
            .await
    }

    pub async fn post(&self, path: &str, who: As<'_>, body: String) -> Reply {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body);
        req = match who {
            As::User(openid) => req.header("x-wx-openid", openid),
            As::Admin => req.header("x-pay-common-admin-token", ADMIN_TOKEN),
            As::Anonymous => req,
        };
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text }));
        Reply { status, body }
    }

    /// `GET /healthz` as JSON.
    pub async fn health(&self) -> Value {
        let resp = self
            .http
            .get(format!("{}/healthz", self.base))
            .send()
            .await
            .unwrap();
        resp.json().await.unwrap()
    }

    /// Places a JSAPI order as `user` and returns its out_trade_no.
    pub async fn order(&self, user: &str, no: &str, total: i64) -> Reply {
        let body = json!({ "description": "Test product", "out_trade_no": no, "amount": { "total": total, "currency": "CNY" } });
        self.call(As::User(user), "wxpay_order", body).await
    }

    /// The ledger's view of an order, as an admin sees it.
    pub async fn view(&self, no: &str) -> Value {
        self.call(As::Admin, "wxpay_order_view", json!({ "out_trade_no": no }))
            .await
            .payload()
            .clone()
    }

    /// Waits (bounded) until the ledger shows `state` for the order.
    pub async fn wait_state(&self, no: &str, state: &str) -> Value {
        for _ in 0..500 {
            let v = self.view(no).await;
            if v["state"] == state {
                return v;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("order {no} never reached {state}: {}", self.view(no).await);
    }
}
