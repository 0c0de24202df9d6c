//! The order state machine and the four order kinds.

use pay_common::wechatpay::crypto;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn each_order_kind_answers_in_its_own_shape() {
    let (_sim, m) = start(|_| {}).await;
    let mut body = order_body("T30000001", 100);
    body.as_object_mut().unwrap().remove("payer");
    let r = m
        .call("POST", "/v3/pay/transactions/native", Some(&body))
        .await;
    assert!(
        r.json()["code_url"]
            .as_str()
            .unwrap()
            .starts_with("weixin://wxpay/bizpayurl?pr=")
    );
    body["out_trade_no"] = "T30000002".into();
    let r = m
        .call("POST", "/v3/pay/transactions/app", Some(&body))
        .await;
    assert!(r.json()["prepay_id"].as_str().unwrap().starts_with("wx"));
    body["out_trade_no"] = "T30000003".into();
    let r = m.call("POST", "/v3/pay/transactions/h5", Some(&body)).await;
    assert_eq!(r.json()["detail"]["field"], "/scene_info/payer_client_ip");
    body["scene_info"] = json!({"payer_client_ip": "203.0.113.7", "h5_info": {"type": "Wap"}});
    let r = m.call("POST", "/v3/pay/transactions/h5", Some(&body)).await;
    assert!(r.json()["h5_url"].as_str().unwrap().starts_with("https://"));
    body["out_trade_no"] = "T30000004".into();
    let r = m
        .call("POST", "/v3/pay/transactions/jsapi", Some(&body))
        .await;
    assert_eq!(r.json()["detail"]["field"], "/payer/openid");
}

#[tokio::test]
async fn orders_follow_wechats_state_machine() {
    let (sim, m) = start(|_| {}).await;
    let first = place(&m, "T30000010", 100).await;
    assert_eq!(
        place(&m, "T30000010", 100).await,
        first,
        "identical repeat, same prepay_id"
    );
    let r = m
        .call(
            "POST",
            "/v3/pay/transactions/jsapi",
            Some(&order_body("T30000010", 200)),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (403, "OUT_TRADE_NO_USED"));

    let q = format!("/v3/pay/transactions/out-trade-no/T30000010?mchid={MCHID}");
    let r = m.call("GET", &q, None).await;
    assert_eq!(r.json()["trade_state"], "NOTPAY");
    let r = m
        .call("GET", "/v3/pay/transactions/out-trade-no/T30000010", None)
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "PARAM_ERROR"));

    assert_eq!(
        sim.start_paying("T30000010").unwrap().trade_state,
        "USERPAYING"
    );
    let r = m.call("GET", &q, None).await;
    assert_eq!(r.json()["trade_state"], "USERPAYING");
    let paid = sim.pay("T30000010").unwrap();
    let txn = paid.transaction_id.clone().unwrap();
    let r = m
        .call(
            "GET",
            &format!("/v3/pay/transactions/id/{txn}?mchid={MCHID}"),
            None,
        )
        .await;
    assert_eq!(r.json()["trade_state"], "SUCCESS");
    assert_eq!(r.json()["amount"]["payer_total"], 100);
    r.verify(&sim.public_key_id(), &sim.public_key()).unwrap();
    let r = m
        .call(
            "POST",
            "/v3/pay/transactions/jsapi",
            Some(&order_body("T30000010", 100)),
        )
        .await;
    assert_eq!(r.code(), "ORDERPAID");
    let close = json!({"mchid": MCHID});
    let r = m
        .call(
            "POST",
            "/v3/pay/transactions/out-trade-no/T30000010/close",
            Some(&close),
        )
        .await;
    assert_eq!(r.code(), "ORDERPAID");
    assert!(sim.pay("T30000010").is_err(), "cannot pay twice");
}

