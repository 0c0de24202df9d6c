//! CloudBase Auth identity (Bearer JWT), its precedence against `x-wx-openid`, and order access
//! tokens for pages without identity.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::support::*;

fn enc(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A CloudBase-style access token, unsigned (the gateway verified it).
fn token(openid: &str, exp: i64) -> String {
    let claims = json!({ "provider_sub": openid, "sub": "uid-1", "exp": exp, "iat": now() });
    format!(
        "{}.{}.c2lnbmF0dXJl",
        enc(&json!({ "alg": "RS256", "kid": "k1" })),
        enc(&claims)
    )
}

async fn call_h(app: &TestApp, route: &str, headers: &[(&str, &str)], body: Value) -> Reply {
    let mut req = app
        .http
        .post(format!("{}/wx-pay/{route}", app.base))
        .header("content-type", "application/json")
        .body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(Value::Null);
    Reply { status, body }
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

fn order_body(no: &str) -> Value {
    json!({ "description": "Test product", "out_trade_no": no, "amount": { "total": 7 } })
}

#[tokio::test]
async fn a_jwt_caller_orders_queries_and_closes_their_own_order_and_not_another() {
    let app = spawn(Opts::default()).await;
    let alice = bearer(&token(ALICE, now() + 3600));
    let bob = bearer(&token(BOB, now() + 3600));
    let a = [("authorization", alice.as_str())];
    let r = call_h(&app, "wxpay_order", &a, order_body("JWT_ORDER_1")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        app.sim.order("JWT_ORDER_1").unwrap().payer.unwrap().openid,
        ALICE
    );
    let no = json!({ "out_trade_no": "JWT_ORDER_1" });
    let b = [("authorization", bob.as_str())];
    let r = call_h(&app, "wxpay_query_order_by_out_trade_no", &b, no.clone()).await;
    assert_eq!((r.status, r.error()), (403, "NOT_OWNER"), "{}", r.body);
    let r = call_h(&app, "wxpay_close_order", &b, no.clone()).await;
    assert_eq!((r.status, r.error()), (403, "NOT_OWNER"), "{}", r.body);
    let r = call_h(&app, "wxpay_query_order_by_out_trade_no", &a, no.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.payload()["trade_state"], "NOTPAY");
    let r = call_h(&app, "wxpay_close_order", &a, no).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(app.sim.order("JWT_ORDER_1").unwrap().trade_state, "CLOSED");
}

#[tokio::test]
async fn expired_garbled_and_claimless_tokens_are_a_401_naming_the_problem() {
    let app = spawn(Opts::default()).await;
    let cases = [
        (token(ALICE, now() - 10), "expired"),
        (
            format!("{}.bm90IGpzb24.c2ln", enc(&json!({"alg":"RS256"}))),
            "payload",
        ),
        (
            format!(
                "{}.{}.c2ln",
                enc(&json!({"alg":"RS256"})),
                enc(&json!({"sub":"u","exp":now()+60}))
            ),
            "provider_sub",
        ),
    ];
    for (t, named) in cases {
        let h = bearer(&t);
        let r = call_h(
            &app,
            "wxpay_order",
            &[("authorization", &h), ("x-wx-openid", ALICE)],
            order_body("JWT_BAD_1"),
        )
        .await;
        assert_eq!((r.status, r.error()), (401, "INVALID_TOKEN"), "{}", r.body);
        assert!(r.msg().contains(named), "{named}: {}", r.body);
    }
    assert!(app.sim.order("JWT_BAD_1").is_none(), "nothing was ordered");
}

#[tokio::test]
async fn a_jwt_is_never_an_admin_attempt_and_a_wrong_plain_bearer_still_is() {
    let app = spawn(Opts::default()).await;
    let t = bearer(&token(ALICE, now() + 600));
    let r = call_h(
        &app,
        "wxpay_order_view",
        &[("authorization", &t)],
        json!({"out_trade_no":"NOPE_1"}),
    )
    .await;
    assert_eq!((r.status, r.error()), (404, "NOT_FOUND"), "{}", r.body);
    let h = bearer(ADMIN_TOKEN);
    let r = call_h(
        &app,
        "wxpay_order_view",
        &[("authorization", &h)],
        json!({"out_trade_no":"NOPE_1"}),
    )
    .await;
    assert_eq!((r.status, r.error()), (404, "NOT_FOUND"), "{}", r.body);
    let r = call_h(
        &app,
        "wxpay_order_view",
        &[("authorization", "Bearer not-the-admin-token-at-all")],
        json!({"out_trade_no":"NOPE_1"}),
    )
    .await;
    assert_eq!(
        (r.status, r.error()),
        (401, "INVALID_ADMIN_TOKEN"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn both_headers_must_agree() {
    let app = spawn(Opts::default()).await;
    let t = bearer(&token(ALICE, now() + 600));
    let r = call_h(
        &app,
        "wxpay_order",
        &[("authorization", &t), ("x-wx-openid", BOB)],
        order_body("JWT_BOTH_1"),
    )
    .await;
    assert_eq!(
        (r.status, r.error()),
        (401, "IDENTITY_CONFLICT"),
        "{}",
        r.body
    );
    assert!(app.sim.order("JWT_BOTH_1").is_none());
    let r = call_h(
        &app,
        "wxpay_order",
        &[("authorization", &t), ("x-wx-openid", ALICE)],
        order_body("JWT_BOTH_2"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn token_identity_off_ignores_the_jwt() {
    let mut opts = Opts::default();
    opts.extra.push(("authTokenIdentity", "off".into()));
    let app = spawn(opts).await;
    let t = bearer(&token(ALICE, now() + 600));
    let r = call_h(
        &app,
        "wxpay_order",
        &[("authorization", &t)],
        order_body("JWT_OFF_1"),
    )
    .await;
    assert_eq!(
        (r.status, r.error()),
        (401, "UNAUTHENTICATED"),
        "{}",
        r.body
    );
    let r = call_h(
        &app,
        "wxpay_order",
        &[("authorization", &t), ("x-wx-openid", BOB)],
        order_body("JWT_OFF_2"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        app.sim.order("JWT_OFF_2").unwrap().payer.unwrap().openid,
        BOB
    );
}

#[tokio::test]
async fn with_a_jwks_file_only_correctly_signed_tokens_pass() {
    let rng = SystemRandom::new();
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref()).unwrap();
    let pt = pair.public_key().as_ref().to_vec();
    let jwks = json!({"keys":[{"kid":"cb1","kty":"EC","crv":"P-256",
        "x":URL_SAFE_NO_PAD.encode(&pt[1..33]),"y":URL_SAFE_NO_PAD.encode(&pt[33..])}]});
    let path = std::env::temp_dir().join(format!("pay-common-jwks-{}.json", std::process::id()));
    std::fs::write(&path, jwks.to_string()).unwrap();
    let mut opts = Opts::default();
    opts.extra
        .push(("authJwksFile", path.display().to_string()));
    let app = spawn(opts).await;
    let signed = format!(
        "{}.{}",
        enc(&json!({"alg":"ES256","kid":"cb1"})),
        enc(&json!({"provider_sub": ALICE, "exp": now() + 600}))
    );
    let sig = pair.sign(&rng, signed.as_bytes()).unwrap();
    let good = bearer(&format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(sig.as_ref())
    ));
    let r = call_h(
        &app,
        "wxpay_order",
        &[("authorization", &good)],
        order_body("JWKS_1"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let unsigned = bearer(&token(ALICE, now() + 600));
    let r = call_h(
        &app,
        "wxpay_order",
        &[("authorization", &unsigned)],
        order_body("JWKS_2"),
    )
    .await;
    assert_eq!((r.status, r.error()), (401, "INVALID_TOKEN"), "{}", r.body);
    assert!(r.msg().contains("signature"), "{}", r.body);
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn a_web_page_polls_and_closes_its_native_order_with_its_token_and_not_another() {
    let app = spawn(Opts::default()).await;
    let place = |no: &'static str| app.call(As::Anonymous, "wxpay_order_native", order_body(no));
    let first = place("NATIVE_TOKEN_1").await;
    assert_eq!(first.status, 200, "{}", first.body);
    let t1 = first.payload()["order_token"].as_str().unwrap().to_string();
    let again = place("NATIVE_TOKEN_1").await;
    assert_eq!(
        again.payload()["order_token"],
        t1.as_str(),
        "idempotent repeat, same token"
    );
    let other = place("NATIVE_TOKEN_2").await;
    let t2 = other.payload()["order_token"].as_str().unwrap().to_string();
    assert_ne!(t1, t2);
    let q = |no: &str, t: &str| json!({ "out_trade_no": no, "order_token": t });
    for route in ["wxpay_query_order_by_out_trade_no", "wxpay_order_view"] {
        let r = app
            .call(As::Anonymous, route, q("NATIVE_TOKEN_1", &t1))
            .await;
        assert_eq!(r.status, 200, "{route}: {}", r.body);
        assert!(r.payload().get("payer").is_none() && r.payload()["owner"].is_null());
        let r = app
            .call(As::Anonymous, route, q("NATIVE_TOKEN_1", &t2))
            .await;
        assert_eq!(
            (r.status, r.error()),
            (403, "INVALID_ORDER_TOKEN"),
            "{}",
            r.body
        );
        let r = app
            .call(
                As::Anonymous,
                route,
                json!({"out_trade_no":"NATIVE_TOKEN_1"}),
            )
            .await;
        assert_eq!(
            (r.status, r.error()),
            (401, "UNAUTHENTICATED"),
            "{}",
            r.body
        );
    }
    let r = app
        .call(As::Anonymous, "wxpay_close_order", q("NATIVE_TOKEN_2", &t1))
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        app.sim.order("NATIVE_TOKEN_2").unwrap().trade_state,
        "NOTPAY"
    );
    let r = app
        .call(As::Anonymous, "wxpay_close_order", q("NATIVE_TOKEN_1", &t1))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        app.sim.order("NATIVE_TOKEN_1").unwrap().trade_state,
        "CLOSED"
    );
}

#[tokio::test]
async fn a_jsapi_order_token_never_reveals_the_payer() {
    let app = spawn(Opts::default()).await;
    let r = app.order(ALICE, "JSAPI_TOKEN_1", 9).await;
    let t = r.payload()["order_token"].as_str().unwrap().to_string();
    let body = json!({ "out_trade_no": "JSAPI_TOKEN_1", "order_token": t });
    let r = app
        .call(
            As::Anonymous,
            "wxpay_query_order_by_out_trade_no",
            body.clone(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.to_string().contains(ALICE), "{}", r.body);
    let r = app.call(As::Anonymous, "wxpay_order_view", body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.to_string().contains(ALICE), "{}", r.body);
}
