//! Refunds and transfers: who may move money out, and how much.

use serde_json::json;

use crate::support::*;

async fn paid_order(app: &TestApp, no: &str, total: i64) {
    assert_eq!(app.order(ALICE, no, total).await.status, 200);
    app.sim.pay(no).unwrap();
    app.wait_state(no, "PAID").await;
}

#[tokio::test]
async fn users_cannot_refund_without_the_admin_credential() {
    let app = spawn(Opts::default()).await;
    paid_order(&app, "ORDER_REFUND_AUTH", 20).await;
    let body = json!({ "out_trade_no": "ORDER_REFUND_AUTH", "out_refund_no": "R_AUTH_1", "amount": { "refund": 20, "total": 20 } });
    let r = app
        .call(As::User(ALICE), "wxpay_refund", body.clone())
        .await;
    assert_eq!((r.status, r.error()), (403, "ADMIN_REQUIRED"), "{}", r.body);
    let r = app
        .post("/wx-pay/wxpay_refund", As::Anonymous, body.to_string())
        .await;
    assert_eq!(r.status, 403);
    let resp = app
        .http
        .post(format!("{}/wx-pay/wxpay_refund", app.base))
        .header("authorization", "Bearer wrong-token-wrong-token")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert!(
        app.sim.refund("R_AUTH_1").is_none(),
        "nothing reached WeChat"
    );
}

