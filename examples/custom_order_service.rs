//! A business that vetoes orders above a limit and records shipments, while the shipped ledger
//! keeps doing the money bookkeeping: wrap the ledger, add your rule, delegate the rest.
//!
//!     cargo run --example custom_order_service     (same environment variables as `serve`)

use std::sync::Arc;

use async_trait::async_trait;
use pay_common::config::Config;
use pay_common::pay::service::*;
use pay_common::pay::types::{OutBillNo, OutRefundNo, OutTradeNo};
use pay_common::startup::{Application, Parts, open_ledger, shutdown_signal};
use pay_common::store::Ledger;
use pay_common::wechatpay::model::{Refund, Transaction, TransferBill};

/// Orders above this many fen are refused before WeChat is ever called.
const LIMIT_FEN: i64 = 100_000;

struct Shop {
    ledger: Ledger,
}

#[async_trait]
impl OrderService for Shop {
    async fn record_order(&self, d: &OrderDraft) -> Result<OrderAdmission, ServiceError> {
        if d.amount.fen() > LIMIT_FEN {
            let msg = format!("amount.total must be at most {LIMIT_FEN} fen in this shop");
            return Err(ServiceError::new(
                ServiceErrorKind::Invalid,
                "OVER_SHOP_LIMIT",
                msg,
            ));
        }
        self.ledger.record_order(d).await
    }
    async fn order_placed(&self, d: &OrderDraft, p: &Prepay) -> Result<(), ServiceError> {
        self.ledger.order_placed(d, p).await
    }
    async fn payment_notified(
        &self,
        n: &Notice<Transaction>,
    ) -> Result<NoticeOutcome, ServiceError> {
        let outcome = self.ledger.payment_notified(n).await?;
        if outcome == NoticeOutcome::Applied && n.object.trade_state == "SUCCESS" {
            // Your side effect goes here (better: consume the order.paid webhook event).
            println!("ship order {}", n.object.out_trade_no);
        }
        Ok(outcome)
    }
    async fn order_closed(&self, no: &OutTradeNo) -> Result<(), ServiceError> {
        self.ledger.order_closed(no).await
    }
    async fn reserve_refund(&self, d: &RefundDraft) -> Result<RefundAdmission, ServiceError> {
        self.ledger.reserve_refund(d).await
    }
    async fn refund_accepted(&self, r: &Refund) -> Result<(), ServiceError> {
        self.ledger.refund_accepted(r).await
    }
    async fn refund_rejected(&self, no: &OutRefundNo, why: &str) -> Result<(), ServiceError> {
        self.ledger.refund_rejected(no, why).await
    }
    async fn refund_notified(&self, n: &Notice<Refund>) -> Result<NoticeOutcome, ServiceError> {
        self.ledger.refund_notified(n).await
    }
    async fn record_transfer(&self, d: &TransferDraft) -> Result<TransferAdmission, ServiceError> {
        self.ledger.record_transfer(d).await
    }
    async fn transfer_accepted(&self, b: &TransferBill) -> Result<(), ServiceError> {
        self.ledger.transfer_accepted(b).await
    }
    async fn transfer_rejected(&self, no: &OutBillNo, why: &str) -> Result<(), ServiceError> {
        self.ledger.transfer_rejected(no, why).await
    }
    async fn transfer_notified(
        &self,
        n: &Notice<TransferBill>,
    ) -> Result<NoticeOutcome, ServiceError> {
        self.ledger.transfer_notified(n).await
    }
    async fn find_order(&self, no: &OutTradeNo) -> Result<Option<OrderView>, ServiceError> {
        self.ledger.find_order(no).await
    }
    async fn find_by_transaction_id(&self, id: &str) -> Result<Option<OrderView>, ServiceError> {
        self.ledger.find_by_transaction_id(id).await
    }
    async fn find_refund(&self, no: &OutRefundNo) -> Result<Option<RefundRecord>, ServiceError> {
        self.ledger.find_refund(no).await
    }
    async fn transfer_payee(&self, no: &OutBillNo) -> Result<Option<String>, ServiceError> {
        self.ledger.transfer_payee(no).await
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    pay_common::telemetry::init();
    let config = Config::from_env();
    let ledger = open_ledger(&config).map_err(std::io::Error::other)?;
    // Keep the ledger for the admin routes (reconcile, events); the shop is the OrderService.
    let mut parts = Parts::ledger(ledger.clone());
    parts.orders = Arc::new(Shop { ledger });
    let app = Application::build(config, parts).await?;
    println!("listening on {}", app.local_addr());
    app.run_until(shutdown_signal()).await
}
