//! Reconciliation: settles what callbacks missed by asking WeChat. One pass leases due rows
//! through the storage port (so two reconcilers never process the same row in one pass; the
//! lease also spaces out re-checks), then hands WeChat's answer for each to the same use case a
//! callback reaches ([`Book`]), so the business hooks hear of a payment found this way too:
//! - pending orders older than the grace period: query, apply PAID / mismatch as a pay notice
//!   (`notification_id: None`), or close them once past `expires_at`;
//! - unfinished refunds and transfers: query and apply final states; a reservation WeChat has
//!   never heard of (after the grace period) is released.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

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
}

impl Default for ReconcileSettings {
    fn default() -> Self {
        Self {
            grace_secs: 60,
            lease_secs: 300,
            batch: 50,
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
            for key in &claimed.keys {
                let done = match due {
                    Due::Orders => rows::order_row(book, wechat, now, key, &mut s).await,
                    Due::Refunds => rows::refund_row(book, wechat, key, &mut s).await,
                    Due::Transfers => rows::transfer_row(book, wechat, key, &mut s).await,
                };
                if let Err(e) = done {
                    tracing::warn!(?due, key = %key, error = %e, "reconciling failed");
                    s.errors += 1;
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
                let s = Self::run_once(&book, wechat.as_ref(), book.now(), &settings).await;
                if s != ReconcileSummary::default() {
                    tracing::info!(summary = ?s, "reconciliation pass");
                }
            }
        })
    }
}
