//! An in-memory `OrderService` with the same rules as the ledger, for tests and for people
//! who want to see the hooks without a database. Nothing survives a restart.

use async_trait::async_trait;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use super::rules::{StoredOrder, check_payment, decide_refund, is_paid_state, number_reused};
use super::service::*;
use super::types::{OutBillNo, OutRefundNo, OutTradeNo};
use crate::wechatpay::model::{Refund, Transaction, TransferBill};

#[derive(Debug, Clone)]
struct OrderRow {
    draft_fingerprint: String,
    request_body: String,
    prepay: Option<Prepay>,
    view: OrderView,
}

#[derive(Debug, Clone)]
struct TransferRow {
    fingerprint: String,
    request_body: String,
    openid: String,
    state: String,
}

#[derive(Debug, Default)]
struct Inner {
    orders: HashMap<String, OrderRow>,
    refunds: HashMap<String, RefundRecord>,
    transfers: HashMap<String, TransferRow>,
    notifications: HashSet<String>,
}

/// The in-memory `OrderService`.
#[derive(Debug, Default)]
pub struct MemoryOrderService {
    inner: Mutex<Inner>,
}

impl MemoryOrderService {
    /// An empty service.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn not_found(what: &str) -> ServiceError {
    ServiceError::new(
        ServiceErrorKind::NotFound,
        "NOT_FOUND",
        format!("{what} is not recorded"),
    )
}

impl Inner {
    /// Recomputes an order's refund totals and state from its refunds.
    fn settle_refunds(&mut self, out_trade_no: &str) {
        let refunds: Vec<RefundRecord> = self
            .refunds
            .values()
            .filter(|r| r.out_trade_no == out_trade_no)
            .cloned()
            .collect();
        if let Some(o) = self.orders.get_mut(out_trade_no) {
            o.view.refunded = refunds
                .iter()
                .filter(|r| r.state == "SUCCESS")
                .map(|r| r.amount)
                .sum();
            o.view.refund_pending = refunds
                .iter()
                .filter(|r| matches!(r.state.as_str(), "RESERVED" | "PROCESSING" | "ABNORMAL"))
                .map(|r| r.amount)
                .sum();
            if o.view.refunded >= o.view.amount && o.view.state == OrderState::Paid {
                o.view.state = OrderState::Refunded;
            }
            o.view.refunds = refunds;
        }
    }
}

#[async_trait]
impl OrderService for MemoryOrderService {
    async fn record_order(&self, d: &OrderDraft) -> Result<OrderAdmission, ServiceError> {
        let mut inner = self.lock();
        if let Some(row) = inner.orders.get(d.out_trade_no.as_str()) {
            if row.draft_fingerprint != d.fingerprint {
                return Err(number_reused(
                    "OUT_TRADE_NO_USED",
                    "out_trade_no",
                    d.out_trade_no.as_str(),
                    "order",
                ));
            }
            return Ok(OrderAdmission::Existing {
                request_body: row.request_body.clone(),
                prepay: row.prepay.clone(),
                state: row.view.state,
            });
        }
        let view = OrderView {
            out_trade_no: d.out_trade_no.to_string(),
            owner: d.owner.as_ref().map(ToString::to_string),
            appid: d.appid.clone(),
            mchid: d.mchid.clone(),
            trade_type: d.trade_type.as_str().into(),
            amount: d.amount.fen(),
            currency: d.currency.clone(),
            description: d.description.clone(),
            state: OrderState::Notpay,
            transaction_id: None,
            refunded: 0,
            refund_pending: 0,
            created_at: now(),
            paid_at: None,
            expires_at: d.expires_at,
            refunds: vec![],
        };
        let row = OrderRow {
            draft_fingerprint: d.fingerprint.clone(),
            request_body: d.request_body.clone(),
            prepay: None,
            view,
        };
        inner.orders.insert(d.out_trade_no.to_string(), row);
        Ok(OrderAdmission::New)
    }

    async fn order_placed(&self, order: &OrderDraft, prepay: &Prepay) -> Result<(), ServiceError> {
        let mut inner = self.lock();
        let row = inner
            .orders
            .get_mut(order.out_trade_no.as_str())
            .ok_or_else(|| not_found("out_trade_no"))?;
        row.prepay = Some(prepay.clone());
        Ok(())
    }

