//! One reconciliation step per claimed row: ask WeChat, then apply what it says through the
//! same ledger use cases the callbacks use.

use super::ReconcileSummary;
use crate::pay::rules::is_paid_state;
use crate::pay::service::{Notice, NoticeOutcome, WechatQueries};
use crate::pay::types::{OutBillNo, OutRefundNo, OutTradeNo};
use crate::store::error::retrying;
use crate::store::{Ledger, StoreError};

pub(super) async fn order_row(
    ledger: &Ledger,
    wechat: &dyn WechatQueries,
    now: i64,
    key: &str,
    s: &mut ReconcileSummary,
) -> Result<(), StoreError> {
    let (Ok(no), Some(order)) = (
        OutTradeNo::parse(key),
        retrying!(ledger.load_order_plain(key))?,
    ) else {
        return Ok(());
    };
    s.orders_checked += 1;
    let tx = match wechat.query_order(&no).await {
        Ok(tx) => tx,
        Err(e) => {
            tracing::warn!(out_trade_no = %no, error = %e, "order query failed");
            s.errors += 1;
            return Ok(());
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
        match retrying!(ledger.apply_payment(&notice))? {
            NoticeOutcome::Applied if is_paid_state(state) => s.orders_paid += 1,
            NoticeOutcome::Mismatch(_) => s.orders_mismatched += 1,
            _ => {}
        }
        return Ok(());
    }
    let closed_at_wechat = matches!(state, "CLOSED" | "REVOKED");
    if !closed_at_wechat && order.expires_at > now {
        return Ok(());
    }
    // Expired and unpaid: close it at WeChat first (unless WeChat never saw it).
    if tx.is_some()
        && !closed_at_wechat
        && let Err(e) = wechat.close_order(&no).await
    {
        tracing::warn!(out_trade_no = %no, error = %e, "closing an expired order failed");
        s.errors += 1;
        return Ok(());
    }
    if retrying!(ledger.close_pending(key))? {
        s.orders_closed += 1;
    }
    Ok(())
}

pub(super) async fn refund_row(
    ledger: &Ledger,
    wechat: &dyn WechatQueries,
    key: &str,
    s: &mut ReconcileSummary,
) -> Result<(), StoreError> {
    let (Ok(no), Some(stored)) = (
        OutRefundNo::parse(key),
        retrying!(ledger.refund_by_no(key))?,
    ) else {
        return Ok(());
    };
    s.refunds_checked += 1;
    match wechat.query_refund(&no).await {
        Err(e) => {
            tracing::warn!(out_refund_no = %no, error = %e, "refund query failed");
            s.errors += 1;
        }
        Ok(None) if stored.state == "RESERVED" => {
            retrying!(ledger.reject_refund(key, "WeChat has no such refund"))?;
            s.refunds_settled += 1;
        }
        Ok(None) => {}
        Ok(Some(r)) if matches!(r.status.as_str(), "SUCCESS" | "CLOSED" | "ABNORMAL") => {
            let notice = Notice {
                notification_id: None,
                event_type: "QUERY".into(),
                object: r,
            };
            if retrying!(ledger.apply_refund(&notice))? == NoticeOutcome::Applied {
                s.refunds_settled += 1;
            }
        }
        Ok(Some(r)) => {
            if stored.state == "RESERVED" {
                retrying!(ledger.accept_refund(&r))?;
                s.refunds_settled += 1;
            }
        }
    }
    Ok(())
}

pub(super) async fn transfer_row(
    ledger: &Ledger,
    wechat: &dyn WechatQueries,
    key: &str,
    s: &mut ReconcileSummary,
) -> Result<(), StoreError> {
    let (Ok(no), Some(stored)) = (OutBillNo::parse(key), retrying!(ledger.find_transfer(key))?)
    else {
        return Ok(());
    };
    s.transfers_checked += 1;
    match wechat.query_transfer(&no).await {
        Err(e) => {
            tracing::warn!(out_bill_no = %no, error = %e, "transfer query failed");
            s.errors += 1;
        }
        Ok(None) if stored.state == "RECORDED" => {
            retrying!(ledger.reject_transfer(key, "WeChat has no such transfer"))?;
            s.transfers_settled += 1;
        }
        Ok(None) => {}
        Ok(Some(bill)) if bill.state != stored.state => {
            let notice = Notice {
                notification_id: None,
                event_type: "QUERY".into(),
                object: bill,
            };
            if retrying!(ledger.apply_transfer(&notice))? == NoticeOutcome::Applied {
                s.transfers_settled += 1;
            }
        }
        Ok(Some(_)) => {}
    }
    Ok(())
}
