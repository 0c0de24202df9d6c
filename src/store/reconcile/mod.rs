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
        if let Err(e) = orders(ledger, wechat, now, settings, &mut s).await {
            tracing::warn!(error = %e, "reconciling orders failed");
            s.errors += 1;
        }
        if let Err(e) = refunds(ledger, wechat, now, settings, &mut s).await {
            tracing::warn!(error = %e, "reconciling refunds failed");
            s.errors += 1;
        }
        if let Err(e) = transfers(ledger, wechat, now, settings, &mut s).await {
            tracing::warn!(error = %e, "reconciling transfers failed");
            s.errors += 1;
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
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            tokio::pin!(shutdown);
            loop {
                tokio::select! {
                    () = &mut shutdown => break,
                    _ = ticker.tick() => {
                        let s = Self::run_once(&ledger, wechat.as_ref(), ledger.now(), &settings).await;
                        if s != ReconcileSummary::default() {
                            tracing::info!(summary = ?s, "reconciliation pass");
                        }
                    }
                }
            }
        })
    }
}

async fn claim(
    ledger: &Ledger,
    table: &'static str,
    key: &'static str,
    condition: &str,
    now: i64,
    st: &ReconcileSettings,
) -> Result<Vec<String>, StoreError> {
    let params = [now - st.grace_secs];
    let claim = Claim {
        table,
        key,
        condition,
        params: &params,
        now,
        until: now + st.lease_secs,
        limit: st.batch,
    };
    Ok(retrying!(ledger.claim(&claim))?.1)
}

async fn orders(
    ledger: &Ledger,
    wechat: &dyn WechatQueries,
    now: i64,
    st: &ReconcileSettings,
    s: &mut ReconcileSummary,
) -> Result<(), StoreError> {
    let cond = "state IN ('NOTPAY', 'USERPAYING') AND created_at <= ?";
    for key in claim(ledger, "pay_orders", "out_trade_no", cond, now, st).await? {
        if let Err(e) = order_row(ledger, wechat, now, &key, s).await {
            tracing::warn!(out_trade_no = %key, error = %e, "reconciling failed");
            s.errors += 1;
        }
    }
    Ok(())
}

async fn refunds(
    ledger: &Ledger,
    wechat: &dyn WechatQueries,
    now: i64,
    st: &ReconcileSettings,
    s: &mut ReconcileSummary,
) -> Result<(), StoreError> {
    let cond = "state IN ('RESERVED', 'PROCESSING', 'ABNORMAL') AND created_at <= ?";
    for key in claim(ledger, "pay_refunds", "out_refund_no", cond, now, st).await? {
        if let Err(e) = refund_row(ledger, wechat, &key, s).await {
            tracing::warn!(out_refund_no = %key, error = %e, "reconciling failed");
            s.errors += 1;
        }
    }
    Ok(())
}

async fn transfers(
    ledger: &Ledger,
    wechat: &dyn WechatQueries,
    now: i64,
    st: &ReconcileSettings,
    s: &mut ReconcileSummary,
) -> Result<(), StoreError> {
    let cond = "state NOT IN ('SUCCESS', 'FAIL', 'CANCELLED', 'REJECTED') AND created_at <= ?";
    for key in claim(ledger, "pay_transfers", "out_bill_no", cond, now, st).await? {
        if let Err(e) = transfer_row(ledger, wechat, &key, s).await {
            tracing::warn!(out_bill_no = %key, error = %e, "reconciling failed");
            s.errors += 1;
        }
    }
    Ok(())
}
