//! Odd configuration values: the service starts, answers, and `/healthz` names the problem.

use crate::support::*;

#[tokio::test]
async fn cors_star_and_odd_values_start_the_service_and_are_named_in_healthz() {
    let opts = Opts {
        extra: vec![
            ("corsAllowOrigin", "*".into()),
            ("maxInFlight", "99999999999999999999999".into()),
            ("wechatpayTimeoutMs", "-1".into()),
            ("authTokenIdentity", "maybe".into()),
        ],
        ..Default::default()
    };
    let app = spawn(opts).await;
    let h = app.health().await;
    assert_eq!(h["status"], "ok", "{h}");
    let named: Vec<&str> = h["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["var"].as_str())
        .collect();
    for var in ["maxInFlight", "wechatpayTimeoutMs", "authTokenIdentity"] {
        assert!(named.contains(&var), "{var} not named: {h}");
    }
    assert!(!named.contains(&"corsAllowOrigin"), "{h}");
    let pre = app
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/wx-pay/wxpay_order", app.base),
        )
        .header("origin", "https://any.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(
        pre.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("*")
    );
    // An unusable value blocks payments like a bad credential, and the refusal names it.
    let r = app.order(ALICE, "CORS_STAR_1", 3).await;
    assert_eq!(
        (r.status, r.error()),
        (503, "MISSING_CREDENTIALS"),
        "{}",
        r.body
    );
    assert!(r.msg().contains("maxInFlight"), "{}", r.body);
    let opts = Opts {
        extra: vec![("corsAllowOrigin", "*".into())],
        ..Default::default()
    };
    let app = spawn(opts).await;
    let r = app.order(ALICE, "CORS_STAR_2", 3).await;
    assert_eq!(r.status, 200, "{}", r.body);
}
