//! A local WeChat Pay v3 simulator. WeChat Pay has no sandbox, so this module plays both the
//! merchant API (`api.mch.weixin.qq.com`) and the Integration Center callback forwarder: it
//! verifies every signed request like WeChat, signs every 2xx answer, keeps real order, refund
//! and transfer state machines, delivers callbacks on WeChat's retry schedule and injects
//! faults on demand. It shares the protocol code in [`wechatpay`] and nothing of the
//! service. See `docs/simulator.md` for the routes and the control API.

mod api;
mod callbacks;
mod certificate;
pub mod cli;
mod control;
mod faults;
mod ids;
mod log;
mod order_routes;
mod orders;
mod refunds;
mod server;
mod state;
mod transfers;
mod verify;

pub use api::SimError;
pub use faults::{Fault, FaultRule};
pub use log::{Delivery, DeliveryKind, RequestRecord};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use wechatpay::crypto::{Clock, SystemClock, random_alphanumeric};
use wechatpay::keys::{MerchantKey, PublicKey};
use wechatpay::model::{RefundAmount, Transaction, TransferBill};

/// How callbacks reach the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CallbackMode {
    /// WeChat posts the signed, encrypted notification directly (`signMode=sdk`).
    Sdk,
    /// Integration Center verifies and decrypts, then forwards `ParsedContent`/`ParsedNotify`/
    /// `rawData` with `x-tcb-integration-id` (`signMode=gateway`, the service default).
    #[default]
    Gateway,
}

/// Everything the simulator needs to know about the merchant it serves. `Debug` leaves the
/// APIv3 key out.
pub struct SimulatorConfig {
    /// The one merchant id the simulator knows.
    pub mchid: String,
    /// The merchant API certificate serial expected in `Authorization`.
    pub merchant_serial: String,
    /// The merchant's public key, used to verify request signatures.
    pub merchant_public_key: PublicKey,
    /// The 32-byte APIv3 key (AES-256-GCM for callbacks and certificates).
    pub api_v3_key: String,
    /// AppIDs bound to the merchant; empty accepts any.
    pub appids: Vec<String>,
    /// Id of the WeChat Pay public key (`PUB_KEY_ID_` + digits).
    pub public_key_id: String,
    /// The WeChat Pay public-key pair; generated when `None`.
    pub platform_key: Option<MerchantKey>,
    /// The platform certificate's key pair; generated when `None`.
    pub certificate_key: Option<MerchantKey>,
    /// Sign callbacks with the platform certificate instead of the public-key pair.
    pub sign_callbacks_with_certificate: bool,
    /// SDK (direct) or gateway (Integration Center) callbacks.
    pub callback_mode: CallbackMode,
    /// Base URL that stands in for the notify_url host (the notify_url path is kept).
    pub callback_target: Option<String>,
    /// Multiplier on WeChat's callback retry schedule (1.0 = real time).
    pub time_scale: f64,
    /// Pay every new order automatically after this long.
    pub auto_pay_after: Option<Duration>,
    /// Complete every new refund with SUCCESS after this long.
    pub auto_refund_after: Option<Duration>,
    /// Have the payee confirm every new transfer after this long.
    pub auto_confirm_after: Option<Duration>,
    /// The simulator's notion of now (timestamps checked and issued).
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SimulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatorConfig")
            .field("mchid", &self.mchid)
            .field("merchant_serial", &self.merchant_serial)
            .field("api_v3_key", &"<redacted>")
            .field("public_key_id", &self.public_key_id)
            .field("callback_mode", &self.callback_mode)
            .field("callback_target", &self.callback_target)
            .field("time_scale", &self.time_scale)
            .finish_non_exhaustive()
    }
}

impl SimulatorConfig {
    /// A configuration with generated keys, gateway callbacks and the real retry schedule.
    pub fn new(
        mchid: impl Into<String>,
        merchant_serial: impl Into<String>,
        merchant_public_key: PublicKey,
        api_v3_key: String,
    ) -> Self {
        Self {
            mchid: mchid.into(),
            merchant_serial: merchant_serial.into(),
            merchant_public_key,
            api_v3_key,
            appids: Vec::new(),
            public_key_id: format!("PUB_KEY_ID_{}", ids::digits(28)),
            platform_key: None,
            certificate_key: None,
            sign_callbacks_with_certificate: false,
            callback_mode: CallbackMode::Gateway,
            callback_target: None,
            time_scale: 1.0,
            auto_pay_after: None,
            auto_refund_after: None,
            auto_confirm_after: None,
            clock: Arc::new(SystemClock),
        }
    }
}

/// Entry point: [`Simulator::start`].
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Binds `addr` (use `127.0.0.1:0` in tests) and serves until the handle shuts it down.
    pub async fn start(
        config: SimulatorConfig,
        addr: SocketAddr,
    ) -> std::io::Result<SimulatorHandle> {
        if config.api_v3_key.len() != 32 {
            return Err(std::io::Error::other("APIv3 key must be 32 bytes"));
        }
        let sim = Arc::new(state::Sim::new(config));
        let (local, task) = server::serve(sim.clone(), addr).await?;
        Ok(SimulatorHandle {
            sim,
            addr: local,
            task: std::sync::Mutex::new(Some(task)),
        })
    }
}

