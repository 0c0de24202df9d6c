//! Starting a simulator and driving it from a test or the command line: its keys, the user's
//! actions (pay, refund outcome, transfer confirmation), fault injection and the logs.

use std::net::SocketAddr;
use std::sync::Arc;

use super::api::SimError;
use super::config::SimulatorConfig;
use super::faults::FaultRule;
use super::log::{Delivery, RequestRecord};
use super::records::RefundView;
use super::{server, state};
use wechatpay::keys::PublicKey;
use wechatpay::model::{Transaction, TransferBill};

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
