//! Money received is never dropped: a verified notice for an order the ledger never recorded,
//! for an order it already closed, or for a refund or transfer it never made is recorded (one
//! record, one event) before WeChat hears SUCCESS; when the record cannot be written WeChat
//! hears FAIL and retries. The admin lists and resolves each record once.

use std::sync::Arc;
use std::time::Duration;

use pay_common::simulator::{CallbackMode, Fault, FaultRule};
use pay_common::wechatpay::api;
use pay_common::wechatpay::client::{Client, Signer};
use pay_common::wechatpay::clock::SystemClock;
use pay_common::wechatpay::keyring::KeyRing;
use pay_common::wechatpay::keys::MerchantKey;
use serde_json::{Value, json};
use sqlx::{Connection, Executor};

use crate::support::*;

/// The merchant talking to the simulator directly, behind the service's back (another system
/// on the same merchant account, or money our ledger lost).
fn merchant(app: &TestApp) -> Client {
    let signer = Arc::new(Signer {
        mchid: MCHID.into(),
        serial: SERIAL.into(),
        key: Arc::new(MerchantKey::from_pem(&merchant_key_pem()).unwrap()),
    });
    let keys = KeyRing::new(Some((app.sim.public_key_id(), app.sim.public_key())));
    Client::new(
        &app.sim.base_url(),
        Duration::from_secs(5),
        signer,
        Arc::new(keys),
        Some(API_V3_KEY.as_bytes().to_vec()),
        Arc::new(SystemClock),
    )
}

/// An order placed and paid at WeChat that our ledger never recorded; its callback comes to us.
async fn paid_behind_our_back(app: &TestApp, mode: CallbackMode, no: &str, total: i64) -> String {
    let body = json!({
        "appid": APPID, "mchid": MCHID, "description": "elsewhere", "out_trade_no": no,
        "notify_url": notify_path(mode, "order"),
        "amount": { "total": total, "currency": "CNY" }, "payer": { "openid": BOB },
    });
    let order = api::JsapiOrder {
        body: body.to_string().into_bytes(),
    };
    merchant(app)
        .execute(&order)
        .await
        .expect("the simulator takes the order");
    let tx = app.sim.pay(no).expect("paid");
    tx.transaction_id.expect("a transaction id")
}

async fn admin(app: &TestApp, action: &str, body: Value) -> Reply {
    let path = format!("/wx-pay/admin/{action}");
    app.post(&path, As::Admin, body.to_string()).await
}

