//! Refund and transfer state machines, including the encrypted `user_name`.

use serde_json::{Value, json};

use crate::support::*;

fn refund_body(out_refund_no: &str, refund: i64, total: i64) -> Value {
    json!({"out_trade_no": "T40000001", "out_refund_no": out_refund_no,
           "amount": {"refund": refund, "total": total, "currency": "CNY"}})
}

const REFUNDS: &str = "/v3/refund/domestic/refunds";

#[tokio::test]
async fn refunds_never_exceed_the_paid_total() {
    let (sim, m) = start(|_| {}).await;
    place(&m, "T40000001", 100).await;
    let r = m
        .call("POST", REFUNDS, Some(&refund_body("R1", 60, 100)))
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (404, "RESOURCE_NOT_EXISTS"),
        "unpaid"
    );
    sim.pay("T40000001").unwrap();
    let r = m
        .call("POST", REFUNDS, Some(&refund_body("R1", 60, 99)))
        .await;
    assert_eq!(
        (r.status, r.json()["detail"]["field"].clone()),
        (400, json!("/amount/total"))
    );
    let r = m
        .call("POST", REFUNDS, Some(&refund_body("R1", 60, 100)))
        .await;
    assert_eq!(r.json()["status"], "PROCESSING");
    r.verify(&sim.public_key_id(), &sim.public_key()).unwrap();
    let id = r.json()["refund_id"].clone();
    let again = m
        .call("POST", REFUNDS, Some(&refund_body("R1", 60, 100)))
        .await;
    assert_eq!(
        again.json()["refund_id"],
        id,
        "same out_refund_no, same refund"
    );
    let r = m
        .call("POST", REFUNDS, Some(&refund_body("R2", 41, 100)))
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "INVALID_REQUEST"));
    sim.complete_refund("R1", "CLOSED").unwrap();
    let r = m
        .call("POST", REFUNDS, Some(&refund_body("R2", 100, 100)))
        .await;
    assert_eq!(r.status, 200, "a closed refund gives its amount back");
    assert_eq!(
        sim.complete_refund("R2", "ABNORMAL").unwrap().status,
        "ABNORMAL"
    );
    assert_eq!(
        sim.complete_refund("R2", "SUCCESS").unwrap().status,
        "SUCCESS"
    );
    assert_eq!(
        sim.complete_refund("R2", "CLOSED").unwrap_err().code,
        "INVALID_REQUEST"
    );
    let r = m.call("GET", &format!("{REFUNDS}/R2"), None).await;
    assert_eq!(r.json()["status"], "SUCCESS");
    assert!(r.json()["success_time"].is_string());
    assert_eq!(sim.order("T40000001").unwrap().trade_state, "REFUND");
    let r = m.call("GET", &format!("{REFUNDS}/R9"), None).await;
    assert_eq!(r.code(), "RESOURCE_NOT_EXISTS");
}

const BILLS: &str = "/v3/fund-app/mch-transfer/transfer-bills";

fn bill(out_bill_no: &str, amount: i64) -> Value {
    json!({"appid": APPID, "out_bill_no": out_bill_no, "transfer_scene_id": "1000",
           "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "transfer_amount": amount,
           "transfer_remark": "新会员开通有礼",
           "transfer_scene_report_infos": [{"info_type": "活动名称", "info_content": "新会员有礼"}]})
}

#[tokio::test]
async fn large_transfers_need_a_name_encrypted_to_the_named_key() {
    let (sim, m) = start(|_| {}).await;
    let r = m.call("POST", BILLS, Some(&bill("B1", 200_000))).await;
    assert_eq!(r.json()["detail"]["field"], "/user_name");
    let mut b = bill("B1", 200_000);
    b["user_name"] = "张三".into();
    let r = m.call("POST", BILLS, Some(&b)).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "PARAM_ERROR"),
        "plaintext name"
    );
    let other = pay_common::wechatpay::keys::MerchantKey::generate().public_key();
    b["user_name"] = other.encrypt_oaep("张三").unwrap().into();
    let r = m.call("POST", BILLS, Some(&b)).await;
    assert_eq!(
        r.code(),
        "PARAM_ERROR",
        "encrypted to a key WeChat does not hold"
    );
    b["user_name"] = sim.public_key().encrypt_oaep("张三").unwrap().into();
    let r = m.call("POST", BILLS, Some(&b)).await;
    assert_eq!(r.json()["state"], "WAIT_USER_CONFIRM", "{:?}", r.json());
    assert!(r.json()["package_info"].is_string());
}

#[tokio::test]
async fn transfers_confirm_fail_or_cancel_only_from_the_right_states() {
    let (sim, m) = start(|_| {}).await;
    let first = m.call("POST", BILLS, Some(&bill("B2", 300))).await.json();
    let again = m.call("POST", BILLS, Some(&bill("B2", 300))).await.json();
    assert_eq!(first["transfer_bill_no"], again["transfer_bill_no"]);
    let r = m
        .call("POST", &format!("{BILLS}/out-bill-no/B2/cancel"), None)
        .await;
    assert_eq!(r.json()["state"], "CANCELING");
    r.verify(&sim.public_key_id(), &sim.public_key()).unwrap();
    let r = m
        .call("GET", &format!("{BILLS}/out-bill-no/B2"), None)
        .await;
    assert_eq!(r.json()["state"], "CANCELLED");
    assert!(sim.confirm_transfer("B2").is_err());

    m.call("POST", BILLS, Some(&bill("B3", 300))).await;
    assert_eq!(sim.confirm_transfer("B3").unwrap().state, "SUCCESS");
    let r = m
        .call("POST", &format!("{BILLS}/out-bill-no/B3/cancel"), None)
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "INVALID_REQUEST"));
    let no = sim.transfer("B3").unwrap().transfer_bill_no;
    let r = m
        .call("GET", &format!("{BILLS}/transfer-bill-no/{no}"), None)
        .await;
    assert_eq!(r.json()["out_bill_no"], "B3");

    m.call("POST", BILLS, Some(&bill("B4", 300))).await;
    let failed = sim.fail_transfer("B4", "PAYEE_ACCOUNT_ABNORMAL").unwrap();
    assert_eq!(
        (failed.state.as_str(), failed.fail_reason.as_deref()),
        ("FAIL", Some("PAYEE_ACCOUNT_ABNORMAL"))
    );
    let r = m
        .call("GET", &format!("{BILLS}/out-bill-no/B5"), None)
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn a_name_encrypted_to_the_certificate_needs_the_certificate_serial() {
    let (sim, mut m) = start(|_| {}).await;
    let cert =
        pay_common::wechatpay::keys::PublicKey::from_pem(&sim.platform_certificate_pem()).unwrap();
    let mut b = bill("B8", 250_000);
    b["user_name"] = cert.encrypt_oaep("李四").unwrap().into();
    let r = m.call("POST", BILLS, Some(&b)).await;
    assert_eq!(
        r.code(),
        "PARAM_ERROR",
        "named the public key, encrypted to the certificate"
    );
    m.wechatpay_serial = Some(sim.platform_certificate_serial());
    let r = m.call("POST", BILLS, Some(&b)).await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!(
        r.header("Wechatpay-Serial"),
        sim.platform_certificate_serial()
    );
    r.verify(&sim.platform_certificate_serial(), &cert).unwrap();
    m.wechatpay_serial = None;
    let r = m.call("POST", BILLS, Some(&bill("B9", 250_000))).await;
    assert_eq!(r.json()["detail"]["field"], "/user_name");
}
