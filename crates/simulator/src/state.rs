//! The simulator's shared state: configuration, WeChat-side keys, and one mutex-guarded store
//! of orders, refunds, transfers, armed faults and the request and delivery logs. The mutex is
//! never held across an `.await`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tokio::sync::watch;

use super::certificate;
use super::config::{CallbackMode, SimulatorConfig};
use super::faults::FaultRule;
use super::log::{Delivery, RequestRecord, push_capped};
use super::records::{Order, RefundRecord, Transfer};
use wechatpay::crypto::Clock;
use wechatpay::keys::{MerchantKey, PublicKey};

/// The mutable part.
#[derive(Debug, Default)]
pub struct Store {
    /// Orders by out_trade_no.
    pub orders: HashMap<String, Order>,
    /// Refunds by out_refund_no.
    pub refunds: HashMap<String, RefundRecord>,
    /// Transfer bills by out_bill_no.
    pub transfers: HashMap<String, Transfer>,
    /// Armed fault rules.
    pub faults: Vec<FaultRule>,
    /// Callback attempts log (the most recent [`LOG_CAP`](super::log::LOG_CAP) entries).
    pub deliveries: Vec<Delivery>,
    /// `/v3` request log (the most recent [`LOG_CAP`](super::log::LOG_CAP) entries).
    pub requests: Vec<RequestRecord>,
    /// Requests that passed authentication, ever.
    pub accepted_total: u64,
    /// Requests rejected by authentication, ever.
    pub rejected_total: u64,
}

impl Store {
    /// Records one `/v3` request and counts it.
    pub fn log_request(&mut self, record: RequestRecord) {
        if record.accepted {
            self.accepted_total += 1;
        } else {
            self.rejected_total += 1;
        }
        push_capped(&mut self.requests, record);
    }
    /// Records one callback attempt.
    pub fn log_delivery(&mut self, delivery: Delivery) {
        push_capped(&mut self.deliveries, delivery);
    }
}

/// The merchant-facing settings copied out of [`SimulatorConfig`]. `Debug` omits the
/// APIv3 key.
pub struct Settings {
    /// See [`SimulatorConfig`].
    pub mchid: String,
    /// See [`SimulatorConfig`].
    pub merchant_serial: String,
    /// See [`SimulatorConfig`].
    pub merchant_public_key: PublicKey,
    /// See [`SimulatorConfig`].
    pub api_v3_key: String,
    /// See [`SimulatorConfig`].
    pub appids: Vec<String>,
    /// See [`SimulatorConfig`].
    pub callback_mode: CallbackMode,
    /// See [`SimulatorConfig`].
    pub callback_target: Option<String>,
    /// See [`SimulatorConfig`].
    pub sign_callbacks_with_certificate: bool,
    /// See [`SimulatorConfig`].
    pub time_scale: f64,
    /// See [`SimulatorConfig`].
    pub auto_pay_after: Option<Duration>,
    /// See [`SimulatorConfig`].
    pub auto_refund_after: Option<Duration>,
    /// See [`SimulatorConfig`].
    pub auto_confirm_after: Option<Duration>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("mchid", &self.mchid)
            .field("callback_mode", &self.callback_mode)
            .field("callback_target", &self.callback_target)
            .field("time_scale", &self.time_scale)
            .finish_non_exhaustive()
    }
}

/// WeChat's own keys.
#[derive(Debug)]
pub struct Keys {
    /// `PUB_KEY_ID_…`.
    pub public_key_id: String,
    /// The public-key-mode pair.
    pub platform: MerchantKey,
    /// Its public half.
    pub public_key: PublicKey,
    /// The platform certificate key.
    pub cert_key: MerchantKey,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its serial, uppercase hex.
    pub cert_serial: String,
    /// Validity start, Unix seconds.
    pub cert_not_before: i64,
    /// Validity end, Unix seconds.
    pub cert_not_after: i64,
    rogue: OnceLock<MerchantKey>,
}