    async fn payment_notified(
        &self,
        n: &Notice<Transaction>,
    ) -> Result<NoticeOutcome, ServiceError> {
        let mut inner = self.lock();
        if let Some(id) = &n.notification_id
            && !inner.notifications.insert(id.clone())
        {
            return Ok(NoticeOutcome::Duplicate);
        }
        let tx = &n.object;
        let Some(row) = inner.orders.get_mut(&tx.out_trade_no) else {
            return Ok(NoticeOutcome::Unknown);
        };
        let v = &mut row.view;
        if tx.trade_state == "USERPAYING" && v.state == OrderState::Notpay {
            v.state = OrderState::Userpaying;
            return Ok(NoticeOutcome::Applied);
        }
        if !is_paid_state(&tx.trade_state) || !v.state.is_pending() {
            return Ok(NoticeOutcome::Duplicate);
        }
        let stored = StoredOrder {
            out_trade_no: &v.out_trade_no,
            appid: &v.appid,
            mchid: &v.mchid,
            amount: v.amount,
            currency: &v.currency,
        };
        if let Err(why) = check_payment(stored, tx) {
            v.state = OrderState::AmountMismatch;
            return Ok(NoticeOutcome::Mismatch(why));
        }
        v.state = OrderState::Paid;
        v.paid_at = Some(now());
        v.transaction_id = tx.transaction_id.clone();
        Ok(NoticeOutcome::Applied)
    }

    async fn order_closed(&self, out_trade_no: &OutTradeNo) -> Result<(), ServiceError> {
        let mut inner = self.lock();
        if let Some(row) = inner.orders.get_mut(out_trade_no.as_str())
            && row.view.state.is_pending()
        {
            row.view.state = OrderState::Closed;
        }
        Ok(())
    }

    async fn reserve_refund(&self, d: &RefundDraft) -> Result<RefundAdmission, ServiceError> {
        let mut inner = self.lock();
        let order = match (&d.out_trade_no, &d.transaction_id) {
            (Some(no), _) => inner.orders.get(no.as_str()),
            (None, Some(tid)) => inner
                .orders
                .values()
                .find(|o| o.view.transaction_id.as_deref() == Some(tid)),
            (None, None) => None,
        }
        .map(|o| o.view.clone())
        .ok_or_else(|| not_found("the order to refund"))?;
        let existing = inner.refunds.get(d.out_refund_no.as_str()).cloned();
        let admission = decide_refund(&order, existing, d)?;
        if admission.fresh {
            let record = admission.refund.clone();
            inner.refunds.insert(record.out_refund_no.clone(), record);
            inner.settle_refunds(&order.out_trade_no);
        }
        Ok(admission)
    }

    async fn refund_accepted(&self, refund: &Refund) -> Result<(), ServiceError> {
        let mut inner = self.lock();
        let r = inner
            .refunds
            .get_mut(&refund.out_refund_no)
            .ok_or_else(|| not_found("out_refund_no"))?;
        if matches!(r.state.as_str(), "RESERVED" | "PROCESSING") {
            r.state = if refund.status.is_empty() {
                "PROCESSING".into()
            } else {
                refund.status.clone()
            };
        }
        r.refund_id = Some(refund.refund_id.clone());
        let order = r.out_trade_no.clone();
        inner.settle_refunds(&order);
        Ok(())
    }

    async fn refund_rejected(
        &self,
        out_refund_no: &OutRefundNo,
        _reason: &str,
    ) -> Result<(), ServiceError> {
        let mut inner = self.lock();
        if let Some(r) = inner.refunds.get_mut(out_refund_no.as_str())
            && r.state == "RESERVED"
        {
            r.state = "REJECTED".into();
            let order = r.out_trade_no.clone();
            inner.settle_refunds(&order);
        }
        Ok(())
    }

