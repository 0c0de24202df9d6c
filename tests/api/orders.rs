//! Ordering, querying and closing as a Mini Program does it.

use pay_common::wechatpay::crypto;
use serde_json::json;

use crate::support::*;

fn verify(message: &[u8], sig: &str) -> bool {
    merchant_public_key().verify(message, sig)
}

#[tokio::test]
async fn jsapi_order_returns_invoke_parameters_whose_pay_sign_verifies() {
    let app = spawn(Opts::default()).await;
    let r = app.order(ALICE, "ORDER_1700000000001", 20).await;
    assert_eq!(
        (r.status, r.body["code"].as_i64()),
        (200, Some(0)),
        "{}",
        r.body
    );
    assert_eq!(r.body["msg"], "success");
    assert_eq!(r.body["data"]["status"], 200);
    let p = r.payload();
    let prepay = p["prepay_id"].as_str().unwrap();
    assert_eq!(p["package"], format!("prepay_id={prepay}"));
    assert_eq!(
        (p["appId"].as_str(), p["signType"].as_str()),
        (Some(APPID), Some("RSA"))
    );
    assert_eq!(p["nonceStr"].as_str().unwrap().len(), 32);
    let msg = crypto::jsapi_pay_message(
        APPID,
        p["timeStamp"].as_str().unwrap(),
        p["nonceStr"].as_str().unwrap(),
        p["package"].as_str().unwrap(),
    );
    assert!(
        verify(&msg, p["paySign"].as_str().unwrap()),
        "paySign must verify with the merchant public key"
    );
    let (accepted, rejected) = app.sim.request_counts();
    assert_eq!(
        (accepted, rejected),
        (1, 0),
        "the simulator accepted our signature"
    );
    let order = app.sim.order("ORDER_1700000000001").unwrap();
    assert_eq!(order.payer.unwrap().openid, ALICE);
    assert_eq!(order.trade_state, "NOTPAY");
}

#[tokio::test]
async fn header_openid_wins_over_a_payer_in_the_body() {
    let app = spawn(Opts::default()).await;
    let body = json!({ "description": "x", "out_trade_no": "ORDER_HEADER_WINS", "amount": { "total": 5 }, "payer": { "openid": BOB } });
    let r = app.call(As::User(ALICE), "wxpay_order", body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        app.sim
            .order("ORDER_HEADER_WINS")
            .unwrap()
            .payer
            .unwrap()
            .openid,
        ALICE
    );
    assert_eq!(app.view("ORDER_HEADER_WINS").await["owner"], ALICE);
}

#[tokio::test]
async fn repeating_an_order_returns_the_same_prepay_and_a_changed_one_is_refused() {
    let app = spawn(Opts::default()).await;
    let first = app.order(ALICE, "ORDER_REPEAT_0001", 20).await;
    let again = app.order(ALICE, "ORDER_REPEAT_0001", 20).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(first.payload()["prepay_id"], again.payload()["prepay_id"]);
    let changed = app.order(ALICE, "ORDER_REPEAT_0001", 21).await;
    assert_eq!(
        (changed.status, changed.error()),
        (409, "OUT_TRADE_NO_USED"),
        "{}",
        changed.body
    );
}