#[tokio::test]
async fn refunds_never_exceed_what_was_paid_and_totals_come_from_the_ledger() {
    let app = spawn(Opts::default()).await;
    paid_order(&app, "ORDER_REFUND_SUM1", 100).await;
    let refund = |no: &str, amount: i64, total: i64| json!({ "out_trade_no": "ORDER_REFUND_SUM1", "out_refund_no": no, "amount": { "refund": amount, "total": total } });
    let r = app
        .call(As::Admin, "wxpay_refund", refund("R_SUM_1", 60, 100))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .call(As::Admin, "wxpay_refund", refund("R_SUM_2", 41, 100))
        .await;
    assert_eq!(
        (r.status, r.error()),
        (409, "REFUND_EXCEEDS_PAID"),
        "{}",
        r.body
    );
    let r = app
        .call(As::Admin, "wxpay_refund", refund("R_SUM_3", 10, 999))
        .await;
    assert_eq!(
        (r.status, r.error()),
        (400, "AMOUNT_TOTAL_MISMATCH"),
        "{}",
        r.body
    );
    let again = app
        .call(As::Admin, "wxpay_refund", refund("R_SUM_1", 60, 100))
        .await;
    assert_eq!(
        again.status, 200,
        "retrying the same out_refund_no is safe: {}",
        again.body
    );
    assert_eq!(again.payload()["refund_id"], r_id(&app, "R_SUM_1"));
    let r = app
        .call(As::Admin, "wxpay_refund", refund("R_SUM_4", 40, 100))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

fn r_id(app: &TestApp, no: &str) -> String {
    app.sim.refund(no).unwrap().refund_id
}

#[tokio::test]
async fn owner_full_policy_lets_a_user_refund_their_own_paid_order_in_full() {
    let app = spawn(Opts {
        extra: vec![("refundPolicy", "owner-full".into())],
        ..Default::default()
    })
    .await;
    paid_order(&app, "ORDER_OWNER_FULL1", 30).await;
    let body = json!({ "out_trade_no": "ORDER_OWNER_FULL1", "out_refund_no": "R_OWNER_1" });
    let r = app.call(As::User(BOB), "wxpay_refund", body.clone()).await;
    assert_eq!((r.status, r.error()), (403, "NOT_OWNER"), "{}", r.body);
    let partial = json!({ "out_trade_no": "ORDER_OWNER_FULL1", "out_refund_no": "R_OWNER_2", "amount": { "refund": 10 } });
    assert_eq!(
        app.call(As::User(ALICE), "wxpay_refund", partial)
            .await
            .status,
        400
    );
    let r = app.call(As::User(ALICE), "wxpay_refund", body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(app.sim.refund("R_OWNER_1").unwrap().amount.refund, Some(30));
}

fn transfer(no: &str, amount: i64) -> serde_json::Value {
    json!({
        "out_bill_no": no, "transfer_scene_id": "1000", "openid": ALICE, "transfer_amount": amount,
        "transfer_remark": "cash prize", "transfer_scene_report_infos": [
            { "info_type": "活动名称", "info_content": "新会员有礼" }, { "info_type": "奖励说明", "info_content": "注册奖励" }
        ]
    })
}

#[tokio::test]
async fn transfers_need_the_admin_and_add_mch_id_for_the_client() {
    let app = spawn(Opts::default()).await;
    let r = app
        .call(As::User(ALICE), "wxpay_transfer", transfer("BILL0001", 100))
        .await;
    // A user's word alone moves no money: without a payout allowance granted by the business
    // the claim is refused and nothing reaches WeChat.
    assert_eq!((r.status, r.error()), (403, "NO_ALLOWANCE"));
    assert!(app.sim.transfer("BILL0001").is_none());
    let r = app
        .call(As::Admin, "wxpay_transfer", transfer("BILL0001", 100))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.payload()["mchId"], MCHID);
    assert_eq!(r.payload()["out_bill_no"], "BILL0001");
    let q = app
        .call(
            As::User(ALICE),
            "wxpay_transfer_bill_query",
            json!({ "out_bill_no": "BILL0001" }),
        )
        .await;
    assert_eq!(
        q.status, 200,
        "the payee may follow their transfer: {}",
        q.body
    );
    let q = app
        .call(
            As::User(BOB),
            "wxpay_transfer_bill_query",
            json!({ "out_bill_no": "BILL0001" }),
        )
        .await;
    assert_eq!((q.status, q.error()), (403, "NOT_OWNER"), "{}", q.body);
    let q = app
        .call(
            As::User(BOB),
            "wxpay_transfer_bill_query",
            json!({ "out_bill_no": "BILLUNKNOWN9" }),
        )
        .await;
    assert_eq!(
        (q.status, q.error()),
        (404, "NOT_FOUND"),
        "an unknown bill is not another user's: {}",
        q.body
    );
    let legacy = app
        .call(
            As::Admin,
            "wxpay_transfer_batch_query",
            json!({ "out_bill_no": "BILL0001" }),
        )
        .await;
    assert_eq!(legacy.payload()["out_bill_no"], "BILL0001");
}

#[tokio::test]
async fn transfers_of_2000_cny_and_more_send_an_encrypted_user_name() {
    let app = spawn(Opts::default()).await;
    let r = app
        .call(As::Admin, "wxpay_transfer", transfer("BILLBIG1", 200_000))
        .await;
    assert_eq!((r.status, r.error()), (400, "INVALID_PARAMETER"));
    assert!(r.msg().starts_with("user_name "), "{}", r.msg());
    let mut body = transfer("BILLBIG2", 200_000);
    body["user_name"] = "张三".into();
    let r = app.call(As::Admin, "wxpay_transfer", body).await;
    assert_eq!(
        r.status, 200,
        "the simulator decrypted the name with its key: {}",
        r.body
    );
    let sent = app
        .sim
        .requests()
        .into_iter()
        .find(|q| q.endpoint.contains("transfer") && q.accepted);
    assert!(sent.is_some());
}

#[tokio::test]
async fn missing_credentials_are_named_on_every_wechat_route() {
    let app = spawn(Opts {
        credentials: false,
        ..Default::default()
    })
    .await;
    for route in [
        "wxpay_order",
        "wxpay_refund",
        "wxpay_transfer",
        "wxpay_query_order_by_out_trade_no",
    ] {
        let r = app.call(As::Admin, route, json!({})).await;
        assert_eq!(
            (r.status, r.error()),
            (503, "MISSING_CREDENTIALS"),
            "{route}: {}",
            r.body
        );
        for var in [
            "merchantId",
            "privateKey",
            "apiV3Key",
            "merchantSerialNumber",
        ] {
            assert!(
                r.msg().contains(var),
                "{route} should name {var}: {}",
                r.msg()
            );
        }
    }
    let health = app.health().await;
    assert_eq!(
        (health["status"].as_str(), health["ready"].as_bool()),
        (Some("ok"), Some(false))
    );
}
