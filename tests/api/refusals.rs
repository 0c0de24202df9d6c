//! Every refusal in the envelope (callbacks: WeChat's `{code: "FAIL"}`), every input a 4xx:
//! control characters, wrong methods, oversized and non-JSON bodies, duplicate identity headers.

use reqwest::Method;
use serde_json::{Value, json};

use crate::databases::PgDatabase;
use crate::support::*;

#[tokio::test]
async fn a_nul_in_any_text_field_is_a_400_naming_it_on_postgresql() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    let app = spawn(Opts {
        database_url: Some(db.url()),
        ..Default::default()
    })
    .await;
    let order = json!({ "description": "Test product", "out_trade_no": "ORDER_NUL_000001", "amount": { "total": 20 } });
    // The same order without NUL goes through: the ledger is up and the body is otherwise valid.
    let mut placed = None;
    for _ in 0..100 {
        let r = app
            .call(As::User(ALICE), "wxpay_order", order.clone())
            .await;
        if r.error() != "STORE_UNAVAILABLE" {
            placed = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let placed = placed.expect("the PostgreSQL ledger comes up");
    assert_eq!(placed.status, 200, "{}", placed.body);
    app.sim.pay("ORDER_NUL_000001").unwrap();
    app.wait_state("ORDER_NUL_000001", "PAID").await;
    let with = |patch: Value| {
        let mut b = order.clone();
        b["out_trade_no"] = "ORDER_NUL_000002".into();
        json_merge(&mut b, patch);
        b
    };
    let refund = json!({ "out_trade_no": "ORDER_NUL_000001", "out_refund_no": "REFUND_NUL_1" });
    let transfer = json!({ "out_bill_no": "BILLNUL1", "transfer_scene_id": "1000", "openid": ALICE,
        "transfer_amount": 10, "transfer_remark": "thanks" });
    let patched = |base: &Value, patch: Value| {
        let mut b = base.clone();
        json_merge(&mut b, patch);
        b
    };
    let cases: Vec<(As, &str, Value, &str)> = vec![
        (
            As::User(ALICE),
            "wxpay_order",
            with(json!({ "description": "Test\u{0}product" })),
            "description",
        ),
        (
            As::User(ALICE),
            "wxpay_order",
            with(json!({ "attach": "a\u{0}" })),
            "attach",
        ),
        (
            As::User(ALICE),
            "wxpay_order",
            with(json!({ "goods_tag": "\u{0}" })),
            "goods_tag",
        ),
        (
            As::User(ALICE),
            "wxpay_order",
            with(json!({ "detail": { "goods_detail": [{ "goods_name": "x\u{0}" }] } })),
            "detail.goods_detail[0].goods_name",
        ),
        (
            As::User(ALICE),
            "wxpay_order",
            with(json!({ "out_trade_no": "ORDER\u{0}NUL0003" })),
            "out_trade_no",
        ),
        (
            As::User(ALICE),
            "wxpay_order_h5",
            with(
                json!({ "scene_info": { "payer_client_ip": "1.2.3.4", "h5_info": { "type": "Wap\u{0}" } } }),
            ),
            "scene_info.h5_info.type",
        ),
        (
            As::Admin,
            "wxpay_refund",
            patched(&refund, json!({ "reason": "changed\u{0}mind" })),
            "reason",
        ),
        (
            As::Admin,
            "wxpay_refund",
            patched(&refund, json!({ "out_refund_no": "R\u{0}1" })),
            "out_refund_no",
        ),
        (
            As::Admin,
            "wxpay_transfer",
            patched(&transfer, json!({ "transfer_remark": "thanks\u{0}" })),
            "transfer_remark",
        ),
        (
            As::Admin,
            "wxpay_transfer",
            patched(&transfer, json!({ "user_name": "\u{0}" })),
            "user_name",
        ),
        (
            As::Admin,
            "wxpay_transfer",
            patched(
                &transfer,
                json!({ "transfer_scene_report_infos": [{ "info_type": "t", "info_content": "\u{0}" }] }),
            ),
            "transfer_scene_report_infos[0].info_content",
        ),
        (
            As::User(ALICE),
            "wxpay_close_order",
            json!({ "out_trade_no": "ORDER_NUL_000001\u{0}" }),
            "out_trade_no",
        ),
        (
            As::User(ALICE),
            "wxpay_order",
            with(json!({ "description": "bell\u{7}" })),
            "description",
        ),
    ];
    for (who, route, body, field) in cases {
        let r = app.call(who, route, body.clone()).await;
        assert_eq!(
            (r.status, r.error()),
            (400, "INVALID_PARAMETER"),
            "{route} {body}: {}",
            r.body
        );
        assert!(
            r.msg()
                .starts_with(&format!("{field} must not contain control characters")),
            "{route}: {}",
            r.body
        );
    }
    let legacy =
        json!({ "_action": "wxpay_order", "description": "a\u{0}", "amount": { "total": 1 } });
    let r = app.post("/", As::User(ALICE), legacy.to_string()).await;
    assert_eq!(
        (r.status, r.error()),
        (400, "INVALID_PARAMETER"),
        "{}",
        r.body
    );
    let events = app
        .post(
            "/wx-pay/admin/events",
            As::Admin,
            json!({ "event_type": "\u{0}" }).to_string(),
        )
        .await;
    assert_eq!(
        (events.status, events.error()),
        (400, "INVALID_PARAMETER"),
        "{}",
        events.body
    );
    // Nothing was recorded for the refused order, and the paid one is untouched.
    let r = app
        .call(
            As::Admin,
            "wxpay_order_view",
            json!({ "out_trade_no": "ORDER_NUL_000002" }),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(app.view("ORDER_NUL_000001").await["refunded"], 0);
}

fn json_merge(base: &mut Value, patch: Value) {
    for (k, v) in patch.as_object().unwrap() {
        base[k] = v.clone();
    }
}

async fn send(app: &TestApp, method: Method, path: &str) -> (u16, Option<String>, Value) {
    let resp = app
        .http
        .request(method, format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let allow = resp
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_string());
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, allow, body)
}

#[tokio::test]
async fn wrong_methods_get_405_in_the_envelope_with_allow() {
    let app = spawn(Opts::default()).await;
    for (method, path, allowed) in [
        (Method::GET, "/wx-pay/wxpay_order", "POST"),
        (Method::PUT, "/wechatpay/order", "POST"),
        (Method::DELETE, "/wx-pay/admin/events", "POST"),
        (Method::POST, "/healthz", "GET,HEAD"),
    ] {
        let (status, allow, body) = send(&app, method.clone(), path).await;
        assert_eq!(status, 405, "{method} {path}: {body}");
        assert_eq!(allow.as_deref(), Some(allowed), "{method} {path}");
        assert_eq!(
            (body["code"].as_i64(), body["error"].as_str()),
            (Some(-1), Some("METHOD_NOT_ALLOWED")),
            "{method} {path}: {body}"
        );
        assert!(
            body["msg"].as_str().unwrap().contains("Allow header"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn oversized_bodies_get_413_in_each_callers_format() {
    let app = spawn(Opts {
        extra: vec![("maxBodyBytes", "1024".into())],
        ..Default::default()
    })
    .await;
    let big = json!({ "event_type": "x".repeat(2000) }).to_string();
    let r = app
        .post("/wx-pay/admin/events", As::Admin, big.clone())
        .await;
    assert_eq!((r.status, r.error()), (413, "INVALID_BODY"), "{}", r.body);
    assert!(r.msg().contains("maxBodyBytes"), "{}", r.body);
    for path in ["/wechatpay/order", "/wx-pay/unifiedOrderTrigger"] {
        let cb = app.post(path, As::Anonymous, big.clone()).await;
        assert_eq!(
            (cb.status, cb.body["code"].as_str()),
            (413, Some("FAIL")),
            "{path}: {}",
            cb.body
        );
        assert!(
            cb.body["message"]
                .as_str()
                .unwrap()
                .contains("maxBodyBytes"),
            "{}",
            cb.body
        );
    }
}

#[tokio::test]
async fn admin_routes_refuse_bodies_that_are_not_json_objects() {
    let app = spawn(Opts {
        ..Default::default()
    })
    .await;
    for body in ["not json", "[1,2]", "{\"event_type\": ", "\"events\""] {
        let r = app
            .post("/wx-pay/admin/events", As::Admin, body.into())
            .await;
        assert_eq!(
            (r.status, r.error()),
            (400, "INVALID_JSON"),
            "{body}: {}",
            r.body
        );
    }
    for (body, field) in [
        (json!({ "event_type": 5 }), "event_type"),
        (json!({ "undelivered_only": "yes" }), "undelivered_only"),
        (json!({ "limit": 0 }), "limit"),
        (json!({ "limit": "10" }), "limit"),
    ] {
        let r = app
            .post("/wx-pay/admin/events", As::Admin, body.to_string())
            .await;
        assert_eq!(
            (r.status, r.error()),
            (400, "INVALID_PARAMETER"),
            "{body}: {}",
            r.body
        );
        assert!(r.msg().starts_with(field), "{body}: {}", r.body);
    }
    let ok = app.post("/wx-pay/admin/events", As::Admin, "".into()).await;
    assert_eq!(ok.status, 200, "an empty body is no filter: {}", ok.body);
}

#[tokio::test]
async fn duplicate_identity_headers_are_refused() {
    let app = spawn(Opts::default()).await;
    let body = json!({ "description": "Test product", "out_trade_no": "ORDER_DUP_HEADER", "amount": { "total": 1 } });
    for (name, first, second) in [
        ("x-wx-openid", ALICE, BOB),
        ("x-wx-openid", ALICE, ALICE),
        ("x-pay-common-admin-token", ADMIN_TOKEN, ADMIN_TOKEN),
    ] {
        let resp = app
            .http
            .post(format!("{}/wx-pay/wxpay_order", app.base))
            .header(name, first)
            .header(name, second)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{name}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"], "DUPLICATE_HEADER", "{v}");
        assert!(v["msg"].as_str().unwrap().contains(name), "{v}");
    }
}
