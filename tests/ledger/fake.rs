//! A fake WeChat Pay that answers queries from maps and counts every call.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use pay_common::pay::service::WechatQueries;
use pay_common::pay::types::{OutBillNo, OutRefundNo, OutTradeNo};
use pay_common::wechatpay::model::{Refund, Transaction, TransferBill};

#[derive(Default)]
pub struct FakeWechat {
    pub orders: Mutex<HashMap<String, Transaction>>,
    pub refunds: Mutex<HashMap<String, Refund>>,
    pub transfers: Mutex<HashMap<String, TransferBill>>,
    /// `"query_order:NO"`, `"close_order:NO"`, … → how many times.
    pub calls: Mutex<HashMap<String, usize>>,
    /// Signalled after every order query.
    pub queried: tokio::sync::Notify,
    /// When set, order queries hang until the test hands out permits (a hanging WeChat).
    gate: Mutex<Option<Arc<tokio::sync::Semaphore>>>,
    /// Order queries waiting at the gate right now, and the most there ever were at once.
    pub in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
    /// Signalled whenever a query arrives at the gate.
    pub arrived: tokio::sync::Notify,
}

/// Counts a query out of `in_flight` however it ends (answered or abandoned).
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl FakeWechat {
    fn count(&self, what: &str, key: &str) {
        *self
            .calls
            .lock()
            .unwrap()
            .entry(format!("{what}:{key}"))
            .or_default() += 1;
    }
    pub fn calls(&self, what: &str, key: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .get(&format!("{what}:{key}"))
            .copied()
            .unwrap_or(0)
    }
    pub fn total_calls(&self) -> usize {
        self.calls.lock().unwrap().values().sum()
    }
    /// From now on order queries hang until permits are added to the returned semaphore.
    pub fn hang(&self) -> Arc<tokio::sync::Semaphore> {
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        *self.gate.lock().unwrap() = Some(gate.clone());
        gate
    }
    async fn wait_at_gate(&self) {
        let Some(gate) = self.gate.lock().unwrap().clone() else {
            return;
        };
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let _counted = InFlight(&self.in_flight);
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        self.arrived.notify_waiters();
        gate.acquire().await.expect("gate open").forget();
    }
}

#[async_trait]
impl WechatQueries for FakeWechat {
    async fn query_order(&self, no: &OutTradeNo) -> Result<Option<Transaction>, String> {
        self.count("query_order", no.as_str());
        self.wait_at_gate().await;
        tokio::task::yield_now().await;
        let answer = self.orders.lock().unwrap().get(no.as_str()).cloned();
        self.queried.notify_one();
        Ok(answer)
    }
    async fn close_order(&self, no: &OutTradeNo) -> Result<(), String> {
        self.count("close_order", no.as_str());
        if let Some(tx) = self.orders.lock().unwrap().get_mut(no.as_str()) {
            tx.trade_state = "CLOSED".into();
        }
        Ok(())
    }
    async fn query_refund(&self, no: &OutRefundNo) -> Result<Option<Refund>, String> {
        self.count("query_refund", no.as_str());
        Ok(self.refunds.lock().unwrap().get(no.as_str()).cloned())
    }
    async fn query_transfer(&self, no: &OutBillNo) -> Result<Option<TransferBill>, String> {
        self.count("query_transfer", no.as_str());
        Ok(self.transfers.lock().unwrap().get(no.as_str()).cloned())
    }
}