/// A running simulator: its keys, its control methods and its logs.
#[derive(Debug)]
pub struct SimulatorHandle {
    sim: Arc<state::Sim>,
    addr: SocketAddr,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl SimulatorHandle {
    /// `http://127.0.0.1:<port>`, the stand-in for `https://api.mch.weixin.qq.com`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// The WeChat Pay public key (what the service's `wxPayPublicKey` must hold).
    pub fn public_key(&self) -> PublicKey {
        self.sim.keys.public_key.clone()
    }
    /// The WeChat Pay public key as `PUBLIC KEY` PEM.
    pub fn public_key_pem(&self) -> String {
        self.sim.keys.public_key.to_pem()
    }
    /// `PUB_KEY_ID_…` (what the service's `wxPayPublicKeyId` must hold).
    pub fn public_key_id(&self) -> String {
        self.sim.keys.public_key_id.clone()
    }
    /// Serial of the platform certificate (uppercase hex).
    pub fn platform_certificate_serial(&self) -> String {
        self.sim.keys.cert_serial.clone()
    }
    /// The platform certificate as PEM (what `/v3/certificates` delivers encrypted).
    pub fn platform_certificate_pem(&self) -> String {
        self.sim.keys.cert_pem.clone()
    }
    /// The user pays: NOTPAY → USERPAYING → SUCCESS, then the `TRANSACTION.SUCCESS` callback.
    pub fn pay(&self, out_trade_no: &str) -> Result<Transaction, SimError> {
        self.sim.pay(out_trade_no)
    }
    /// The close/pay race: a payment under way when the order was closed lands anyway
    /// (CLOSED → SUCCESS, then `TRANSACTION.SUCCESS`).
    pub fn pay_after_close(&self, out_trade_no: &str) -> Result<Transaction, SimError> {
        self.sim.pay_after_close(out_trade_no)
    }
    /// The user opened the cashier: NOTPAY → USERPAYING (no callback).
    pub fn start_paying(&self, out_trade_no: &str) -> Result<Transaction, SimError> {
        self.sim.start_paying(out_trade_no)
    }
    /// The payment fails: → PAYERROR (WeChat sends no callback for it).
    pub fn fail_payment(&self, out_trade_no: &str) -> Result<Transaction, SimError> {
        self.sim.fail_payment(out_trade_no)
    }
    /// Finishes a refund with `SUCCESS`, `ABNORMAL` or `CLOSED`, then the `REFUND.*` callback.
    pub fn complete_refund(
        &self,
        out_refund_no: &str,
        status: &str,
    ) -> Result<RefundView, SimError> {
        self.sim.complete_refund(out_refund_no, status)
    }
    /// The payee confirms: WAIT_USER_CONFIRM → SUCCESS, then `MCHTRANSFER.BILL.FINISHED`.
    pub fn confirm_transfer(&self, out_bill_no: &str) -> Result<TransferBill, SimError> {
        self.sim.finish_transfer(out_bill_no, None)
    }
    /// The transfer fails with `reason`, then `MCHTRANSFER.BILL.FINISHED`.
    pub fn fail_transfer(&self, out_bill_no: &str, reason: &str) -> Result<TransferBill, SimError> {
        self.sim.finish_transfer(out_bill_no, Some(reason))
    }
    /// Arms a fault for the next `rule.times` matching calls or callbacks.
    pub fn inject(&self, rule: FaultRule) {
        self.sim.store().faults.push(rule);
    }
    /// Removes every armed fault.
    pub fn clear_faults(&self) {
        self.sim.store().faults.clear();
    }
    /// Faults still armed (with their remaining counts).
    pub fn faults(&self) -> Vec<FaultRule> {
        self.sim.store().faults.clone()
    }
    /// Every callback attempt so far, in order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.sim.store().deliveries.clone()
    }
    /// The order as a query would show it.
    pub fn order(&self, out_trade_no: &str) -> Option<Transaction> {
        let store = self.sim.store();
        let order = store.orders.get(out_trade_no)?;
        serde_json::from_value(order.to_json(&self.sim.cfg.mchid)).ok()
    }
    /// The refund as a query would show it.
    pub fn refund(&self, out_refund_no: &str) -> Option<RefundView> {
        let store = self.sim.store();
        store.refunds.get(out_refund_no).map(|r| r.view())
    }
    /// The transfer bill as a query would show it.
    pub fn transfer(&self, out_bill_no: &str) -> Option<TransferBill> {
        let store = self.sim.store();
        let bill = store.transfers.get(out_bill_no)?;
        serde_json::from_value(bill.to_json(&self.sim.cfg.mchid)).ok()
    }
    /// Every `/v3` request so far with its verdict.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.sim.store().requests.clone()
    }
    /// `(accepted, rejected)` counts of `/v3` requests since start (authentication verdicts).
    pub fn request_counts(&self) -> (u64, u64) {
        let store = self.sim.store();
        (store.accepted_total, store.rejected_total)
    }
    /// Stops the server and every pending callback retry.
    pub async fn shutdown(&self) {
        self.sim.shutdown.send_replace(true);
        let task = self.task.lock().expect("task lock").take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl Drop for SimulatorHandle {
    /// Dropping the handle stops the server and pending retries (without waiting for them).
    fn drop(&mut self) {
        self.sim.shutdown.send_replace(true);
    }
}

/// A refund as the simulator holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundView {
    /// Our refund number.
    pub out_refund_no: String,
    /// WeChat's refund id.
    pub refund_id: String,
    /// PROCESSING, SUCCESS, ABNORMAL or CLOSED.
    pub status: String,
    /// Amounts.
    pub amount: RefundAmount,
}

/// A random `PUB_KEY_ID_…` (exposed for callers building their own configuration).
pub fn generate_public_key_id() -> String {
    format!("PUB_KEY_ID_{}", ids::digits(28))
}

/// A random 32-character APIv3 key (demo and tests only).
pub fn generate_api_v3_key() -> String {
    random_alphanumeric(32)
}