#[tokio::test]
async fn unpaid_orders_have_no_transaction_and_closed_ones_stay_closed() {
    let (sim, m) = start(|_| {}).await;
    place(&m, "T30000020", 100).await;
    let r = m
        .call(
            "GET",
            &format!("/v3/pay/transactions/id/4200000000000000000000000000?mchid={MCHID}"),
            None,
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (404, "ORDER_NOT_EXIST"));
    let close = json!({"mchid": MCHID});
    let r = m
        .call(
            "POST",
            "/v3/pay/transactions/out-trade-no/T30000020/close",
            Some(&close),
        )
        .await;
    assert_eq!(r.status, 204);
    let r = m
        .call(
            "POST",
            "/v3/pay/transactions/jsapi",
            Some(&order_body("T30000020", 100)),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "ORDER_CLOSED"));
    assert_eq!(sim.pay("T30000020").unwrap_err().code, "ORDER_CLOSED");
    assert_eq!(sim.order("T30000020").unwrap().trade_state, "CLOSED");

    place(&m, "T30000021", 100).await;
    assert_eq!(
        sim.fail_payment("T30000021").unwrap().trade_state,
        "PAYERROR"
    );
    assert!(sim.pay("T30000021").is_err());
}

#[tokio::test]
async fn auto_settings_pay_refund_and_confirm_by_themselves() {
    let ms = |n| Some(std::time::Duration::from_millis(n));
    let (sim, m) = start(|c| {
        c.auto_pay_after = ms(20);
        c.auto_refund_after = ms(20);
        c.auto_confirm_after = ms(20);
    })
    .await;
    place(&m, "T30000030", 100).await;
    wait_until("auto pay", || {
        sim.order("T30000030")
            .is_some_and(|o| o.trade_state == "SUCCESS")
    })
    .await;
    let refund = json!({"out_trade_no": "T30000030", "out_refund_no": "R30000030",
                        "amount": {"refund": 100, "total": 100, "currency": "CNY"}});
    assert_eq!(
        m.call("POST", "/v3/refund/domestic/refunds", Some(&refund))
            .await
            .status,
        200
    );
    wait_until("auto refund", || {
        sim.refund("R30000030")
            .is_some_and(|r| r.status == "SUCCESS")
    })
    .await;
    let bill = json!({"appid": APPID, "out_bill_no": "B30000030", "transfer_scene_id": "1000",
        "openid": "o1", "transfer_amount": 100, "transfer_remark": "r",
        "transfer_scene_report_infos": [{"info_type": "a", "info_content": "b"}]});
    let r = m
        .call(
            "POST",
            "/v3/fund-app/mch-transfer/transfer-bills",
            Some(&bill),
        )
        .await;
    assert_eq!(r.status, 200);
    wait_until("auto confirm", || {
        sim.transfer("B30000030")
            .is_some_and(|t| t.state == "SUCCESS")
    })
    .await;
}

#[tokio::test]
async fn an_order_past_its_time_expire_cannot_be_paid() {
    let now = crypto::Clock::now(&crypto::SystemClock);
    let clock = std::sync::Arc::new(crypto::FixedClock::new(now));
    let c = clock.clone();
    let (sim, m) = start(move |cfg| cfg.clock = c).await;
    let mut body = order_body("T30000090", 100);
    let expire = time::OffsetDateTime::from_unix_timestamp(now + 60).unwrap();
    body["time_expire"] = expire
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
        .into();
    let r = m
        .call("POST", "/v3/pay/transactions/jsapi", Some(&body))
        .await;
    assert_eq!(r.status, 200, "{}", r.json());
    place(&m, "T30000091", 100).await;
    clock.set(now + 120);
    let err = sim.pay("T30000090").unwrap_err();
    assert!(err.to_string().contains("time_expire"), "{err}");
    assert_eq!(sim.order("T30000090").unwrap().trade_state, "NOTPAY");
    assert!(
        sim.pay("T30000091").is_ok(),
        "an order without time_expire stays payable"
    );
}
