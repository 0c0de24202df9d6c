//! One reconciliation step per leased row: ask WeChat, then hand the answer to the same use
//! case the callbacks reach.

use super::ReconcileSummary;
use crate::pay::book::Book;
use crate::pay::rules::is_paid_state;
use crate::pay::service::{
    Notice, NoticeOutcome, RefundState, ServiceError, TransferState, WechatQueries,
};
use crate::pay::types::{OutBillNo, OutRefundNo, OutTradeNo};

fn query<T>(object: T) -> Notice<T> {
    Notice {
        notification_id: None,
        event_type: "QUERY".into(),
        object,
    }
}

pub(super) async fn order_row(
    book: &Book,
    wechat: &dyn WechatQueries,
    now: i64,
    key: &str,
    s: &mut ReconcileSummary,
) -> Result<(), ServiceError> {
    let Ok(no) = OutTradeNo::parse(key) else {
        return Ok(());
    };
    let Some(order) = book.find_order(&no).await? else {
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
        match book.payment_notified(&query(tx.clone())).await? {
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
    if book.order_closed(&no).await? {
        s.orders_closed += 1;
    }
    Ok(())
}

pub(super) async fn refund_row(
    book: &Book,
    wechat: &dyn WechatQueries,
    key: &str,
    s: &mut ReconcileSummary,
) -> Result<(), ServiceError> {
    let Ok(no) = OutRefundNo::parse(key) else {
        return Ok(());
    };
    let Some(stored) = book.find_refund(&no).await? else {
        return Ok(());
    };
    s.refunds_checked += 1;
    match wechat.query_refund(&no).await {
        Err(e) => {
            tracing::warn!(out_refund_no = %no, error = %e, "refund query failed");
            s.errors += 1;
        }
        Ok(None) if stored.state == RefundState::Reserved => {
            book.refund_rejected(&no, "WeChat has no such refund")
                .await?;
            s.refunds_settled += 1;
        }
        Ok(None) => {}
        Ok(Some(r)) if RefundState::parse(&r.status).is_some_and(RefundState::is_result) => {
            if book.refund_notified(&query(r)).await? == NoticeOutcome::Applied {
                s.refunds_settled += 1;
            }
        }
        Ok(Some(r)) => {
            if stored.state == RefundState::Reserved {
                book.refund_accepted(&r).await?;
                s.refunds_settled += 1;
            }
        }
    }
    Ok(())
}

pub(super) async fn transfer_row(
    book: &Book,
    wechat: &dyn WechatQueries,
    key: &str,
    s: &mut ReconcileSummary,
) -> Result<(), ServiceError> {
    let Ok(no) = OutBillNo::parse(key) else {
        return Ok(());
    };
    let Some(stored) = book.find_transfer(&no).await? else {
        return Ok(());
    };
    s.transfers_checked += 1;
    match wechat.query_transfer(&no).await {
        Err(e) => {
            tracing::warn!(out_bill_no = %no, error = %e, "transfer query failed");
            s.errors += 1;
        }
        Ok(None) if stored.state == TransferState::Recorded => {
            book.transfer_rejected(&no, "WeChat has no such transfer")
                .await?;
            s.transfers_settled += 1;
        }
        Ok(None) => {}
        Ok(Some(bill)) if stored.state != bill.state.as_str() => {
            if book.transfer_notified(&query(bill)).await? == NoticeOutcome::Applied {
                s.transfers_settled += 1;
            }
        }
        Ok(Some(_)) => {}
    }
    Ok(())
}
