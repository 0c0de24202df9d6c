//! One reconciliation step per leased row: ask WeChat (giving up at the pass's deadline), then
//! hand the answer to the same use case the callbacks reach.

use std::future::Future;

use tokio::time::Instant;

use super::{Flow, ReconcileSummary};
use crate::pay::book::Book;
use crate::pay::rules::is_paid_state;
use crate::pay::service::{
    Notice, NoticeOutcome, RefundState, ServiceError, TransferState, WechatQueries,
};
use crate::pay::types::{OutBillNo, OutRefundNo, OutTradeNo};

/// The row being reconciled and the pass it belongs to.
#[derive(Clone, Copy)]
pub(super) struct Row<'a> {
    pub book: &'a Book,
    pub wechat: &'a dyn WechatQueries,
    pub now: i64,
    pub key: &'a str,
    pub deadline: Instant,
}

/// A WeChat call bounded by the pass's deadline; `None` when time ran out first.
async fn ask<T>(deadline: Instant, call: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout_at(deadline, call).await.ok()
}

fn query<T>(object: T) -> Notice<T> {
    Notice {
        notification_id: None,
        event_type: "QUERY".into(),
        object,
    }
}

pub(super) async fn order_row(r: Row<'_>, s: &mut ReconcileSummary) -> Result<Flow, ServiceError> {
    let Row {
        book,
        wechat,
        now,
        key,
        deadline,
    } = r;
    let Ok(no) = OutTradeNo::parse(key) else {
        return Ok(Flow::Done);
    };
    let Some(order) = book.find_order(&no).await? else {
        return Ok(Flow::Done);
    };
    let Some(answer) = ask(deadline, wechat.query_order(&no)).await else {
        return Ok(Flow::Deferred);
    };
    s.orders_checked += 1;
    let tx = match answer {
        Ok(tx) => tx,
        Err(e) => {
            tracing::warn!(out_trade_no = %no, error = %e, "order query failed");
            s.errors += 1;
            return Ok(Flow::Done);
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
        return Ok(Flow::Done);
    }
    let closed_at_wechat = matches!(state, "CLOSED" | "REVOKED");
    if !closed_at_wechat && order.expires_at > now {
        return Ok(Flow::Done);
    }
    // Expired and unpaid: close it at WeChat first (unless WeChat never saw it).
    if tx.is_some() && !closed_at_wechat {
        match ask(deadline, wechat.close_order(&no)).await {
            None => return Ok(Flow::Deferred),
            Some(Err(e)) => {
                tracing::warn!(out_trade_no = %no, error = %e, "closing an expired order failed");
                s.errors += 1;
                return Ok(Flow::Done);
            }
            Some(Ok(())) => {}
        }
    }
    if book.order_closed(&no).await? {
        s.orders_closed += 1;
    }
    Ok(Flow::Done)
}

pub(super) async fn refund_row(r: Row<'_>, s: &mut ReconcileSummary) -> Result<Flow, ServiceError> {
    let Row {
        book,
        wechat,
        key,
        deadline,
        ..
    } = r;
    let Ok(no) = OutRefundNo::parse(key) else {
        return Ok(Flow::Done);
    };
    let Some(stored) = book.find_refund(&no).await? else {
        return Ok(Flow::Done);
    };
    let Some(answer) = ask(deadline, wechat.query_refund(&no)).await else {
        return Ok(Flow::Deferred);
    };
    s.refunds_checked += 1;
    match answer {
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
    Ok(Flow::Done)
}

pub(super) async fn transfer_row(
    r: Row<'_>,
    s: &mut ReconcileSummary,
) -> Result<Flow, ServiceError> {
    let Row {
        book,
        wechat,
        key,
        deadline,
        ..
    } = r;
    let Ok(no) = OutBillNo::parse(key) else {
        return Ok(Flow::Done);
    };
    let Some(stored) = book.find_transfer(&no).await? else {
        return Ok(Flow::Done);
    };
    let Some(answer) = ask(deadline, wechat.query_transfer(&no)).await else {
        return Ok(Flow::Deferred);
    };
    s.transfers_checked += 1;
    match answer {
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
    Ok(Flow::Done)
}
