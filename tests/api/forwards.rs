//! Forged forwards cost nothing: a gateway forward without ciphertext is confirmed by a WeChat
//! query, and those queries are coalesced per object and budgeted per instance.

use pay_common::simulator::{Fault, FaultRule};
use serde_json::{Value, json};

use crate::support::*;

fn forward(out_trade_no: &str) -> String {
    json!({
        "ParsedContent": { "out_trade_no": out_trade_no, "trade_state": "SUCCESS", "appid": APPID,
            "mchid": MCHID, "amount": { "total": 5, "currency": "CNY" } },
        "ParsedNotify": { "event_type": "TRANSACTION.SUCCESS" },
        "rawData": { "event_type": "TRANSACTION.SUCCESS" },
    })
    .to_string()
}

fn order_queries(app: &TestApp) -> usize {
    app.sim
        .requests()
        .iter()
        .filter(|r| r.endpoint == "query_by_out_trade_no")
        .count()
}

#[tokio::test]
async fn fifty_concurrent_forged_forwards_for_one_order_cost_one_query() {
    let app = spawn(Opts::default()).await;
    let no = "ORDER_FORGED_MANY";
    assert_eq!(app.order(ALICE, no, 5).await.status, 200);
    // The one query takes a while, so every forward arrives while it is in flight.
    app.sim.inject(FaultRule::new(
        "query_by_out_trade_no",
        Fault::Latency { ms: 1_500 },
        1,
    ));
    let before = order_queries(&app);
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (http, base, body) = (app.http.clone(), app.base.clone(), forward(no));
        tasks.push(tokio::spawn(async move {
            let resp = http
                .post(format!("{base}/wechatpay/order"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    assert_eq!(order_queries(&app) - before, 1, "one query for 50 forwards");
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "all share one answer: {answers:?}"
    );
    assert_eq!(
        app.view(no).await["state"],
        "NOTPAY",
        "WeChat says NOTPAY; nothing changed"
    );
}

#[tokio::test]
async fn forwards_over_the_budget_are_answered_fail_without_a_query() {
    let app = spawn(Opts {
        extra: vec![("gatewayQueryBudgetPerMinute", "2".into())],
        ..Default::default()
    })
    .await;
    let before = order_queries(&app);
    for no in ["ORDER_BUDGET_0001", "ORDER_BUDGET_0002"] {
        let r = app
            .post("/wechatpay/order", As::Anonymous, forward(no))
            .await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (400, Some("FAIL")),
            "{}",
            r.body
        );
        assert!(
            r.body["message"]
                .as_str()
                .unwrap()
                .contains("does not know"),
            "{}",
            r.body
        );
    }
    let r = app
        .post("/", As::Anonymous, forward("ORDER_BUDGET_0003"))
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (503, Some("FAIL")),
        "{}",
        r.body
    );
    assert!(
        r.body["message"].as_str().unwrap().contains("retry later"),
        "{}",
        r.body
    );
    assert_eq!(
        order_queries(&app) - before,
        2,
        "the third forward cost nothing"
    );
    // Genuine notices carry ciphertext and need no query: payments still arrive.
    assert_eq!(app.order(ALICE, "ORDER_BUDGET_PAID", 5).await.status, 200);
    app.sim.pay("ORDER_BUDGET_PAID").unwrap();
    app.wait_state("ORDER_BUDGET_PAID", "PAID").await;
}