#[tokio::test]
async fn a_missing_out_trade_no_is_generated_and_returned() {
    let app = spawn(Opts::default()).await;
    let r = app
        .call(
            As::User(ALICE),
            "wxpay_order",
            json!({ "description": "x", "amount": { "total": 1 } }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let no = r.payload()["out_trade_no"].as_str().unwrap();
    assert!((6..=32).contains(&no.len()));
    assert!(app.sim.order(no).is_some());
}

#[tokio::test]
async fn use_service_account_selects_the_second_appid() {
    let app = spawn(Opts::default()).await;
    let body = json!({ "description": "x", "out_trade_no": "ORDER_SERVICE_ACCT", "amount": { "total": 1 }, "useServiceAccount": true });
    let r = app.call(As::User(ALICE), "wxpay_order", body).await;
    assert_eq!(r.payload()["appId"], SERVICE_APPID, "{}", r.body);
    assert_eq!(
        app.sim.order("ORDER_SERVICE_ACCT").unwrap().appid,
        SERVICE_APPID
    );
}

#[tokio::test]
async fn app_h5_and_native_orders_return_their_client_parameters() {
    let app = spawn(Opts::default()).await;
    let r = app.call(As::User(ALICE), "wxpay_order_app", json!({ "description": "x", "out_trade_no": "ORDER_APP_00001", "amount": { "total": 3 } })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let p = r.payload();
    assert_eq!(
        (p["package"].as_str(), p["partnerid"].as_str()),
        (Some("Sign=WXPay"), Some(MCHID))
    );
    let msg = crypto::app_pay_message(
        APPID,
        p["timestamp"].as_str().unwrap(),
        p["noncestr"].as_str().unwrap(),
        p["prepayid"].as_str().unwrap(),
    );
    assert!(verify(&msg, p["sign"].as_str().unwrap()));

    let h5 = json!({ "description": "x", "out_trade_no": "ORDER_H5_000001", "amount": { "total": 3 },
        "scene_info": { "payer_client_ip": "203.0.113.7", "h5_info": { "type": "Wap" } } });
    let r = app.call(As::Anonymous, "wxpay_order_h5", h5).await;
    assert!(
        r.payload()["h5_url"]
            .as_str()
            .unwrap()
            .starts_with("https://"),
        "{}",
        r.body
    );

    let r = app.call(As::Anonymous, "wxpay_order_native", json!({ "description": "x", "out_trade_no": "ORDER_NATIVE_001", "amount": { "total": 3 } })).await;
    assert!(
        r.payload()["code_url"]
            .as_str()
            .unwrap()
            .starts_with("weixin://wxpay/bizpayurl"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn users_query_and_close_only_their_own_orders() {
    let app = spawn(Opts::default()).await;
    app.order(ALICE, "ORDER_OWNED_0001", 20).await;
    let q = json!({ "out_trade_no": "ORDER_OWNED_0001" });
    let mine = app
        .call(
            As::User(ALICE),
            "wxpay_query_order_by_out_trade_no",
            q.clone(),
        )
        .await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert_eq!(
        mine.payload()["trade_state"],
        "NOTPAY",
        "WeChat's own JSON, unchanged"
    );
    let theirs = app
        .call(
            As::User(BOB),
            "wxpay_query_order_by_out_trade_no",
            q.clone(),
        )
        .await;
    assert_eq!((theirs.status, theirs.error()), (403, "NOT_OWNER"));
    let close = app
        .call(As::User(BOB), "wxpay_close_order", q.clone())
        .await;
    assert_eq!((close.status, close.error()), (403, "NOT_OWNER"));
    let unknown = app
        .call(
            As::User(ALICE),
            "wxpay_query_order_by_out_trade_no",
            json!({ "out_trade_no": "ORDER_NOBODY_001" }),
        )
        .await;
    assert_eq!(unknown.status, 404);
    let close = app.call(As::User(ALICE), "wxpay_close_order", q).await;
    assert_eq!(close.status, 200, "{}", close.body);
    assert_eq!(close.body["data"], json!({ "status": 204 }));
    assert_eq!(
        app.sim.order("ORDER_OWNED_0001").unwrap().trade_state,
        "CLOSED"
    );
    app.wait_state("ORDER_OWNED_0001", "CLOSED").await;
}

#[tokio::test]
async fn legacy_action_and_path_dispatch_reach_the_same_routes() {
    let app = spawn(Opts::default()).await;
    let body = json!({ "_action": "wxpay_order", "description": "x", "out_trade_no": "ORDER_LEGACY_001", "amount": { "total": 2 } });
    let r = app.post("/", As::User(ALICE), body.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let body = json!({ "path": "/wx-pay/wxpay_query_order_by_out_trade_no", "method": "POST", "out_trade_no": "ORDER_LEGACY_001" });
    let r = app.post("/", As::User(ALICE), body.to_string()).await;
    assert_eq!(
        r.payload()["out_trade_no"],
        "ORDER_LEGACY_001",
        "{}",
        r.body
    );
    let r = app
        .post(
            "/",
            As::User(ALICE),
            json!({ "_action": "wxpay_teleport" }).to_string(),
        )
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_i64(), r.msg()),
        (400, Some(-1), "unsupported action: wxpay_teleport")
    );
    // The legacy gateway posted to whatever path it was configured with.
    let body =
        json!({ "_action": "/api/wx-pay/wxpay_order_view", "out_trade_no": "ORDER_LEGACY_001" });
    let r = app
        .post("/api/pay-common", As::User(ALICE), body.to_string())
        .await;
    assert_eq!(
        r.payload()["out_trade_no"],
        "ORDER_LEGACY_001",
        "{}",
        r.body
    );
}

#[tokio::test]
async fn platform_certificate_mode_downloads_and_uses_the_certificate() {
    let app = spawn(Opts {
        public_key_mode: false,
        ..Default::default()
    })
    .await;
    let r = app.order(ALICE, "ORDER_CERT_MODE1", 20).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let health = app.health().await;
    assert_eq!(health["platformCertificates"], 1, "{health}");
    assert!(
        app.sim
            .requests()
            .iter()
            .any(|r| r.target == "/v3/certificates" && r.accepted)
    );
}
