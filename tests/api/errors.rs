//! Bad input gets a clear 4xx naming the field; upstream trouble gets 502/504; never a panic.

use pay_common::simulator::{Fault, FaultRule};
use serde_json::{Value, json};

use crate::support::*;

fn order(patch: Value) -> Value {
    let mut base = json!({ "description": "Test product", "out_trade_no": "ORDER_BAD_INPUT1", "amount": { "total": 20 } });
    for (k, v) in patch.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

#[tokio::test]
async fn bad_order_input_names_the_field_and_the_rule() {
    let app = spawn(Opts::default()).await;
    let cases = [
        (
            json!({ "amount": { "total": 0 } }),
            "amount.total must be a positive integer (fen)",
        ),
        (
            json!({ "amount": { "total": "20" } }),
            "amount.total must be a positive integer (fen)",
        ),
        (
            json!({ "amount": { "total": 1.5 } }),
            "amount.total must be a positive integer (fen)",
        ),
        (
            json!({ "amount": null }),
            "amount.total must be a positive integer (fen)",
        ),
        (
            json!({ "amount": { "total": 1, "currency": "USD" } }),
            "amount.currency must be CNY",
        ),
        (json!({ "description": null }), "description is required"),
        (
            json!({ "description": "x".repeat(128) }),
            "description must be at most 127 characters",
        ),
        (
            json!({ "out_trade_no": "abc" }),
            "out_trade_no must be 6-32 characters",
        ),
        (
            json!({ "out_trade_no": 12345678 }),
            "out_trade_no must be a string",
        ),
        (
            json!({ "notify_url": "https://evil.example/steal" }),
            "notify_url must not be set by the caller",
        ),
        (
            json!({ "mchid": "1234567890" }),
            "mchid must not be set by the caller",
        ),
        (
            json!({ "appid": "wxevil" }),
            "appid must not be set by the caller",
        ),
        (
            json!({ "time_expire": "tomorrow" }),
            "time_expire must be an RFC 3339 time",
        ),
        (
            json!({ "attach": "x".repeat(129) }),
            "attach must be at most 128 characters",
        ),
    ];
    for (patch, expected) in cases {
        let r = app
            .call(As::User(ALICE), "wxpay_order", order(patch.clone()))
            .await;
        assert_eq!(
            (r.status, r.body["code"].as_i64()),
            (400, Some(-1)),
            "{patch}: {}",
            r.body
        );
        assert!(
            r.msg().starts_with(expected),
            "{patch}: got {:?}, want {expected:?}",
            r.msg()
        );
    }
    assert_eq!(
        app.sim.request_counts(),
        (0, 0),
        "nothing bad reached WeChat"
    );
}

#[tokio::test]
async fn malformed_bodies_and_unknown_routes_get_our_envelope() {
    let app = spawn(Opts::default()).await;
    let r = app
        .post("/wx-pay/wxpay_order", As::User(ALICE), "{not json".into())
        .await;
    assert_eq!((r.status, r.error()), (400, "INVALID_JSON"), "{}", r.body);
    let r = app
        .post("/wx-pay/wxpay_order", As::User(ALICE), "[1,2]".into())
        .await;
    assert_eq!(r.status, 400);
    let r = app
        .post(
            "/wx-pay/wxpay_order",
            As::User(ALICE),
            format!("{{\"description\":\"{}\"}}", "x".repeat(70_000)),
        )
        .await;
    assert_eq!((r.status, r.error()), (413, "INVALID_BODY"), "{}", r.body);
    let r = app.call(As::User(ALICE), "wxpay_nothing", json!({})).await;
    assert_eq!(
        (r.status, r.msg()),
        (400, "unsupported action: wxpay_nothing")
    );
    let r = app.post("/nowhere", As::Anonymous, "{}".into()).await;
    assert_eq!(
        (r.status, r.error()),
        (400, "UNSUPPORTED_ACTION"),
        "{}",
        r.body
    );
    let r = app
        .http
        .get(format!("{}/nowhere", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let r = app
        .post("/wx-pay/wxpay_order", As::User("bad openid!"), "{}".into())
        .await;
    assert_eq!(r.status, 401);
    let r = app
        .call(As::Anonymous, "wxpay_order", order(json!({})))
        .await;
    assert_eq!(
        (r.status, r.error()),
        (401, "UNAUTHENTICATED"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn wechat_refusals_keep_wechats_answer_as_data_with_a_nonzero_code() {
    let app = spawn(Opts::default()).await;
    app.order(ALICE, "ORDER_PAID_TWICE1", 20).await;
    app.sim.pay("ORDER_PAID_TWICE1").unwrap();
    app.wait_state("ORDER_PAID_TWICE1", "PAID").await;
    let r = app.order(ALICE, "ORDER_PAID_TWICE1", 20).await;
    assert_eq!((r.status, r.error()), (409, "ORDERPAID"), "{}", r.body);
    let r = app
        .call(
            As::Admin,
            "wxpay_refund_query",
            json!({ "out_refund_no": "R_NEVER_MADE" }),
        )
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_i64()),
        (404, Some(-1)),
        "{}",
        r.body
    );
    assert_eq!(r.body["data"]["status"], 404);
    assert_eq!(r.body["data"]["data"]["code"], r.error());
    assert!(
        r.body["data"]["request_id"].is_string(),
        "WeChat's Request-ID is kept for support: {}",
        r.body
    );
}

#[tokio::test]
async fn upstream_faults_map_to_502_and_504_and_retries_are_safe() {
    let app = spawn(Opts {
        extra: vec![("wechatpayTimeoutMs", "800".into())],
        ..Default::default()
    })
    .await;
    let cases = [
        (Fault::SystemError, 502, "SYSTEM_ERROR"),
        (Fault::BadGateway, 502, "HTTP_502"),
        (Fault::Hang, 504, "UPSTREAM_TIMEOUT"),
        (Fault::WrongKey, 502, "UPSTREAM_UNVERIFIED"),
        (Fault::SignTest, 502, "UPSTREAM_UNVERIFIED"),
    ];
    for (fault, status, error) in cases {
        app.sim.inject(FaultRule::new("*", fault.clone(), 1));
        let r = app.order(ALICE, "ORDER_FAULTY_0001", 20).await;
        assert_eq!(
            (r.status, r.error()),
            (status, error),
            "{fault:?}: {}",
            r.body
        );
    }
    let r = app.order(ALICE, "ORDER_FAULTY_0001", 20).await;
    assert_eq!(
        r.status, 200,
        "the same order goes through once WeChat recovers: {}",
        r.body
    );
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let app = spawn(Opts {
        extra: vec![("corsAllowOrigin", "https://shop.example.com".into())],
        ..Default::default()
    })
    .await;
    let preflight = |origin: &'static str| {
        app.http
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/wx-pay/wxpay_order_h5", app.base),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let ok = preflight("https://shop.example.com").await.unwrap();
    assert_eq!(
        ok.headers().get("access-control-allow-origin").unwrap(),
        "https://shop.example.com"
    );
    let other = preflight("https://evil.example.com").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn overload_is_shed_with_503_in_each_callers_format() {
    let app = spawn(Opts {
        extra: vec![("maxInFlight", "1".into())],
        ..Default::default()
    })
    .await;
    app.sim
        .inject(FaultRule::new("jsapi", Fault::Latency { ms: 1_000 }, 1));
    let slow = {
        let (http, base) = (app.http.clone(), app.base.clone());
        let body = json!({ "description": "slow", "out_trade_no": "ORDER_SLOW_00001", "amount": { "total": 1 } });
        tokio::spawn(async move {
            http.post(format!("{base}/wx-pay/wxpay_order"))
                .header("x-wx-openid", ALICE)
                .json(&body)
                .send()
                .await
        })
    };
    // While the slow order holds the only permit, the next request is shed.
    let mut shed = None;
    for _ in 0..100 {
        let r = app.order(ALICE, "ORDER_SHED_000001", 1).await;
        if r.status != 200 {
            shed = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let r = shed.expect("a request is shed while the only permit is held");
    assert_eq!((r.status, r.error()), (503, "BUSY"), "{}", r.body);
    let cb = app
        .post("/wechatpay/order", As::Anonymous, "{}".into())
        .await;
    assert_eq!(
        (cb.status, cb.body["code"].as_str()),
        (503, Some("FAIL")),
        "{}",
        cb.body
    );
    let health = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        health.status().as_u16(),
        200,
        "health checks are never shed"
    );
    assert_eq!(slow.await.unwrap().unwrap().status().as_u16(), 200);
}

#[tokio::test]
async fn every_route_answers_bad_input_with_a_4xx_naming_the_problem() {
    let app = spawn(Opts::default()).await;
    let bodies = [
        json!({}),
        json!({ "out_trade_no": 12345678, "out_refund_no": [], "out_bill_no": {}, "transaction_id": true }),
        json!({ "out_trade_no": "x", "amount": "lots", "transfer_amount": -5, "description": 7 }),
        json!({ "out_trade_no": "ORDER_NEVER_SEEN1", "out_refund_no": "R1", "out_bill_no": "B1", "transaction_id": "4200", "transfer_bill_no": "1" }),
    ];
    for route in pay_common::http::routes::ROUTES {
        for who in [As::User(ALICE), As::Admin, As::Anonymous] {
            for body in &bodies {
                let r = app.call(who, route, body.clone()).await;
                assert!(
                    (400..500).contains(&r.status),
                    "{route} {body}: {} {}",
                    r.status,
                    r.body
                );
                assert_eq!(r.body["code"], -1, "{route} {body}: {}", r.body);
                assert!(
                    !r.msg().is_empty() && !r.error().is_empty(),
                    "{route} {body}: {}",
                    r.body
                );
            }
        }
    }
}