    async fn refund_notified(&self, n: &Notice<Refund>) -> Result<NoticeOutcome, ServiceError> {
        let mut inner = self.lock();
        if let Some(id) = &n.notification_id
            && !inner.notifications.insert(id.clone())
        {
            return Ok(NoticeOutcome::Duplicate);
        }
        let Some(r) = inner.refunds.get_mut(&n.object.out_refund_no) else {
            return Ok(NoticeOutcome::Unknown);
        };
        if n.object.out_trade_no != r.out_trade_no || n.object.amount.refund != Some(r.amount) {
            return Ok(NoticeOutcome::Mismatch(
                "refund does not match the ledger".into(),
            ));
        }
        let status = n.object.status.as_str();
        let movable = matches!(r.state.as_str(), "RESERVED" | "PROCESSING" | "ABNORMAL");
        if !movable || r.state == status || !matches!(status, "SUCCESS" | "CLOSED" | "ABNORMAL") {
            return Ok(NoticeOutcome::Duplicate);
        }
        r.state = status.into();
        let order = r.out_trade_no.clone();
        inner.settle_refunds(&order);
        Ok(NoticeOutcome::Applied)
    }

    async fn record_transfer(&self, d: &TransferDraft) -> Result<TransferAdmission, ServiceError> {
        let mut inner = self.lock();
        if let Some(t) = inner.transfers.get(d.out_bill_no.as_str()) {
            if t.fingerprint != d.fingerprint {
                return Err(number_reused(
                    "OUT_BILL_NO_USED",
                    "out_bill_no",
                    d.out_bill_no.as_str(),
                    "transfer",
                ));
            }
            return Ok(TransferAdmission::Existing {
                request_body: t.request_body.clone(),
            });
        }
        let row = TransferRow {
            fingerprint: d.fingerprint.clone(),
            request_body: d.request_body.clone(),
            openid: d.openid.to_string(),
            state: "RECORDED".into(),
        };
        inner.transfers.insert(d.out_bill_no.to_string(), row);
        Ok(TransferAdmission::New)
    }

    async fn transfer_accepted(&self, bill: &TransferBill) -> Result<(), ServiceError> {
        let mut inner = self.lock();
        let t = inner
            .transfers
            .get_mut(&bill.out_bill_no)
            .ok_or_else(|| not_found("out_bill_no"))?;
        if !matches!(t.state.as_str(), "SUCCESS" | "FAIL" | "CANCELLED") {
            t.state = bill.state.clone();
        }
        Ok(())
    }

    async fn transfer_rejected(
        &self,
        out_bill_no: &OutBillNo,
        _reason: &str,
    ) -> Result<(), ServiceError> {
        if let Some(t) = self.lock().transfers.get_mut(out_bill_no.as_str())
            && t.state == "RECORDED"
        {
            t.state = "REJECTED".into();
        }
        Ok(())
    }

    async fn transfer_notified(
        &self,
        n: &Notice<TransferBill>,
    ) -> Result<NoticeOutcome, ServiceError> {
        let mut inner = self.lock();
        if let Some(id) = &n.notification_id
            && !inner.notifications.insert(id.clone())
        {
            return Ok(NoticeOutcome::Duplicate);
        }
        let Some(t) = inner.transfers.get_mut(&n.object.out_bill_no) else {
            return Ok(NoticeOutcome::Unknown);
        };
        if matches!(t.state.as_str(), "SUCCESS" | "FAIL" | "CANCELLED") || t.state == n.object.state
        {
            return Ok(NoticeOutcome::Duplicate);
        }
        t.state = n.object.state.clone();
        Ok(NoticeOutcome::Applied)
    }

    async fn find_order(
        &self,
        out_trade_no: &OutTradeNo,
    ) -> Result<Option<OrderView>, ServiceError> {
        Ok(self
            .lock()
            .orders
            .get(out_trade_no.as_str())
            .map(|o| o.view.clone()))
    }

    async fn find_by_transaction_id(
        &self,
        transaction_id: &str,
    ) -> Result<Option<OrderView>, ServiceError> {
        let inner = self.lock();
        let found = inner
            .orders
            .values()
            .find(|o| o.view.transaction_id.as_deref() == Some(transaction_id));
        Ok(found.map(|o| o.view.clone()))
    }

    async fn find_refund(
        &self,
        out_refund_no: &OutRefundNo,
    ) -> Result<Option<RefundRecord>, ServiceError> {
        Ok(self.lock().refunds.get(out_refund_no.as_str()).cloned())
    }

    async fn transfer_payee(
        &self,
        out_bill_no: &OutBillNo,
    ) -> Result<Option<String>, ServiceError> {
        Ok(self
            .lock()
            .transfers
            .get(out_bill_no.as_str())
            .map(|t| t.openid.clone()))
    }
}
