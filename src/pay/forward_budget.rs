//! What an unauthenticated gateway forward may cost. A forward without ciphertext is confirmed
//! by querying WeChat for the object it names, and anyone who can reach the function can send
//! one: without a limit, a script could spend the merchant's query quota (WeChat rate-limits
//! queries per merchant, so genuine reconciliation would then fail too). Two limits:
//! - **Coalescing:** one query in flight per object. Forwards for the same `out_trade_no`
//!   (refund, bill) that arrive while its query runs wait for that query and share its answer.
//! - **Budget:** at most `gatewayQueryBudgetPerMinute` queries per instance and minute (a token
//!   bucket refilled continuously). Over budget, the forward is answered FAIL (503): a genuine
//!   notice is retried by WeChat later (about 15 times over 24 h), a forged one costs nothing.
//!
//! Forwards that carry ciphertext are authenticated by decryption and never reach this module.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::Value;
use tokio::sync::OnceCell;

use super::callbacks::CallbackError;
use super::service::NoticeOutcome;
use crate::wechatpay::model::NotifyKind;

/// What confirming a forward came to (the query and applying its answer).
pub type Confirmed = Result<NoticeOutcome, CallbackError>;

/// The object a forward names: the field of the merchant's number for it (`out_trade_no`,
/// `out_refund_no`, `out_bill_no`) and the number.
pub type ForwardKey = (&'static str, String);

/// The key of a forward's claimed content (`out_trade_no`, `out_refund_no` or `out_bill_no`).
pub fn key(kind: NotifyKind, claimed: Option<&Value>) -> ForwardKey {
    let field = match kind {
        NotifyKind::Payment => "out_trade_no",
        NotifyKind::Refund => "out_refund_no",
        NotifyKind::Transfer => "out_bill_no",
    };
    let no = claimed
        .and_then(|c| c.get(field))
        .and_then(Value::as_str)
        .unwrap_or_default();
    (field, no.to_string())
}

/// The per-instance limiter. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct ForwardBudget {
    per_minute: u32,
    bucket: Mutex<Bucket>,
    in_flight: Mutex<HashMap<ForwardKey, Arc<OnceCell<Confirmed>>>>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

impl ForwardBudget {
    /// A limiter allowing `per_minute` queries a minute (0: none).
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            bucket: Mutex::new(Bucket {
                tokens: f64::from(per_minute),
                refilled: Instant::now(),
            }),
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one query from the budget, if any is left.
    fn spend(&self) -> bool {
        let mut b = self.bucket.lock().expect("budget lock");
        let per_minute = f64::from(self.per_minute);
        let elapsed = b.refilled.elapsed().as_secs_f64();
        b.tokens = (b.tokens + elapsed * per_minute / 60.0).min(per_minute);
        b.refilled = Instant::now();
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Runs `query` (confirm with WeChat, then apply) for `key`, unless one for the same object
    /// is already running (then its outcome is shared) or the budget is spent (then FAIL 503, so WeChat retries later).
    pub async fn confirm<F>(&self, key: ForwardKey, query: F) -> Confirmed
    where
        F: Future<Output = Confirmed>,
    {
        let (cell, leader) = {
            let mut map = self.in_flight.lock().expect("in-flight lock");
            match map.get(&key) {
                Some(cell) => (cell.clone(), None),
                None => {
                    if !self.spend() {
                        tracing::warn!(
                            kind = key.0,
                            "gateway forward over gatewayQueryBudgetPerMinute: answered FAIL"
                        );
                        return Err(CallbackError {
                            status: 503,
                            message: "too many forwards to confirm with WeChat Pay right now; please retry later".into(),
                        });
                    }
                    let cell = Arc::new(OnceCell::new());
                    map.insert(key.clone(), cell.clone());
                    let leader = Leader {
                        map: &self.in_flight,
                        key,
                        cell: cell.clone(),
                    };
                    (cell, Some(leader))
                }
            }
        };
        if leader.is_none() {
            tracing::debug!("gateway forward shares a confirmation in flight");
        }
        // The leader's `query` initialises the cell; followers wait for it (their own `query`
        // is never polled). Should the leader be cancelled, a follower runs its own.
        let result = cell.get_or_init(|| query).await.clone();
        drop(leader);
        result
    }
}

/// The first forward for an object: when it finishes (or is cancelled, e.g. by the callback
/// time budget) the object leaves the in-flight map, so a later forward queries afresh.
struct Leader<'a> {
    map: &'a Mutex<HashMap<ForwardKey, Arc<OnceCell<Confirmed>>>>,
    key: ForwardKey,
    cell: Arc<OnceCell<Confirmed>>,
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        let mut map = self.map.lock().expect("in-flight lock");
        if map
            .get(&self.key)
            .is_some_and(|c| Arc::ptr_eq(c, &self.cell))
        {
            map.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_forwards_for_one_object_share_one_query() {
        let budget = Arc::new(ForwardBudget::new(60));
        let (entered, queries) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let key = key(
            NotifyKind::Payment,
            Some(&serde_json::json!({ "out_trade_no": "ORDER_1" })),
        );
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (budget, entered, queries, key) = (
                budget.clone(),
                entered.clone(),
                queries.clone(),
                key.clone(),
            );
            tasks.push(tokio::spawn(async move {
                entered.fetch_add(1, Ordering::SeqCst);
                let query = async {
                    queries.fetch_add(1, Ordering::SeqCst);
                    // On this single-threaded runtime a task registers (leader or follower)
                    // before it first yields: once all 20 entered, all 20 are waiting here.
                    while entered.load(Ordering::SeqCst) < 20 {
                        tokio::task::yield_now().await;
                    }
                    Ok(NoticeOutcome::Applied)
                };
                budget.confirm(key, query).await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Ok(NoticeOutcome::Applied));
        }
        assert_eq!(queries.load(Ordering::SeqCst), 1);
        assert!(budget.in_flight.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_exhausted_budget_answers_fail_without_querying() {
        let budget = ForwardBudget::new(2);
        for n in 0..2 {
            let key = ("out_refund_no", format!("R{n}"));
            assert!(
                budget
                    .confirm(key, async { Ok(NoticeOutcome::Unknown) })
                    .await
                    .is_ok()
            );
        }
        let key = ("out_refund_no", "R3".to_string());
        let refused = budget
            .confirm(key, async { panic!("over budget: never queried") })
            .await
            .unwrap_err();
        assert_eq!(refused.status, 503);
        let none = ForwardBudget::new(0);
        let key = ("out_bill_no", "B1".to_string());
        assert!(
            none.confirm(key, async { Ok(NoticeOutcome::Unknown) })
                .await
                .is_err()
        );
    }
}
