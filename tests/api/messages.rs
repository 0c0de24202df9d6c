//! `msg` in Chinese by default, English with `messageLanguage=en`; `error` is the same code.

use serde_json::json;

use crate::support::*;

fn zh() -> Opts {
    Opts {
        extra: vec![("messageLanguage", "zh".into())],
        ..Default::default()
    }
}

#[tokio::test]
async fn messages_are_chinese_by_default_and_english_on_request() {
    let zh = spawn(Opts {
        // No override at all would be English in tests (support sets en); remove it here.
        extra: vec![("messageLanguage", String::new())],
        ..Default::default()
    })
    .await;
    let en = spawn(Opts::default()).await;
    let bad = json!({ "description": "x", "amount": { "total": 0 } });
    let r = zh.call(As::User(ALICE), "wxpay_order", bad.clone()).await;
    assert_eq!((r.status, r.error()), (400, "INVALID_PARAMETER"));
    assert_eq!(r.msg(), "amount.total（订单金额）必须为正整数（单位：分）");
    let r = en.call(As::User(ALICE), "wxpay_order", bad).await;
    assert_eq!((r.status, r.error()), (400, "INVALID_PARAMETER"));
    assert_eq!(r.msg(), "amount.total must be a positive integer (fen)");
}

#[tokio::test]
async fn chinese_refusals_say_what_to_do() {
    let app = spawn(zh()).await;
    let r = app
        .call(
            As::User(ALICE),
            "wxpay_refund",
            json!({ "out_trade_no": "NOPE1", "out_refund_no": "R1", "amount": { "refund": 1, "total": 1 } }),
        )
        .await;
    assert_eq!((r.status, r.error()), (403, "ADMIN_REQUIRED"), "{}", r.body);
    assert!(r.msg().contains("refundPolicy=owner-full"), "{}", r.msg());
    let r = app
        .call(
            As::Anonymous,
            "wxpay_order_view",
            json!({ "out_trade_no": "NOPE_ORDER_1" }),
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (401, "UNAUTHENTICATED"),
        "{}",
        r.body
    );
    for path in ["x-wx-openid", "Authorization: Bearer", "order_token"] {
        assert!(r.msg().contains(path), "{path}: {}", r.msg());
    }
    let r = app
        .call(
            As::User(ALICE),
            "wxpay_order_view",
            json!({ "out_trade_no": "NOPE_ORDER_1" }),
        )
        .await;
    assert_eq!((r.status, r.error()), (404, "NOT_FOUND"), "{}", r.body);
    assert!(r.msg().starts_with("未找到"), "{}", r.msg());
    let r = app
        .post("/wx-pay/wxpay_order", As::User(ALICE), "[1]".into())
        .await;
    assert_eq!((r.status, r.error()), (400, "INVALID_JSON"));
    assert!(r.msg().starts_with("请求体必须是 JSON 对象"), "{}", r.msg());
}
