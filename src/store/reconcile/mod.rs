//! Reconciliation: settles what callbacks missed by asking WeChat. One pass claims due rows
//! with a lease (so two reconcilers never process the same row in one pass; the lease also
//! spaces out re-checks), then
//! - pending orders older than the grace period: query, apply PAID / mismatch through the pay
//!   notice path (`notification_id: None`), or close them once past `expires_at`;
//! - unfinished refunds and transfers: query and apply final states; a reservation WeChat has
//!   never heard of (after the grace period) is released.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

mod rows;

use rows::{order_row, refund_row, transfer_row};

use super::claim::Claim;
use super::error::retrying;
use super::{Ledger, StoreError};
use crate::pay::service::WechatQueries;

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
        ledger: &Ledger,
        wechat: &dyn WechatQueries,
        now: i64,
        settings: &ReconcileSettings,
    ) -> ReconcileSummary {
        let mut s = ReconcileSummary::default();
        let due = now - settings.grace_secs;
        let sweeps = [
            Sweep {
                table: "pay_orders",
                key: "out_trade_no",
                condition: "state IN ('NOTPAY', 'USERPAYING') AND created_at <= ?",
            },
            Sweep {
                table: "pay_refunds",
                key: "out_refund_no",
                condition: "state IN ('RESERVED', 'PROCESSING', 'ABNORMAL') AND created_at <= ?",
            },
            Sweep {
                table: "pay_transfers",
                key: "out_bill_no",
                condition: "state NOT IN ('SUCCESS', 'FAIL', 'CANCELLED', 'REJECTED') AND created_at <= ?",
            },
        ];
        for sweep in sweeps {
            let keys = match claim(ledger, &sweep, due, now, settings).await {
                Ok(keys) => keys,
                Err(e) => {
                    tracing::warn!(table = sweep.table, error = %e, "claiming rows to reconcile failed");
                    s.errors += 1;
                    continue;
                }
            };
            for key in keys {
                let done = match sweep.table {
                    "pay_orders" => order_row(ledger, wechat, now, &key, &mut s).await,
                    "pay_refunds" => refund_row(ledger, wechat, &key, &mut s).await,
                    _ => transfer_row(ledger, wechat, &key, &mut s).await,
                };
                if let Err(e) = done {
                    tracing::warn!(table = sweep.table, key = %key, error = %e, "reconciling failed");
                    s.errors += 1;
                }
            }
        }
        s
    }

    /// Runs a pass every `interval` (at the ledger's clock) until `shutdown` resolves; a pass
    /// in progress finishes first.
    pub fn spawn(
        ledger: Ledger,
        wechat: Arc<dyn WechatQueries>,
        interval: Duration,
        settings: ReconcileSettings,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        crate::periodic::every(interval, shutdown, move || {
            let (ledger, wechat, settings) = (ledger.clone(), wechat.clone(), settings.clone());
            async move {
                if !ledger.is_ready() {
                    return; // the ledger's supervisor is reconnecting; nothing to hammer
                }
                let s = Self::run_once(&ledger, wechat.as_ref(), ledger.now(), &settings).await;
                if s != ReconcileSummary::default() {
                    tracing::info!(summary = ?s, "reconciliation pass");
                }
            }
        })
    }
}

/// One category of rows a pass looks at.
struct Sweep {
    table: &'static str,
    key: &'static str,
    condition: &'static str,
}

async fn claim(
    ledger: &Ledger,
    sweep: &Sweep,
    due: i64,
    now: i64,
    st: &ReconcileSettings,
) -> Result<Vec<String>, StoreError> {
    let params = [due];
    let claim = Claim {
        table: sweep.table,
        key: sweep.key,
        condition: sweep.condition,
        params: &params,
        now,
        until: now + st.lease_secs,
        limit: st.batch,
    };
    Ok(retrying!(ledger.claim(&claim))?.1)
}
