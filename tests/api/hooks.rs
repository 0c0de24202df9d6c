//! Business hooks over HTTP: every way a payment can be found (the pay callback, the query
//! route, reconciliation after a lost callback) reaches `order_paid` exactly once, and a
//! `before_order` veto stops an order before WeChat is called; money for a closed order reaches
//! `payment_unmatched` once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use pay_common::pay::hooks::BusinessHooks;
use pay_common::pay::service::{OrderDraft, OrderView, ServiceError, ServiceErrorKind};
use pay_common::pay::unmatched::UnmatchedRecord;
use pay_common::wechatpay::model::Transaction;
use serde_json::json;

use crate::support::*;

/// Orders above this are vetoed by the shop.
const SHOP_LIMIT_FEN: i64 = 1_000;

/// Counts `order_paid` per order and vetoes orders above the limit.
#[derive(Default)]
struct Shop {
    paid: Mutex<HashMap<String, usize>>,
    vetoed: Mutex<Vec<String>>,
    /// `reason out_no` of every `payment_unmatched` call.
    unmatched: Mutex<Vec<String>>,
}

impl Shop {
    fn paid(&self, no: &str) -> usize {
        self.paid.lock().unwrap().get(no).copied().unwrap_or(0)
    }
}

#[async_trait]
impl BusinessHooks for Shop {
    async fn before_order(&self, d: &OrderDraft) -> Result<(), ServiceError> {
        if d.amount.fen() > SHOP_LIMIT_FEN {
            self.vetoed.lock().unwrap().push(d.out_trade_no.to_string());
            return Err(ServiceError::new(
                ServiceErrorKind::Invalid,
                "OVER_SHOP_LIMIT",
                format!("amount.total must be at most {SHOP_LIMIT_FEN} fen in this shop"),
            ));
        }
        Ok(())
    }

    async fn payment_unmatched(&self, record: &UnmatchedRecord) {
        let seen = format!("{} {}", record.reason, record.out_no);
        self.unmatched.lock().unwrap().push(seen);
    }

    async fn order_paid(&self, order: &OrderView, tx: &Transaction) {
        assert_eq!(order.out_trade_no, tx.out_trade_no);
        *self
            .paid
            .lock()
            .unwrap()
            .entry(order.out_trade_no.clone())
            .or_default() += 1;
    }
}

async fn spawn_shop(shop: &Arc<Shop>, deliver_callbacks: bool) -> TestApp {
    spawn(Opts {
        hooks: shop.clone(),
        deliver_callbacks,
        extra: vec![("reconcileGraceSeconds", "0".into())],
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn a_payment_found_by_callback_reaches_the_hook_once() {
    let shop = Arc::new(Shop::default());
    let app = spawn_shop(&shop, true).await;
    let no = "ORDER_HOOK_CALLBACK";
    assert_eq!(app.order(ALICE, no, 20).await.status, 200);
    app.sim.pay(no).unwrap();
    app.wait_state(no, "PAID").await;
    // The query route and reconciliation see the same payment again: no second call.
    let q = json!({ "out_trade_no": no });
    let r = app
        .call(As::User(ALICE), "wxpay_query_order_by_out_trade_no", q)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .post("/wx-pay/admin/reconcile", As::Admin, "{}".into())
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(shop.paid(no), 1);
}

#[tokio::test]
async fn a_payment_found_by_the_query_route_reaches_the_hook_once() {
    let shop = Arc::new(Shop::default());
    // The callback is lost: only the query can tell us.
    let app = spawn_shop(&shop, false).await;
    let no = "ORDER_HOOK_QUERY";
    assert_eq!(app.order(ALICE, no, 20).await.status, 200);
    app.sim.pay(no).unwrap();
    assert_eq!(app.view(no).await["state"], "NOTPAY");
    assert_eq!(shop.paid(no), 0);
    let q = json!({ "out_trade_no": no });
    for _ in 0..2 {
        let r = app
            .call(
                As::User(ALICE),
                "wxpay_query_order_by_out_trade_no",
                q.clone(),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert_eq!(app.view(no).await["state"], "PAID");
    assert_eq!(shop.paid(no), 1);
}

#[tokio::test]
async fn a_payment_found_only_by_reconciliation_reaches_the_hook_once() {
    let shop = Arc::new(Shop::default());
    let app = spawn_shop(&shop, false).await;
    let no = "ORDER_HOOK_RECONCILE";
    assert_eq!(app.order(ALICE, no, 20).await.status, 200);
    app.sim.pay(no).unwrap();
    let r = app
        .post("/wx-pay/admin/reconcile", As::Admin, "{}".into())
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.payload()["reconcile"]["orders_paid"], 1, "{}", r.body);
    assert_eq!(app.view(no).await["state"], "PAID");
    assert_eq!(shop.paid(no), 1);
    // A later query of the same payment changes nothing and calls nothing.
    let q = json!({ "out_trade_no": no });
    let r = app
        .call(As::User(ALICE), "wxpay_query_order_by_out_trade_no", q)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(shop.paid(no), 1);
}

#[tokio::test]
async fn a_hook_veto_stops_the_order_before_wechat_is_called() {
    let shop = Arc::new(Shop::default());
    let app = spawn_shop(&shop, true).await;
    let no = "ORDER_HOOK_VETOED";
    let r = app.order(ALICE, no, SHOP_LIMIT_FEN + 1).await;
    assert_eq!(
        (r.status, r.error()),
        (400, "OVER_SHOP_LIMIT"),
        "{}",
        r.body
    );
    assert!(r.msg().contains("at most 1000 fen"), "{}", r.body);
    assert_eq!(shop.vetoed.lock().unwrap().as_slice(), [no]);
    assert!(app.sim.order(no).is_none(), "WeChat never saw the order");
    assert!(
        app.sim.requests().iter().all(|q| q.endpoint != "jsapi"),
        "{:?}",
        app.sim.requests()
    );
    let view = app
        .call(As::Admin, "wxpay_order_view", json!({ "out_trade_no": no }))
        .await;
    assert_eq!(view.status, 404, "nothing was recorded: {}", view.body);
    // Within the limit, the same shop orders normally.
    assert_eq!(app.order(ALICE, "ORDER_HOOK_ALLOWED", 20).await.status, 200);
    assert!(app.sim.order("ORDER_HOOK_ALLOWED").is_some());
    let jsapi = app
        .sim
        .requests()
        .iter()
        .filter(|q| q.endpoint == "jsapi")
        .count();
    assert_eq!(jsapi, 1, "only the allowed order reached WeChat");
}

#[tokio::test]
async fn money_for_a_closed_order_reaches_payment_unmatched_once_and_never_order_paid() {
    let shop = Arc::new(Shop::default());
    let app = spawn_shop(&shop, true).await;
    let no = "ORDER_HOOK_LATE";
    assert_eq!(app.order(ALICE, no, 20).await.status, 200);
    let q = json!({ "out_trade_no": no });
    let r = app
        .call(As::User(ALICE), "wxpay_close_order", q.clone())
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    app.sim.pay_after_close(no).unwrap();
    for _ in 0..500 {
        if !shop.unmatched.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The query route finds the same money again: no second call.
    let r = app
        .call(As::User(ALICE), "wxpay_query_order_by_out_trade_no", q)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        shop.unmatched.lock().unwrap().as_slice(),
        [format!("PAID_AFTER_CLOSE {no}")]
    );
    assert_eq!(shop.paid(no), 0);
    assert_eq!(app.view(no).await["state"], "CLOSED");
}
