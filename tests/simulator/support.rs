//! A merchant that signs requests like the official SDKs, a callback receiver on
//! 127.0.0.1:0, and polling helpers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use pay_common::simulator::{Simulator, SimulatorConfig, SimulatorHandle, generate_api_v3_key};
use pay_common::wechatpay::crypto::{self, SignedHeaders, random_alphanumeric};
use pay_common::wechatpay::keys::{MerchantKey, PublicKey};
use serde_json::Value;

pub const MCHID: &str = "1900000109";
pub const SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
pub const APPID: &str = "wxd678efh567hg6787";

/// A merchant with its key, talking to one simulator.
pub struct Merchant {
    pub key: MerchantKey,
    pub api_v3_key: String,
    pub base: String,
    pub http: reqwest::Client,
    /// Sent as `Wechatpay-Serial` when set.
    pub wechatpay_serial: Option<String>,
}

/// What came back.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_string()
    }
    /// Verifies the response signature with `key` registered under `serial`.
    pub fn verify(&self, serial: &str, key: &PublicKey) -> Result<(), crypto::VerifyError> {
        let h = SignedHeaders::from_headers(&self.headers);
        let now = crypto::SystemClock;
        crypto::verify_signed(&h, &self.body, crypto::Clock::now(&now), |s| {
            (s == serial).then_some(key)
        })
    }
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }
}

/// How to (mis)sign one request.
#[derive(Default, Clone)]
pub struct Tweak {
    pub timestamp: Option<i64>,
    pub mchid: Option<String>,
    pub serial: Option<String>,
    pub sent_body: Option<Vec<u8>>,
    pub no_auth: bool,
}

impl Merchant {
    pub async fn call(&self, method: &str, target: &str, body: Option<&Value>) -> Resp {
        self.call_with(method, target, body, Tweak::default()).await
    }

    pub async fn call_with(
        &self,
        method: &str,
        target: &str,
        body: Option<&Value>,
        t: Tweak,
    ) -> Resp {
        let signed = body
            .map(|b| serde_json::to_vec(b).unwrap())
            .unwrap_or_default();
        let ts = t
            .timestamp
            .unwrap_or_else(|| crypto::Clock::now(&crypto::SystemClock));
        let nonce = random_alphanumeric(32);
        let message = crypto::request_message(method, target, ts, &nonce, &signed);
        let signature = self.key.sign(&message);
        let auth = crypto::authorization(
            t.mchid.as_deref().unwrap_or(MCHID),
            &nonce,
            ts,
            t.serial.as_deref().unwrap_or(SERIAL),
            &signature,
        );
        let url = format!("{}{}", self.base, target);
        let mut req = self
            .http
            .request(method.parse().unwrap(), url)
            .header("accept", "application/json");
        if !t.no_auth {
            req = req.header("authorization", auth);
        }
        if let Some(s) = &self.wechatpay_serial {
            req = req.header("Wechatpay-Serial", s);
        }
        let sent = t.sent_body.unwrap_or(signed);
        if !sent.is_empty() {
            req = req.header("content-type", "application/json").body(sent);
        }
        let res = req.send().await.expect("simulator reachable");
        Resp {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: res.bytes().await.unwrap(),
        }
    }
}

/// Starts a simulator (after `tune`) and a merchant whose key it trusts.
pub async fn start(tune: impl FnOnce(&mut SimulatorConfig)) -> (SimulatorHandle, Merchant) {
    let key = MerchantKey::generate();
    let api_v3_key = generate_api_v3_key();
    let mut cfg = SimulatorConfig::new(MCHID, SERIAL, key.public_key(), api_v3_key.clone());
    cfg.appids = vec![APPID.to_string()];
    tune(&mut cfg);
    let sim = Simulator::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let merchant = Merchant {
        key,
        api_v3_key,
        base: sim.base_url(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        wechatpay_serial: Some(sim.public_key_id()),
    };
    (sim, merchant)
}

pub fn order_body(out_trade_no: &str, total: i64) -> Value {
    serde_json::json!({
        "appid": APPID, "mchid": MCHID, "description": "Image形象店-深圳腾大-QQ公仔",
        "out_trade_no": out_trade_no, "notify_url": "https://pay.example.com/wx-pay/unifiedOrderTrigger",
        "amount": {"total": total, "currency": "CNY"}, "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
    })
}

/// Places a JSAPI order and asserts it was accepted.
pub async fn place(m: &Merchant, out_trade_no: &str, total: i64) -> Value {
    let r = m
        .call(
            "POST",
            "/v3/pay/transactions/jsapi",
            Some(&order_body(out_trade_no, total)),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    r.json()
}

/// One captured callback.
#[derive(Debug, Clone)]
pub struct Captured {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A callback receiver that fails its first `fail_first` calls with 500.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub got: Arc<Mutex<Vec<Captured>>>,
}

pub async fn receiver(fail_first: usize) -> Receiver {
    let got: Arc<Mutex<Vec<Captured>>> = Arc::default();
    let seen = Arc::new(AtomicUsize::new(0));
    let sink = got.clone();
    let app = axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
            let (sink, seen) = (sink.clone(), seen.clone());
            async move {
                sink.lock().unwrap().push(Captured {
                    path: uri.path().to_string(),
                    headers,
                    body,
                });
                if seen.fetch_add(1, Ordering::SeqCst) < fail_first {
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        r#"{"code":"FAIL","message":"失败"}"#,
                    )
                } else {
                    (StatusCode::OK, r#"{"code":"SUCCESS","message":"成功"}"#)
                }
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, got }
}

impl Receiver {
    pub fn captured(&self) -> Vec<Captured> {
        self.got.lock().unwrap().clone()
    }
}

/// Polls `cond` every 5 ms for up to 5 s.
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting for {what}");
}
