//! Payout allowances over HTTP: the business grants with the admin credential, the payee claims
//! with `wxpay_transfer` from their own identity, the simulator plays WeChat (and the payee).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pay_common::simulator::{Fault, FaultRule};
use serde_json::{Value, json};

use crate::support::*;

async fn ledger_app(extra: Vec<(&'static str, String)>) -> TestApp {
    spawn(Opts {
        extra,
        ..Default::default()
    })
    .await
}

async fn admin(app: &TestApp, action: &str, body: Value) -> Reply {
    app.post(
        &format!("/wx-pay/admin/{action}"),
        As::Admin,
        body.to_string(),
    )
    .await
}

/// Grants `amount` to `openid`; answers the allowance object.
async fn grant(app: &TestApp, openid: &str, amount: i64) -> Value {
    let r = admin(
        app,
        "payout_grant",
        json!({ "openid": openid, "amount": amount }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.payload().clone()
}

/// The allowance as the admin listing shows it now.
async fn allowance(app: &TestApp, id: &str) -> Value {
    let r = admin(app, "payouts", json!({ "limit": 1000 })).await;
    let list = r.payload()["allowances"].as_array().cloned().unwrap();
    list.into_iter()
        .find(|a| a["allowance_id"] == id)
        .unwrap_or_else(|| panic!("allowance {id} is not listed: {}", r.body))
}

async fn events(app: &TestApp, ty: &str) -> Vec<Value> {
    let r = admin(app, "events", json!({ "event_type": ty })).await;
    r.payload()["events"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Polls (bounded) until the allowance shows `remaining`.
async fn wait_remaining(app: &TestApp, id: &str, remaining: i64) -> Value {
    for _ in 0..500 {
        let a = allowance(app, id).await;
        if a["remaining"] == remaining {
            return a;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!(
        "allowance {id} never had {remaining} left: {}",
        allowance(app, id).await
    );
}

async fn claim(app: &TestApp, who: As<'_>, body: Value) -> Reply {
    app.call(who, "wxpay_transfer", body).await
}

/// A CloudBase access token (unsigned: the gateway verified it).
fn token(openid: &str) -> String {
    let enc = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    format!(
        "{}.{}.c2lnbmF0dXJl",
        enc(json!({ "alg": "RS256", "kid": "k1" })),
        enc(json!({ "provider_sub": openid, "sub": "uid-1", "exp": exp }))
    )
}

#[tokio::test]
async fn a_payee_claims_from_their_mini_program_and_follows_the_transfer() {
    let app = ledger_app(vec![]).await;
    let body = json!({ "openid": ALICE, "amount": 100, "transfer_remark": "新人奖励", "expires_at": "2099-01-01T00:00:00+08:00" });
    let r = admin(&app, "payout_grant", body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let a = r.payload().clone();
    let id = a["allowance_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("pa_"), "{a}");
    assert_eq!(
        (
            &a["openid"],
            &a["amount"],
            &a["claimed"],
            &a["remaining"],
            &a["state"]
        ),
        (
            &json!(ALICE),
            &json!(100),
            &json!(0),
            &json!(100),
            &json!("ACTIVE")
        )
    );
    assert_eq!(a["transfer_scene_id"], "1000");
    assert_eq!(a["transfer_remark"], "新人奖励");
    assert_eq!(a["expires_at"], "2099-01-01T00:00:00+08:00");
    assert!(a["created_at"].as_str().unwrap().ends_with("+08:00"));

    let r = claim(&app, As::User(ALICE), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let d = r.payload();
    assert_eq!(d["state"], "WAIT_USER_CONFIRM");
    assert!(d["package_info"].as_str().is_some_and(|p| !p.is_empty()));
    assert_eq!((&d["mchId"], &d["appId"]), (&json!(MCHID), &json!(APPID)));
    assert_eq!(
        (&d["allowance_id"], &d["remaining"]),
        (&json!(id), &json!(0))
    );
    let no = d["out_bill_no"].as_str().unwrap().to_string();
    let bill = app.sim.transfer(&no).expect("WeChat has the bill");
    assert_eq!(
        (bill.openid.as_deref(), bill.transfer_amount),
        (Some(ALICE), Some(100))
    );
    assert_eq!(allowance(&app, &id).await["state"], "EXHAUSTED");

    app.sim.confirm_transfer(&no).unwrap();
    let q = app
        .call(
            As::User(ALICE),
            "wxpay_transfer_bill_query",
            json!({ "out_bill_no": no }),
        )
        .await;
    assert_eq!((q.status, &q.payload()["state"]), (200, &json!("SUCCESS")));
    let claimed = events(&app, "payout.claimed").await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0]["data"]["out_bill_no"], no.as_str());
    assert_eq!(claimed[0]["data"]["transfer_amount"], 100);
    assert_eq!(events(&app, "payout.granted").await.len(), 1);
}

#[tokio::test]
async fn a_cloudbase_token_is_the_payee_too_and_a_retry_spends_nothing() {
    let app = ledger_app(vec![]).await;
    let id = grant(&app, BOB, 50).await["allowance_id"].clone();
    let auth = format!("Bearer {}", token(BOB));
    let send = |body: Value| {
        app.http
            .post(format!("{}/wx-pay/wxpay_transfer", app.base))
            .header("content-type", "application/json")
            .header("authorization", auth.clone())
            .body(body.to_string())
            .send()
    };
    let body = json!({ "transfer_amount": 20, "out_bill_no": "BOBCLAIM1", "allowance_id": id });
    let first: Value = send(body.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(first["code"], 0, "{first}");
    assert_eq!(first["data"]["data"]["remaining"], 30);
    let again: Value = send(body).await.unwrap().json().await.unwrap();
    assert_eq!(again["code"], 0, "{again}");
    assert_eq!(
        again["data"]["data"]["remaining"], 30,
        "the same out_bill_no again is the same claim"
    );
    assert_eq!(events(&app, "payout.claimed").await.len(), 1);
}

#[tokio::test]
async fn only_the_payee_may_claim_and_only_what_is_left() {
    let app = ledger_app(vec![]).await;
    let id = grant(&app, ALICE, 100).await["allowance_id"].clone();
    let r = claim(&app, As::User(BOB), json!({})).await;
    assert_eq!((r.status, r.error()), (403, "NO_ALLOWANCE"), "{}", r.body);
    let r = claim(&app, As::User(BOB), json!({ "allowance_id": id })).await;
    assert_eq!(
        (r.status, r.error()),
        (403, "NO_ALLOWANCE"),
        "another user's allowance: {}",
        r.body
    );
    let r = claim(&app, As::Anonymous, json!({})).await;
    assert_eq!(
        (r.status, r.error()),
        (401, "UNAUTHENTICATED"),
        "{}",
        r.body
    );
    assert!(r.msg().contains("x-wx-openid"), "{}", r.msg());
    let r = claim(&app, As::User(ALICE), json!({ "transfer_amount": 101 })).await;
    assert_eq!(
        (r.status, r.error()),
        (400, "ALLOWANCE_EXCEEDED"),
        "{}",
        r.body
    );
    assert!(r.msg().contains("100 fen left"), "{}", r.msg());
    let r = claim(&app, As::User(ALICE), json!({ "openid": BOB })).await;
    assert_eq!(
        (r.status, r.error()),
        (400, "INVALID_PARAMETER"),
        "{}",
        r.body
    );
    assert!(r.msg().starts_with("openid "), "{}", r.msg());
    for action in ["payout_grant", "payouts", "payout_revoke"] {
        let r = app
            .post(
                &format!("/wx-pay/admin/{action}"),
                As::User(ALICE),
                json!({ "openid": ALICE, "amount": 1 }).to_string(),
            )
            .await;
        assert_eq!((r.status, r.error()), (403, "ADMIN_REQUIRED"), "{action}");
    }
    assert!(events(&app, "payout.claimed").await.is_empty());
    assert!(
        app.sim
            .requests()
            .iter()
            .all(|q| !q.endpoint.contains("transfer"))
    );
    let r = claim(&app, As::User(ALICE), json!({ "transfer_amount": 100 })).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_claims_never_exceed_the_allowance() {
    let app = ledger_app(vec![]).await;
    let id = grant(&app, ALICE, 100).await["allowance_id"].clone();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (http, base) = (app.http.clone(), app.base.clone());
            tokio::spawn(async move {
                let resp = http
                    .post(format!("{base}/wx-pay/wxpay_transfer"))
                    .header("content-type", "application/json")
                    .header("x-wx-openid", ALICE)
                    .body(json!({ "transfer_amount": 15 }).to_string())
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                let body: Value = resp.json().await.unwrap();
                Reply { status, body }
            })
        })
        .collect();
    let mut bills = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            200 => bills.push(r.payload()["out_bill_no"].as_str().unwrap().to_string()),
            400 => assert_eq!(r.error(), "ALLOWANCE_EXCEEDED", "{}", r.body),
            _ => panic!("unexpected answer: {}", r.body),
        }
    }
    let created: i64 = bills
        .iter()
        .map(|no| app.sim.transfer(no).unwrap().transfer_amount.unwrap())
        .sum();
    assert!(created <= 100, "bills for {created} fen out of 100");
    assert_eq!(bills.len(), 6, "6 × 15 fit, a 7th does not");
    assert_eq!(allowance(&app, id.as_str().unwrap()).await["claimed"], 90);
    let sent = app
        .sim
        .requests()
        .iter()
        .filter(|q| q.endpoint.contains("transfer") && q.accepted)
        .count();
    assert_eq!(sent, 6, "WeChat saw only the spends");
}

#[tokio::test]
async fn a_failed_or_cancelled_transfer_gives_the_allowance_back_once() {
    let app = ledger_app(vec![]).await;
    let id = grant(&app, ALICE, 100).await["allowance_id"]
        .as_str()
        .unwrap()
        .to_string();
    // WeChat delivers the FAIL notification twice.
    app.sim.inject(FaultRule::new(
        "MCHTRANSFER.BILL.FINISHED",
        Fault::Duplicate,
        1,
    ));
    let r = claim(&app, As::User(ALICE), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let no = r.payload()["out_bill_no"].as_str().unwrap().to_string();
    app.sim
        .fail_transfer(&no, "PAYEE_ACCOUNT_ABNORMAL")
        .unwrap();
    wait_remaining(&app, &id, 100).await;
    for _ in 0..500 {
        let deliveries = app.sim.deliveries();
        if deliveries.iter().filter(|d| d.status == Some(200)).count() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // And a gateway forward naming the bill arrives once more (confirmed by a query).
    let replay = json!({
        "ParsedContent": { "out_bill_no": no, "state": "FAIL" },
        "ParsedNotify": { "event_type": "MCHTRANSFER.BILL.FINISHED" },
        "rawData": { "event_type": "MCHTRANSFER.BILL.FINISHED" },
    });
    let r = app
        .post("/wechatpay/transfer", As::Anonymous, replay.to_string())
        .await;
    assert_eq!(r.body["code"], "SUCCESS", "{}", r.body);
    assert_eq!(allowance(&app, &id).await["remaining"], 100);
    let restored = events(&app, "payout.restored").await;
    assert_eq!(restored.len(), 1, "restored once: {restored:?}");
    assert_eq!(restored[0]["data"]["out_bill_no"], no.as_str());

    // The payee claims again, and the admin cancels before they confirm.
    let r = claim(&app, As::User(ALICE), json!({ "transfer_amount": 40 })).await;
    assert_eq!(r.payload()["remaining"], 60, "{}", r.body);
    let again = r.payload()["out_bill_no"].as_str().unwrap().to_string();
    let c = app
        .call(
            As::Admin,
            "wxpay_transfer_cancel",
            json!({ "out_bill_no": again }),
        )
        .await;
    assert_eq!(c.status, 200, "{}", c.body);
    wait_remaining(&app, &id, 100).await;
    assert_eq!(events(&app, "payout.restored").await.len(), 2);
    assert_eq!(events(&app, "payout.claimed").await.len(), 2);
}

#[tokio::test]
async fn a_claim_wechat_refuses_gives_the_amount_back_at_once() {
    let app = ledger_app(vec![]).await;
    // WeChat takes openids of at most 64 characters; ours may be longer, so WeChat refuses.
    let long = format!("o{}", "x".repeat(99));
    let id = grant(&app, &long, 100).await["allowance_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = claim(&app, As::User(&long), json!({})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.body["data"]["status"], 400,
        "WeChat's answer is kept: {}",
        r.body
    );
    let a = allowance(&app, &id).await;
    assert_eq!(
        (&a["remaining"], &a["state"]),
        (&json!(100), &json!("ACTIVE"))
    );
    assert_eq!(events(&app, "payout.restored").await.len(), 1);
}

#[tokio::test]
async fn revoked_and_expired_allowances_cannot_be_claimed() {
    let app = ledger_app(vec![]).await;
    let id = grant(&app, ALICE, 100).await["allowance_id"].clone();
    let r = admin(&app, "payout_revoke", json!({ "allowance_id": id })).await;
    assert_eq!((r.status, &r.payload()["state"]), (200, &json!("REVOKED")));
    let r = claim(&app, As::User(ALICE), json!({ "allowance_id": id })).await;
    assert_eq!((r.status, r.error()), (403, "NO_ALLOWANCE"));
    assert!(r.msg().contains("REVOKED"), "{}", r.msg());
    let r = claim(&app, As::User(ALICE), json!({})).await;
    assert_eq!((r.status, r.error()), (403, "NO_ALLOWANCE"));
    let r = admin(
        &app,
        "payout_revoke",
        json!({ "allowance_id": "pa_nosuch" }),
    )
    .await;
    assert_eq!((r.status, r.error()), (404, "NOT_FOUND"));
    assert_eq!(events(&app, "payout.revoked").await.len(), 1);

    // One that expires a second from now: claimable until then, EXPIRED after.
    let soon = time::OffsetDateTime::now_utc().unix_timestamp() + 1;
    let expires_at = time::OffsetDateTime::from_unix_timestamp(soon)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let r = admin(
        &app,
        "payout_grant",
        json!({ "openid": BOB, "amount": 10, "expires_at": expires_at }),
    )
    .await;
    let id = r.payload()["allowance_id"].as_str().unwrap().to_string();
    for _ in 0..500 {
        if allowance(&app, &id).await["state"] == "EXPIRED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(allowance(&app, &id).await["state"], "EXPIRED");
    let r = claim(&app, As::User(BOB), json!({ "allowance_id": id })).await;
    assert_eq!((r.status, r.error()), (403, "NO_ALLOWANCE"));
    assert!(r.msg().contains("EXPIRED"), "{}", r.msg());
    let r = admin(
        &app,
        "payout_grant",
        json!({ "openid": BOB, "amount": 10, "expires_at": "2001-01-01T00:00:00Z" }),
    )
    .await;
    assert_eq!((r.status, r.error()), (400, "INVALID_PARAMETER"));
    assert!(r.msg().starts_with("expires_at "), "{}", r.msg());
}

#[tokio::test]
async fn the_admin_lists_by_payee_and_state_and_grant_no_makes_grants_idempotent() {
    let app = ledger_app(vec![]).await;
    let body = json!({ "openid": ALICE, "amount": 100, "grant_no": "campaign-7-alice" });
    let first = admin(&app, "payout_grant", body.clone()).await;
    let again = admin(&app, "payout_grant", body).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(
        first.payload()["allowance_id"],
        again.payload()["allowance_id"]
    );
    let other = json!({ "openid": ALICE, "amount": 200, "grant_no": "campaign-7-alice" });
    let r = admin(&app, "payout_grant", other).await;
    assert_eq!((r.status, r.error()), (409, "GRANT_NO_USED"), "{}", r.body);
    let bob = grant(&app, BOB, 30).await["allowance_id"].clone();
    let revoked = grant(&app, BOB, 40).await["allowance_id"].clone();
    admin(&app, "payout_revoke", json!({ "allowance_id": revoked })).await;
    let ids = |r: &Reply| -> Vec<Value> {
        r.payload()["allowances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["allowance_id"].clone())
            .collect()
    };
    let all = admin(&app, "payouts", json!({})).await;
    assert_eq!(
        ids(&all),
        [
            revoked.clone(),
            bob.clone(),
            first.payload()["allowance_id"].clone()
        ],
        "newest first"
    );
    let r = admin(&app, "payouts", json!({ "openid": BOB, "state": "ACTIVE" })).await;
    assert_eq!(ids(&r), [bob]);
    let r = admin(&app, "payouts", json!({ "state": "REVOKED" })).await;
    assert_eq!(ids(&r), [revoked]);
    let r = admin(&app, "payouts", json!({ "limit": 1 })).await;
    assert_eq!(ids(&r).len(), 1);
    for bad in [
        json!({ "state": "active" }),
        json!({ "limit": 0 }),
        json!({ "limit": "9" }),
    ] {
        let r = admin(&app, "payouts", bad.clone()).await;
        assert_eq!((r.status, r.error()), (400, "INVALID_PARAMETER"), "{bad}");
    }
    let r = app
        .post("/wx-pay/admin/payouts", As::Admin, "not json".into())
        .await;
    assert_eq!((r.status, r.error()), (400, "INVALID_JSON"));
    assert_eq!(events(&app, "payout.granted").await.len(), 3);
}

#[tokio::test]
async fn payout_refusals_admin_refusals_and_callback_failures_speak_chinese_by_default() {
    let zh = ledger_app(vec![("messageLanguage", String::new())]).await;
    let en = ledger_app(vec![]).await;
    for app in [&zh, &en] {
        grant(app, ALICE, 10).await;
    }
    let r = claim(&zh, As::User(BOB), json!({})).await;
    assert_eq!((r.status, r.error()), (403, "NO_ALLOWANCE"));
    assert!(
        r.msg().starts_with("当前用户没有可领取的转账额度"),
        "{}",
        r.msg()
    );
    assert!(r.msg().contains("admin/payout_grant"), "{}", r.msg());
    let r = claim(&en, As::User(BOB), json!({})).await;
    assert!(
        r.msg().starts_with("no payout allowance is open"),
        "{}",
        r.msg()
    );

    let r = claim(&zh, As::User(ALICE), json!({ "transfer_amount": 11 })).await;
    assert_eq!((r.status, r.error()), (400, "ALLOWANCE_EXCEEDED"));
    assert!(r.msg().starts_with("领取金额超过了剩余额度"), "{}", r.msg());
    let r = claim(&en, As::User(ALICE), json!({ "transfer_amount": 11 })).await;
    assert!(
        r.msg().starts_with("transfer_amount 11 is more than"),
        "{}",
        r.msg()
    );

    let r = zh
        .post("/wx-pay/admin/payouts", As::User(ALICE), "{}".into())
        .await;
    assert_eq!((r.status, r.error()), (403, "ADMIN_REQUIRED"));
    assert!(
        r.msg().starts_with("该操作需要服务端的管理员凭证"),
        "{}",
        r.msg()
    );
    let r = en
        .post("/wx-pay/admin/payouts", As::User(ALICE), "{}".into())
        .await;
    assert_eq!(r.msg(), "admin/payouts needs the admin credential");
    let r = admin(&zh, "payout_grant", json!({ "openid": ALICE })).await;
    assert_eq!(r.msg(), "amount（金额，单位：分）必须为正整数（单位：分）");

    // A forward that is not one: the FAIL answer's message is Chinese too.
    let garbage = json!({ "ParsedNotify": { "event_type": "NO.SUCH.EVENT" }, "rawData": {} });
    let r = zh
        .post("/wechatpay/transfer", As::Anonymous, garbage.to_string())
        .await;
    assert_eq!(
        (r.status, &r.body["code"]),
        (400, &json!("FAIL")),
        "{}",
        r.body
    );
    let message = r.body["message"].as_str().unwrap();
    assert!(message.starts_with("通知内容无法处理"), "{message}");
    assert!(message.contains("NO.SUCH.EVENT"), "{message}");
    let r = en
        .post("/wechatpay/transfer", As::Anonymous, garbage.to_string())
        .await;
    assert_eq!(
        r.body["message"],
        "unsupported event_type \"NO.SUCH.EVENT\""
    );
}

#[tokio::test]
async fn who_may_call_is_refused_before_the_body_is_read() {
    let app = ledger_app(vec![]).await;
    let garbled = json!({ "transfer_amount": "lots", "out_bill_no": [], "transfer_bill_no": 7 });
    let cases = [
        (As::Anonymous, "wxpay_transfer", 401, "UNAUTHENTICATED"),
        (
            As::User(ALICE),
            "wxpay_transfer_bill_query_by_no",
            403,
            "ADMIN_REQUIRED",
        ),
        (
            As::User(ALICE),
            "wxpay_transfer_cancel",
            403,
            "ADMIN_REQUIRED",
        ),
    ];
    for (who, route, status, error) in cases {
        let r = app.call(who, route, garbled.clone()).await;
        assert_eq!(
            (r.status, r.error()),
            (status, error),
            "{route}: {}",
            r.body
        );
    }
    for action in ["payout_grant", "payouts", "payout_revoke"] {
        let r = app
            .post(
                &format!("/wx-pay/admin/{action}"),
                As::User(ALICE),
                json!({ "amount": "lots", "limit": "x", "allowance_id": 1 }).to_string(),
            )
            .await;
        assert_eq!((r.status, r.error()), (403, "ADMIN_REQUIRED"), "{action}");
    }
    // Once the caller may, the body's first bad field is named.
    grant(&app, ALICE, 100).await;
    let named = [
        (As::User(ALICE), "wxpay_transfer", "out_bill_no "),
        (As::Admin, "wxpay_transfer", "out_bill_no "),
        (
            As::Admin,
            "wxpay_transfer_bill_query_by_no",
            "transfer_bill_no ",
        ),
        (As::Admin, "wxpay_transfer_cancel", "out_bill_no "),
        (As::User(ALICE), "wxpay_transfer_bill_query", "out_bill_no "),
    ];
    for (who, route, field) in named {
        let r = app.call(who, route, garbled.clone()).await;
        assert_eq!(
            (r.status, r.error()),
            (400, "INVALID_PARAMETER"),
            "{route}: {}",
            r.body
        );
        assert!(r.msg().starts_with(field), "{route}: {}", r.msg());
    }
    let r = claim(&app, As::User(ALICE), json!({ "transfer_amount": "lots" })).await;
    assert_eq!(
        r.msg(),
        "transfer_amount must be a positive integer (fen)",
        "{}",
        r.body
    );
    let r = admin(&app, "payout_revoke", json!({ "allowance_id": 1 })).await;
    assert_eq!(r.msg(), "allowance_id must be a string", "{}", r.body);

    let offline = spawn(Opts {
        credentials: false,
        ..Default::default()
    })
    .await;
    for (who, route) in [
        (As::Anonymous, "wxpay_transfer"),
        (As::User(ALICE), "wxpay_transfer"),
        (As::User(ALICE), "wxpay_transfer_cancel"),
        (As::Admin, "wxpay_transfer_bill_query_by_no"),
        (As::Admin, "wxpay_transfer_bill_query"),
    ] {
        let r = offline.call(who, route, garbled.clone()).await;
        assert_eq!(
            (r.status, r.error()),
            (503, "MISSING_CREDENTIALS"),
            "{route}: {}",
            r.body
        );
    }
}
