//! Reconciliation: settles what callbacks missed by asking WeChat. One pass leases due rows
//! through the storage port (so two reconcilers never process the same row in one pass; the
//! lease also spaces out re-checks), then hands WeChat's answer for each to the same use case a
//! callback reaches ([`Book`]), so the business hooks hear of a payment found this way too:
//! - pending orders older than the grace period: query, apply PAID / mismatch as a pay notice
//!   (`notification_id: None`), or close them once past `expires_at`;
//! - unfinished refunds and transfers: query and apply final states; a reservation WeChat has
//!   never heard of (after the grace period) is released.
//!
//! A hanging WeChat cannot hold a pass hostage: up to `concurrency` rows are worked on at once,
//! and a pass stops starting rows (and abandons queries still waiting) once `pass_budget` has
//! passed. The rows it did not get to are released from their lease, so the next pass takes
//! them; nothing is half-applied, because a row is applied only after WeChat's answer is in.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use tokio::time::Instant;

mod rows;

use super::book::Book;
use super::port::{Due, Lease};
use super::service::WechatQueries;

/// Reconciliation knobs.
#[derive(Debug, Clone)]
pub struct ReconcileSettings {
    /// Leave rows younger than this alone: their callback may still come (seconds, 60).
    pub grace_secs: i64,
    /// A claimed row is not looked at again for this long (seconds, 300).
    pub lease_secs: i64,
    /// At most this many rows per category per pass (50).
    pub batch: i64,
    /// Rows worked on at the same time (4).
    pub concurrency: usize,
    /// A pass starts no row, and waits for no WeChat answer, after this long (20 s); the rows
    /// left go back to the next pass.
    pub pass_budget: Duration,
}

impl Default for ReconcileSettings {
    fn default() -> Self {
        Self {
            grace_secs: 60,
            lease_secs: 300,
            batch: 50,
            concurrency: 4,
            pass_budget: Duration::from_secs(20),
        }
    }
}

/// What one pass did, per category.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileSummary {
    /// Pending orders queried.
    pub orders_checked: usize,
    /// Orders found paid and marked PAID.
    pub orders_paid: usize,
    /// Orders closed (expired, or closed at WeChat).
    pub orders_closed: usize,
    /// Payments that did not match the stored order.
    pub orders_mismatched: usize,
    /// Unfinished refunds queried.
    pub refunds_checked: usize,
    /// Refunds whose state changed.
    pub refunds_settled: usize,
    /// Unfinished transfers queried.
    pub transfers_checked: usize,
    /// Transfers whose state changed.
    pub transfers_settled: usize,
    /// Queries or updates that failed (retried on a later pass).
    pub errors: usize,
    /// Rows the pass had no time left for (released for the next pass).
    pub deferred: usize,
}

impl std::ops::AddAssign for ReconcileSummary {
    fn add_assign(&mut self, o: Self) {
        self.orders_checked += o.orders_checked;
        self.orders_paid += o.orders_paid;
        self.orders_closed += o.orders_closed;
        self.orders_mismatched += o.orders_mismatched;
        self.refunds_checked += o.refunds_checked;
        self.refunds_settled += o.refunds_settled;
        self.transfers_checked += o.transfers_checked;
        self.transfers_settled += o.transfers_settled;
        self.errors += o.errors;
        self.deferred += o.deferred;
    }
}

/// How one row's step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// Looked at (and applied, if WeChat's answer asked for it).
    Done,
    /// Out of time before WeChat answered: nothing was applied.
    Deferred,
}

/// Runs reconciliation passes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reconciler;

impl Reconciler {
    /// One pass at time `now` (Unix seconds).
    pub async fn run_once(
        book: &Book,
        wechat: &dyn WechatQueries,
        now: i64,
        settings: &ReconcileSettings,
    ) -> ReconcileSummary {
        let deadline = Instant::now() + settings.pass_budget;
        let mut s = ReconcileSummary::default();
        let lease = Lease {
            created_before: now - settings.grace_secs,
            now,
            until: now + settings.lease_secs,
            limit: settings.batch,
        };
        for due in [Due::Orders, Due::Refunds, Due::Transfers] {
            let claimed = match book.store().claim_due(due, lease).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(?due, error = %e, "claiming rows to reconcile failed");
                    s.errors += 1;
                    continue;
                }
            };
            let row = |key: &String| {
                let key = key.clone();
                async move {
                    let mut rs = ReconcileSummary::default();
                    let flow = if Instant::now() >= deadline {
                        Ok(Flow::Deferred)
                    } else {
                        let ctx = rows::Row {
                            book,
                            wechat,
                            now,
                            key: &key,
                            deadline,
                        };
                        match due {
                            Due::Orders => rows::order_row(ctx, &mut rs).await,
                            Due::Refunds => rows::refund_row(ctx, &mut rs).await,
                            Due::Transfers => rows::transfer_row(ctx, &mut rs).await,
                        }
                    };
                    match flow {
                        Ok(Flow::Done) => {}
                        Ok(Flow::Deferred) => rs.deferred += 1,
                        Err(e) => {
                            tracing::warn!(?due, key = %key, error = %e, "reconciling failed");
                            rs.errors += 1;
                        }
                    }
                    (key, rs)
                }
            };
            let done: Vec<(String, ReconcileSummary)> = stream::iter(&claimed.keys)
                .map(row)
                .buffer_unordered(settings.concurrency.max(1))
                .collect()
                .await;
            let mut deferred = Vec::new();
            for (key, rs) in done {
                if rs.deferred > 0 {
                    deferred.push(key);
                }
                s += rs;
            }
            if !deferred.is_empty() {
                tracing::warn!(?due, rows = deferred.len(), budget = ?settings.pass_budget, "reconciliation pass out of time; the rest go to the next pass");
                if let Err(e) = book.store().release(due, &claimed, &deferred).await {
                    tracing::warn!(?due, error = %e, "releasing deferred rows failed; their lease will expire");
                }
            }
        }
        s
    }

    /// Runs a pass every `interval` (at the book's clock) until `shutdown` resolves; a pass
    /// in progress finishes first.
    pub fn spawn(
        book: Book,
        wechat: Arc<dyn WechatQueries>,
        interval: Duration,
        settings: ReconcileSettings,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        crate::periodic::every(interval, shutdown, move || {
            let (book, wechat, settings) = (book.clone(), wechat.clone(), settings.clone());
            async move {
                if !book.store_ready() {
                    return; // the store is reconnecting; nothing to hammer
                }
                let s = Self::run_once(&book, wechat.as_ref(), book.now(), &settings).await;
                if s != ReconcileSummary::default() {
                    tracing::info!(summary = ?s, "reconciliation pass");
                }
            }
        })
    }
}
