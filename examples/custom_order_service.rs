//! A business plugged into the money moments with `BusinessHooks`, while the shipped ledger
//! keeps doing the bookkeeping. "Ship on paid" is one method; the veto is another. Every way a
//! payment can arrive (pay callback, the query route, reconciliation after a lost callback)
//! reaches `order_paid` exactly once.
//!
//!     cargo run --example custom_order_service     (same environment variables as `serve`)

use std::sync::Arc;

use async_trait::async_trait;
use pay_common::config::Config;
use pay_common::pay::hooks::BusinessHooks;
use pay_common::pay::service::{OrderDraft, OrderView, ServiceError, ServiceErrorKind};
use pay_common::startup::{Application, Parts, open_ledger, shutdown_signal};
use pay_common::wechatpay::model::Transaction;

/// Orders above this many fen are refused before WeChat is ever called.
const LIMIT_FEN: i64 = 100_000;

struct Shop;

#[async_trait]
impl BusinessHooks for Shop {
    /// Runs after the order is PAID, once, whichever way the payment was found.
    async fn order_paid(&self, order: &OrderView, _tx: &Transaction) {
        // Your side effect goes here; for delivery that survives a crash, also consume the
        // signed `order.paid` webhook event.
        println!("ship order {}", order.out_trade_no);
    }

    /// A veto: nothing is recorded and WeChat never hears of the order.
    async fn before_order(&self, d: &OrderDraft) -> Result<(), ServiceError> {
        if d.amount.fen() > LIMIT_FEN {
            let msg = format!("amount.total must be at most {LIMIT_FEN} fen in this shop");
            return Err(ServiceError::new(
                ServiceErrorKind::Invalid,
                "OVER_SHOP_LIMIT",
                msg,
            ));
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    pay_common::telemetry::init();
    let config = Config::from_env();
    let ledger = open_ledger(&config).map_err(std::io::Error::other)?;
    let parts = Parts::ledger(ledger).with_hooks(Arc::new(Shop));
    let app = Application::build(config, parts).await?;
    println!("listening on {}", app.local_addr());
    app.run_until(shutdown_signal()).await
}
