//! Reconciliation: settles what callbacks missed by asking WeChat. One pass claims due rows
//! with a lease (so two reconcilers never process the same row in one pass; the lease also
//! spaces out re-checks), then
//! - pending orders older than the grace period: query, apply PAID / mismatch through the pay
//!   notice path (`notification_id: None`), or close them once past `expires_at`;
//! - unfinished refunds and transfers: query and apply final states; a reservation WeChat has
//!   never heard of (after the grace period) is released.

use serde::Serialize;

use super::claim::Claim;
use super::{Ledger, StoreError};
use crate::pay::rules::is_paid_state;
use crate::pay::service::{Notice, NoticeOutcome, WechatQueries};
use crate::pay::types::{OutBillNo, OutRefundNo, OutTradeNo};

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
    Ok(ledger.claim(&claim).await?.1)
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
        let (Ok(no), Some(order)) = (
            OutTradeNo::parse(key.as_str()),
            ledger.order_with_refunds(&key).await?,
        ) else {
            continue;
        };
        s.orders_checked += 1;
        let tx = match wechat.query_order(&no).await {
            Ok(tx) => tx,
            Err(e) => {
                tracing::warn!(out_trade_no = %no, error = %e, "order query failed");
                s.errors += 1;
                continue;
            }
        };
        let state = tx.as_ref().map_or("", |t| t.trade_state.as_str());
        if let Some(tx) = tx
            .as_ref()
            .filter(|_| is_paid_state(state) || state == "USERPAYING")
        {
            let notice = Notice {
                notification_id: None,
                event_type: "QUERY".into(),
                object: tx.clone(),
            };
            match ledger.apply_payment(&notice).await? {
                NoticeOutcome::Applied if is_paid_state(state) => s.orders_paid += 1,
                NoticeOutcome::Mismatch(_) => s.orders_mismatched += 1,
                _ => {}
            }
            continue;
        }
        let closed_at_wechat = matches!(state, "CLOSED" | "REVOKED");
        if !closed_at_wechat && order.expires_at > now {
            continue;
        }
        // Expired and unpaid: close it at WeChat first (unless WeChat never saw it).
        if tx.is_some() && !closed_at_wechat {
            if let Err(e) = wechat.close_order(&no).await {
                tracing::warn!(out_trade_no = %no, error = %e, "closing an expired order failed");
                s.errors += 1;
                continue;
            }
        }
        if ledger.close_pending(&key).await? {
            s.orders_closed += 1;
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
        let (Ok(no), Some(stored)) = (
            OutRefundNo::parse(key.as_str()),
            ledger.refund_by_no(&key).await?,
        ) else {
            continue;
        };
        s.refunds_checked += 1;
        match wechat.query_refund(&no).await {
            Err(e) => {
                tracing::warn!(out_refund_no = %no, error = %e, "refund query failed");
                s.errors += 1;
            }
            Ok(None) if stored.state == "RESERVED" => {
                ledger
                    .reject_refund(&key, "WeChat has no such refund")
                    .await?;
                s.refunds_settled += 1;
            }
            Ok(None) => {}
            Ok(Some(r)) if matches!(r.status.as_str(), "SUCCESS" | "CLOSED" | "ABNORMAL") => {
                let notice = Notice {
                    notification_id: None,
                    event_type: "QUERY".into(),
                    object: r,
                };
                if ledger.apply_refund(&notice).await? == NoticeOutcome::Applied {
                    s.refunds_settled += 1;
                }
            }
            Ok(Some(r)) => {
                if stored.state == "RESERVED" {
                    ledger.accept_refund(&r).await?;
                    s.refunds_settled += 1;
                }
            }
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
        let (Ok(no), Some(stored)) = (
            OutBillNo::parse(key.as_str()),
            ledger.find_transfer(&key).await?,
        ) else {
            continue;
        };
        s.transfers_checked += 1;
        match wechat.query_transfer(&no).await {
            Err(e) => {
                tracing::warn!(out_bill_no = %no, error = %e, "transfer query failed");
                s.errors += 1;
            }
            Ok(None) if stored.state == "RECORDED" => {
                ledger
                    .reject_transfer(&key, "WeChat has no such transfer")
                    .await?;
                s.transfers_settled += 1;
            }
            Ok(None) => {}
            Ok(Some(bill)) if bill.state != stored.state => {
                let notice = Notice {
                    notification_id: None,
                    event_type: "QUERY".into(),
                    object: bill,
                };
                if ledger.apply_transfer(&notice).await? == NoticeOutcome::Applied {
                    s.transfers_settled += 1;
                }
            }
            Ok(Some(_)) => {}
        }
    }
    Ok(())
}