async fn records(app: &TestApp, filter: Value) -> Vec<Value> {
    let r = admin(app, "unmatched", filter).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.payload()["records"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits (bounded) until `pred` holds for the records listed with `filter`.
async fn wait_records(app: &TestApp, filter: Value, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..500 {
        let list = records(app, filter.clone()).await;
        if pred(&list) {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("records never matched: {:?}", records(app, filter).await);
}

async fn events(app: &TestApp, ty: &str) -> Vec<Value> {
    let r = admin(app, "events", json!({ "event_type": ty })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.payload()["events"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits (bounded) until the simulator logged an answer to `event_type` with `status`.
async fn wait_delivery(app: &TestApp, event_type: &str, status: u16) {
    for _ in 0..1000 {
        let seen = app
            .sim
            .deliveries()
            .iter()
            .any(|d| d.event_type == event_type && d.status == Some(status));
        if seen {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "no {event_type} answered {status}: {:?}",
        app.sim.deliveries()
    );
}

#[tokio::test]
async fn an_unknown_order_paid_is_recorded_once_before_success_and_redelivery_adds_nothing() {
    let app = spawn(Opts {
        mode: CallbackMode::Sdk,
        ..Default::default()
    })
    .await;
    // WeChat delivers once more after our SUCCESS.
    app.sim
        .inject(FaultRule::new("TRANSACTION.SUCCESS", Fault::Duplicate, 1));
    let tid = paid_behind_our_back(&app, CallbackMode::Sdk, "ORDER_ELSEWHERE1", 30).await;
    let list = wait_records(&app, json!({}), |l| !l.is_empty()).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let r = &list[0];
    assert_eq!(
        (
            r["kind"].as_str(),
            r["reason"].as_str(),
            r["state"].as_str()
        ),
        (Some("payment"), Some("UNKNOWN_ORDER"), Some("OPEN"))
    );
    assert_eq!(
        (
            r["out_no"].as_str(),
            r["wechat_no"].as_str(),
            r["amount"].as_i64()
        ),
        (Some("ORDER_ELSEWHERE1"), Some(tid.as_str()), Some(30))
    );
    assert_eq!(r["openid"], BOB);
    assert_eq!(r["object"]["trade_state"], "SUCCESS");
    // Both deliveries answered SUCCESS; the second recorded nothing.
    for _ in 0..500 {
        let acked = app
            .sim
            .deliveries()
            .iter()
            .filter(|d| d.event_type == "TRANSACTION.SUCCESS" && d.status == Some(200))
            .count();
        if acked >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let acked: Vec<_> = app
        .sim
        .deliveries()
        .into_iter()
        .filter(|d| d.event_type == "TRANSACTION.SUCCESS")
        .collect();
    assert!(
        acked.len() >= 2 && acked.iter().all(|d| d.status == Some(200)),
        "{acked:?}"
    );
    assert_eq!(records(&app, json!({})).await.len(), 1);
    let evs = events(&app, "payment.unmatched").await;
    assert_eq!(evs.len(), 1, "{evs:?}");
    assert_eq!(evs[0]["data"]["unmatched"]["id"], r["id"]);
    // The ledger still knows no such order.
    let view = app
        .call(
            As::Admin,
            "wxpay_order_view",
            json!({ "out_trade_no": "ORDER_ELSEWHERE1" }),
        )
        .await;
    assert_eq!(view.status, 404, "{}", view.body);
}

#[tokio::test]
async fn a_payment_after_close_is_recorded_and_the_order_stays_closed() {
    let app = spawn(Opts::default()).await;
    let no = "ORDER_LATE_PAY01";
    assert_eq!(app.order(ALICE, no, 20).await.status, 200);
    let closed = app
        .call(
            As::User(ALICE),
            "wxpay_close_order",
            json!({ "out_trade_no": no }),
        )
        .await;
    assert_eq!(closed.status, 200, "{}", closed.body);
    app.wait_state(no, "CLOSED").await;
    // The close/pay race at WeChat: a payment under way lands after the close.
    app.sim.pay_after_close(no).unwrap();
    wait_delivery(&app, "TRANSACTION.SUCCESS", 200).await;
    let list = records(&app, json!({ "kind": "payment" })).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["reason"], "PAID_AFTER_CLOSE");
    assert_eq!(app.view(no).await["state"], "CLOSED");
    let evs = events(&app, "order.paid_after_close").await;
    assert_eq!(evs.len(), 1, "{evs:?}");
    assert_eq!(evs[0]["data"]["order"]["out_trade_no"], no);
    assert!(events(&app, "order.paid").await.is_empty());
    // The owner's query reaches the same use case: the same money, nothing new.
    let q = app
        .call(
            As::User(ALICE),
            "wxpay_query_order_by_out_trade_no",
            json!({ "out_trade_no": no }),
        )
        .await;
    assert_eq!(q.status, 200, "{}", q.body);
    assert_eq!(records(&app, json!({})).await.len(), 1);
    assert_eq!(events(&app, "order.paid_after_close").await.len(), 1);
}

#[tokio::test]
async fn a_late_payment_found_by_the_query_route_is_recorded_without_any_callback() {
    let app = spawn(Opts {
        deliver_callbacks: false,
        ..Default::default()
    })
    .await;
    let no = "ORDER_LATE_QRY01";
    app.order(ALICE, no, 25).await;
    app.call(
        As::User(ALICE),
        "wxpay_close_order",
        json!({ "out_trade_no": no }),
    )
    .await;
    app.sim.pay_after_close(no).unwrap();
    assert!(records(&app, json!({})).await.is_empty());
    let q = app
        .call(
            As::User(ALICE),
            "wxpay_query_order_by_out_trade_no",
            json!({ "out_trade_no": no }),
        )
        .await;
    assert_eq!(q.status, 200, "{}", q.body);
    let list = records(&app, json!({ "state": "OPEN" })).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(
        (list[0]["reason"].as_str(), list[0]["amount"].as_i64()),
        (Some("PAID_AFTER_CLOSE"), Some(25))
    );
    assert_eq!(app.view(no).await["state"], "CLOSED");
    // The admin's query of a paid order the ledger never recorded: recorded too, once.
    paid_behind_our_back(&app, CallbackMode::Gateway, "ORDER_ELSEWHERE6", 12).await;
    for _ in 0..2 {
        let q = app
            .call(
                As::Admin,
                "wxpay_query_order_by_out_trade_no",
                json!({ "out_trade_no": "ORDER_ELSEWHERE6" }),
            )
            .await;
        assert_eq!(q.status, 200, "{}", q.body);
    }
    let unknown = records(&app, json!({})).await;
    assert_eq!(unknown.len(), 2, "{unknown:?}");
    assert_eq!(
        (unknown[0]["reason"].as_str(), unknown[0]["out_no"].as_str()),
        (Some("UNKNOWN_ORDER"), Some("ORDER_ELSEWHERE6"))
    );
}

#[tokio::test]
async fn success_is_answered_only_after_the_record_is_committed() {
    let file = std::env::temp_dir().join(format!(
        "pay-common-unmatched-fault-{}.db",
        std::process::id()
    ));
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let app = spawn(Opts {
        mode: CallbackMode::Sdk,
        database_url: Some(url.clone()),
        ..Default::default()
    })
    .await;
    for _ in 0..250 {
        if app.health().await["storeReady"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The store fails every write of an unmatched record (the rest of the ledger works).
    let mut db = sqlx::AnyConnection::connect(&url).await.unwrap();
    db.execute(
        "CREATE TRIGGER fail_unmatched BEFORE INSERT ON pay_unmatched \
         BEGIN SELECT RAISE(ABORT, 'injected storage fault'); END",
    )
    .await
    .unwrap();
    paid_behind_our_back(&app, CallbackMode::Sdk, "ORDER_FAULTY0001", 40).await;
    wait_delivery(&app, "TRANSACTION.SUCCESS", 500).await;
    let answered: Vec<_> = app.sim.deliveries();
    assert!(
        answered.iter().all(|d| d.status != Some(200)),
        "nothing may be acknowledged before the commit: {answered:?}"
    );
    assert!(records(&app, json!({})).await.is_empty());
    assert!(events(&app, "payment.unmatched").await.is_empty());
    // The store is back: WeChat's next retry is recorded, once, and acknowledged.
    db.execute("DROP TRIGGER fail_unmatched").await.unwrap();
    let _ = db.close().await;
    wait_delivery(&app, "TRANSACTION.SUCCESS", 200).await;
    let list = records(&app, json!({})).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["out_no"], "ORDER_FAULTY0001");
    assert_eq!(events(&app, "payment.unmatched").await.len(), 1);
    drop(app);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
}

#[tokio::test]
async fn refunds_and_transfers_we_never_made_are_recorded() {
    let app = spawn(Opts::default()).await;
    let mode = CallbackMode::Gateway;
    let tid = paid_behind_our_back(&app, mode, "ORDER_ELSEWHERE2", 50).await;
    let refund = json!({
        "transaction_id": tid, "out_refund_no": "RF_ELSEWHERE_1",
        "notify_url": notify_path(mode, "refund"),
        "amount": { "refund": 20, "total": 50, "currency": "CNY" },
    });
    merchant(&app)
        .execute(&api::CreateRefund {
            body: refund.to_string().into_bytes(),
        })
        .await
        .unwrap();
    app.sim
        .complete_refund("RF_ELSEWHERE_1", "SUCCESS")
        .unwrap();
    let transfer = json!({
        "appid": APPID, "out_bill_no": "BILLELSEWHERE1", "transfer_scene_id": "1000",
        "openid": BOB, "transfer_amount": 300, "transfer_remark": "prize",
        "transfer_scene_report_infos": [{ "info_type": "活动名称", "info_content": "x" }],
        "notify_url": notify_path(mode, "transfer"),
    });
    merchant(&app)
        .execute(&api::CreateTransfer {
            body: transfer.to_string().into_bytes(),
        })
        .await
        .unwrap();
    app.sim.confirm_transfer("BILLELSEWHERE1").unwrap();
    let list = wait_records(&app, json!({}), |l| l.len() >= 3).await;
    let reasons: Vec<_> = list.iter().map(|r| r["reason"].as_str().unwrap()).collect();
    assert_eq!(
        reasons,
        ["UNKNOWN_TRANSFER", "UNKNOWN_REFUND", "UNKNOWN_ORDER"],
        "newest first"
    );
    assert_eq!(
        (list[1]["out_no"].as_str(), list[1]["amount"].as_i64()),
        (Some("RF_ELSEWHERE_1"), Some(20))
    );
    assert_eq!(
        (list[0]["out_no"].as_str(), list[0]["amount"].as_i64()),
        (Some("BILLELSEWHERE1"), Some(300))
    );
    assert_eq!(events(&app, "refund.unmatched").await.len(), 1);
    assert_eq!(events(&app, "transfer.unmatched").await.len(), 1);
    let only = records(&app, json!({ "kind": "refund" })).await;
    assert_eq!(only.len(), 1);
    // Money that already left cannot be refunded; it can be attached.
    let r = admin(
        &app,
        "unmatched_resolve",
        json!({ "id": only[0]["id"], "action": "refund" }),
    )
    .await;
    assert_eq!(
        (r.status, r.error()),
        (409, "UNMATCHED_NOT_REFUNDABLE"),
        "{}",
        r.body
    );
    let r = admin(
        &app,
        "unmatched_resolve",
        json!({ "id": only[0]["id"], "action": "attach", "note": "refund made by the back office" }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.payload()["record"]["state"], "ATTACHED");
}

#[tokio::test]
async fn the_admin_refunds_unmatched_money_through_wechat_and_its_callback_settles_it() {
    let app = spawn(Opts::default()).await;
    let tid = paid_behind_our_back(&app, CallbackMode::Gateway, "ORDER_ELSEWHERE3", 60).await;
    let list = wait_records(&app, json!({}), |l| !l.is_empty()).await;
    let id = list[0]["id"].as_str().unwrap().to_string();
    let r = admin(
        &app,
        "unmatched_resolve",
        json!({ "id": id, "action": "refund", "out_refund_no": "UMREFUND0001", "note": "customer asked" }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.payload()["record"]["state"], "REFUNDING");
    assert_eq!(r.payload()["refund"]["status"], "PROCESSING");
    // WeChat got a full refund of that transaction.
    let at_wechat = app
        .sim
        .refund("UMREFUND0001")
        .expect("the refund reached WeChat");
    assert_eq!(
        (at_wechat.amount.refund, at_wechat.amount.total),
        (Some(60), Some(60))
    );
    assert_eq!(
        app.sim.order("ORDER_ELSEWHERE3").unwrap().transaction_id,
        Some(tid)
    );
    app.sim.complete_refund("UMREFUND0001", "SUCCESS").unwrap();
    let done = wait_records(&app, json!({ "state": "REFUNDED" }), |l| !l.is_empty()).await;
    assert_eq!(done[0]["out_refund_no"], "UMREFUND0001");
    assert_eq!(events(&app, "unmatched.resolved").await.len(), 1);
    assert_eq!(events(&app, "unmatched.refunded").await.len(), 1);
    let settled = events(&app, "refund.succeeded").await;
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0]["data"]["unmatched"]["id"], id.as_str());
    // Resolved once: nothing more.
    let again = admin(
        &app,
        "unmatched_resolve",
        json!({ "id": id, "action": "dismiss", "note": "late" }),
    )
    .await;
    assert_eq!((again.status, again.error()), (409, "UNMATCHED_RESOLVED"));
}

#[tokio::test]
async fn two_admins_resolving_at_once_one_wins() {
    let app = spawn(Opts::default()).await;
    paid_behind_our_back(&app, CallbackMode::Gateway, "ORDER_ELSEWHERE4", 15).await;
    let list = wait_records(&app, json!({}), |l| !l.is_empty()).await;
    let id = list[0]["id"].clone();
    let refund = admin(
        &app,
        "unmatched_resolve",
        json!({ "id": id, "action": "refund" }),
    );
    let dismiss = admin(
        &app,
        "unmatched_resolve",
        json!({ "id": id, "action": "dismiss", "note": "test payment" }),
    );
    let (a, b) = tokio::join!(refund, dismiss);
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{} / {}", a.body, b.body);
    let loser = if a.status == 409 { &a } else { &b };
    assert_eq!(loser.error(), "UNMATCHED_RESOLVED");
    assert_eq!(events(&app, "unmatched.resolved").await.len(), 1);
    let state = records(&app, json!({})).await[0]["state"].clone();
    assert!(state == "REFUNDING" || state == "DISMISSED", "{state}");
}

#[tokio::test]
async fn the_admin_routes_refuse_clearly_in_both_languages() {
    let app = spawn(Opts::default()).await;
    let user = app
        .post("/wx-pay/admin/unmatched", As::User(ALICE), "{}".into())
        .await;
    assert_eq!(
        (user.status, user.error()),
        (403, "ADMIN_REQUIRED"),
        "{}",
        user.body
    );
    let bad = admin(&app, "unmatched", json!({ "state": "LOST" })).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.msg().contains("state must be OPEN"), "{}", bad.body);
    let no_note = admin(
        &app,
        "unmatched_resolve",
        json!({ "id": "um_x", "action": "dismiss" }),
    )
    .await;
    assert_eq!(no_note.status, 400, "{}", no_note.body);
    assert!(
        no_note.msg().contains("note is required to dismiss"),
        "{}",
        no_note.body
    );
    let unknown = admin(
        &app,
        "unmatched_resolve",
        json!({ "id": "um_none", "action": "attach", "note": "BIZ-1" }),
    )
    .await;
    assert_eq!((unknown.status, unknown.error()), (404, "NOT_FOUND"));

    let zh = spawn(Opts {
        extra: vec![("messageLanguage", "zh".into())],
        ..Default::default()
    })
    .await;
    paid_behind_our_back(&zh, CallbackMode::Gateway, "ORDER_ELSEWHERE5", 10).await;
    let list = wait_records(&zh, json!({}), |l| !l.is_empty()).await;
    let id = list[0]["id"].clone();
    let r = admin(
        &zh,
        "unmatched_resolve",
        json!({ "id": id, "action": "dismiss" }),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.msg().starts_with("note（处理说明）为必填项"),
        "{}",
        r.body
    );
    let r = admin(
        &zh,
        "unmatched_resolve",
        json!({ "id": id, "action": "keep" }),
    )
    .await;
    assert!(
        r.msg().starts_with("action（处理方式）只能是"),
        "{}",
        r.body
    );
    let r = admin(
        &zh,
        "unmatched_resolve",
        json!({ "id": id, "action": "dismiss", "note": "测试付款" }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = admin(
        &zh,
        "unmatched_resolve",
        json!({ "id": id, "action": "dismiss", "note": "测试付款" }),
    )
    .await;
    assert_eq!((r.status, r.error()), (409, "UNMATCHED_RESOLVED"));
    assert!(
        r.msg().starts_with("该笔未匹配款项已经处理过"),
        "{}",
        r.body
    );
}
