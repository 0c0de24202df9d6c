//! `Book`: one use case per money moment, behind every entry. A pay callback (SDK or gateway
//! shape), the query route and reconciliation all reach [`Book::payment_notified`]; the close
//! route and reconciliation reach [`Book::order_closed`]; refunds and transfers likewise. Each
//! use case reads the ledger, decides the step with the pure rules of `rules.rs`, asks the
//! storage port ([`LedgerStore`]) to persist exactly that step atomically, and then calls the
//! business hooks ([`BusinessHooks`]) once for the change it made.

mod refunds;
mod transfers;
mod unmatched;

use std::sync::Arc;

use super::hooks::{BusinessHooks, NoHooks};
use super::port::{Inserted, LedgerStore, PayStep, Sighting, Written};
use super::rules::number_reused;
use super::service::{
    Notice, NoticeOutcome, OrderAdmission, OrderDraft, OrderState, OrderView, Prepay, ServiceError,
    ServiceErrorKind,
};
use super::types::{OutTradeNo, mask};
use super::unmatched::UnmatchedDraft;
use crate::wechatpay::clock::Clock;
use crate::wechatpay::model::Transaction;

/// The money use cases over a storage port, with the business hooks and the one clock.
/// Cheap to clone.
#[derive(Clone)]
pub struct Book {
    store: Arc<dyn LedgerStore>,
    hooks: Arc<dyn BusinessHooks>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Book {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Book").finish_non_exhaustive()
    }
}

impl Book {
    /// The use cases over `store`, calling `hooks`, reading time from `clock`.
    pub fn new(
        store: Arc<dyn LedgerStore>,
        hooks: Arc<dyn BusinessHooks>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            hooks,
            clock,
        }
    }

    /// The use cases over `store` without business hooks.
    pub fn without_hooks(store: Arc<dyn LedgerStore>, clock: Arc<dyn Clock>) -> Self {
        Self::new(store, Arc::new(NoHooks), clock)
    }

    /// The same book with other hooks.
    pub fn with_hooks(mut self, hooks: Arc<dyn BusinessHooks>) -> Self {
        self.hooks = hooks;
        self
    }

    /// The storage port (reconciliation leases rows through it).
    pub fn store(&self) -> &dyn LedgerStore {
        self.store.as_ref()
    }

    /// The clock.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// Whether the store is connected and writable (see [`LedgerStore::is_ready`]).
    pub fn store_ready(&self) -> bool {
        self.store.is_ready()
    }

    /// Unix seconds now.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Before WeChat is called: the business may veto; then the order is recorded (so a crash
    /// after the call loses nothing), or an identical repeat is recognised. Same number with a
    /// different fingerprint → `Conflict` (`OUT_TRADE_NO_USED`).
    pub async fn record_order(&self, d: &OrderDraft) -> Result<OrderAdmission, ServiceError> {
        self.hooks.before_order(d).await?;
        match self.store.insert_order(d).await? {
            Inserted::New => {
                tracing::info!(out_trade_no = %d.out_trade_no, owner = %d.owner.as_ref().map_or("-".into(), |o| o.masked()), "order recorded");
                Ok(OrderAdmission::New)
            }
            Inserted::Existing(s) if s.fingerprint != d.fingerprint => Err(number_reused(
                "OUT_TRADE_NO_USED",
                "out_trade_no",
                d.out_trade_no.as_str(),
                "order",
            )),
            Inserted::Existing(s) => Ok(OrderAdmission::Existing {
                request_body: s.request_body,
                prepay: s.prepay,
                state: s.state,
            }),
        }
    }

    /// After WeChat accepted the order: store its prepay, then tell the business.
    pub async fn order_placed(
        &self,
        order: &OrderDraft,
        prepay: &Prepay,
    ) -> Result<(), ServiceError> {
        if !self
            .store
            .store_prepay(order.out_trade_no.as_str(), prepay)
            .await?
        {
            return Err(not_found("out_trade_no"));
        }
        self.hooks.order_placed(order, prepay).await;
        Ok(())
    }

    /// An authenticated transaction (pay callback of either shape, the query route,
    /// reconciliation): decide the step, apply it at most once, tell the business once.
    pub async fn payment_notified(
        &self,
        n: &Notice<Transaction>,
    ) -> Result<NoticeOutcome, ServiceError> {
        let tx = &n.object;
        let order = self.store.find_order(&tx.out_trade_no).await?;
        // Money for an order we never recorded, or closed before WeChat took the payment (the
        // close/pay race): nothing to apply it to, so it is recorded for an admin.
        let closed = order.as_ref().filter(|o| o.state == OrderState::Closed);
        if (order.is_none() || closed.is_some())
            && let Some(draft) = UnmatchedDraft::payment(tx, closed)
        {
            return self.unmatched_notified(n, &draft).await;
        }
        // appid, mchid, amount and currency never change after recording, so the step can be
        // decided before the write; the port's state guard decides "once".
        let Some(order) = order else {
            return Ok(NoticeOutcome::Unknown);
        };
        let step = PayStep::decide(&order, tx);
        let view = match self
            .store
            .record_payment(sighting(n), &order, tx, &step)
            .await?
        {
            Written::Changed(view) => view,
            Written::Replay | Written::Unchanged => return Ok(NoticeOutcome::Duplicate),
        };
        match step {
            PayStep::Pay => {
                tracing::info!(out_trade_no = %view.out_trade_no, trade_state = %tx.trade_state, via = %n.event_type, "payment applied");
                self.hooks.order_paid(&view, tx).await;
                Ok(NoticeOutcome::Applied)
            }
            PayStep::Mismatch(why) => {
                tracing::error!(
                    out_trade_no = %view.out_trade_no,
                    owner = %view.owner.as_deref().map_or("-".into(), mask),
                    reason = %why,
                    "ALERT: payment does not match the stored order; held as AMOUNT_MISMATCH"
                );
                self.hooks.payment_mismatched(&view, tx, &why).await;
                Ok(NoticeOutcome::Mismatch(why))
            }
            PayStep::UserPaying | PayStep::Nothing => Ok(NoticeOutcome::Applied),
        }
    }

    /// The order was closed at WeChat (close route, reconciliation): a pending order becomes
    /// CLOSED. `true` if it changed.
    pub async fn order_closed(&self, no: &OutTradeNo) -> Result<bool, ServiceError> {
        match self.store.close_order(no.as_str()).await? {
            Written::Changed(view) => {
                tracing::info!(out_trade_no = %no, "order closed");
                self.hooks.order_closed(&view).await;
                Ok(true)
            }
            Written::Replay | Written::Unchanged => Ok(false),
        }
    }

    /// The ledger's view of an order, `None` if unknown.
    pub async fn find_order(&self, no: &OutTradeNo) -> Result<Option<OrderView>, ServiceError> {
        self.store.find_order(no.as_str()).await
    }

    /// The order recorded for WeChat's transaction id, if any.
    pub async fn find_by_transaction_id(
        &self,
        transaction_id: &str,
    ) -> Result<Option<OrderView>, ServiceError> {
        self.store.find_order_by_transaction(transaction_id).await
    }
}

/// The replay key of a notice.
fn sighting<T>(n: &Notice<T>) -> Sighting<'_> {
    Sighting {
        notification_id: n.notification_id.as_deref(),
        event_type: &n.event_type,
    }
}

/// The refusal for a number the ledger does not hold.
pub(crate) fn not_found(what: &str) -> ServiceError {
    ServiceError::new(
        ServiceErrorKind::NotFound,
        "NOT_FOUND",
        format!("{what} is not recorded"),
    )
}