impl Keys {
    /// The signing key and serial for a request's `Wechatpay-Serial` (public key when it names
    /// the public key id, else the platform certificate).
    pub fn signer_for(&self, requested: Option<&str>) -> (&MerchantKey, &str) {
        if requested == Some(self.public_key_id.as_str()) {
            (&self.platform, &self.public_key_id)
        } else {
            (&self.cert_key, &self.cert_serial)
        }
    }
    /// The private key behind a serial the merchant may name, if we have it.
    pub fn private_for(&self, serial: &str) -> Option<&MerchantKey> {
        if serial == self.public_key_id {
            Some(&self.platform)
        } else if serial == self.cert_serial {
            Some(&self.cert_key)
        } else {
            None
        }
    }
    /// A key nobody trusts (fault `wrong_key`).
    pub fn rogue(&self) -> &MerchantKey {
        self.rogue.get_or_init(MerchantKey::generate)
    }
}

/// The whole simulator, shared by handlers, control routes, tasks and the handle.
#[derive(Debug)]
pub struct Sim {
    /// Merchant settings.
    pub cfg: Settings,
    /// WeChat-side keys.
    pub keys: Keys,
    /// Source of now.
    pub clock: Arc<dyn Clock>,
    /// Client for callbacks.
    pub http: reqwest::Client,
    /// Set to true to stop the server and retries.
    pub shutdown: watch::Sender<bool>,
    /// Runtime that runs callback tasks.
    pub rt: tokio::runtime::Handle,
    store: Mutex<Store>,
}

impl Sim {
    /// Builds the state, generating whatever keys the configuration leaves out.
    pub fn new(c: SimulatorConfig) -> Self {
        let now = c.clock.now();
        let platform = c.platform_key.unwrap_or_else(MerchantKey::generate);
        let cert_key = c.certificate_key.unwrap_or_else(MerchantKey::generate);
        let (not_before, not_after) = (now - 86_400, now + 5 * 365 * 86_400);
        let (cert_pem, cert_serial) =
            certificate::self_signed(&cert_key, &c.mchid, not_before, not_after);
        let keys = Keys {
            public_key_id: c.public_key_id,
            public_key: platform.public_key(),
            platform,
            cert_key,
            cert_pem,
            cert_serial,
            cert_not_before: not_before,
            cert_not_after: not_after,
            rogue: OnceLock::new(),
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("HTTP client");
        Self {
            cfg: Settings {
                mchid: c.mchid,
                merchant_serial: c.merchant_serial,
                merchant_public_key: c.merchant_public_key,
                api_v3_key: c.api_v3_key,
                appids: c.appids,
                callback_mode: c.callback_mode,
                callback_target: c.callback_target,
                sign_callbacks_with_certificate: c.sign_callbacks_with_certificate,
                time_scale: c.time_scale.max(0.0),
                auto_pay_after: c.auto_pay_after,
                auto_refund_after: c.auto_refund_after,
                auto_confirm_after: c.auto_confirm_after,
            },
            keys,
            clock: c.clock,
            http,
            shutdown: watch::channel(false).0,
            rt: tokio::runtime::Handle::current(),
            store: Mutex::new(Store::default()),
        }
    }

    /// Locks the store (a poisoned lock is still usable: every update is a single step).
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Now, Unix seconds, from the configured clock.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Whether `appid` is bound to the merchant.
    pub fn appid_ok(&self, appid: &str) -> bool {
        self.cfg.appids.is_empty() || self.cfg.appids.iter().any(|a| a == appid)
    }

    /// Sleeps `d`, returning `false` early if the simulator shuts down.
    pub async fn sleep(&self, d: Duration) -> bool {
        let mut rx = self.shutdown.subscribe();
        if *rx.borrow() {
            return false;
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = rx.wait_for(|v| *v) => false,
        }
    }
}

/// Runs `act` after `after` unless the simulator stops first (the `auto_*` settings).
pub fn later(sim: &Shared, after: Option<Duration>, act: impl FnOnce(&Shared) + Send + 'static) {
    if let Some(after) = after {
        let sim = sim.clone();
        sim.rt.clone().spawn(async move {
            if sim.sleep(after).await {
                act(&sim);
            }
        });
    }
}

/// Shorthand used by the handlers.
pub type Shared = Arc<Sim>;
