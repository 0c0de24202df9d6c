//! Validation tests with fixed inputs.

use std::collections::HashMap;

use super::*;

fn kat_key() -> String {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../../tests/fixtures/wechatpay-kat.json")).unwrap();
    v["rsa_test_key"]["private_key_pkcs8_pem"]
        .as_str()
        .unwrap()
        .to_string()
}

fn kat_public() -> String {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../../tests/fixtures/wechatpay-kat.json")).unwrap();
    v["rsa_test_key"]["public_key_spki_pem"]
        .as_str()
        .unwrap()
        .to_string()
}

fn complete() -> HashMap<&'static str, String> {
    HashMap::from([
        ("appId", "wxc1546068399a59fc".to_string()),
        ("merchantId", "1900000001".to_string()),
        ("apiV3Key", "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb".to_string()),
        (
            "merchantSerialNumber",
            "36048761817f82958048330a6301e922ab28a04d".to_string(),
        ),
        ("privateKey", kat_key()),
        ("wxPayPublicKey", kat_public()),
        (
            "wxPayPublicKeyId",
            "PUB_KEY_ID_0114232134912410000000000000".to_string(),
        ),
        (
            "notifyURLPayURL",
            "https://demo.integration-callback.tcloudbase.com/wechatpay/order".to_string(),
        ),
        (
            "notifyURLRefundsURL",
            "https://demo.integration-callback.tcloudbase.com/wechatpay/refund".to_string(),
        ),
    ])
}

fn config(vars: &HashMap<&'static str, String>) -> Config {
    Config::from_lookup(|k| vars.get(k).cloned())
}

fn problem<'a>(c: &'a Config, var: &str) -> Option<&'a Problem> {
    c.problems.iter().find(|p| p.var == var)
}

#[test]
fn complete_configuration_can_take_payments() {
    let c = config(&complete());
    assert!(c.can_take_payments(), "{:?}", c.problems);
    let creds = c.credentials.as_ref().unwrap();
    assert_eq!(
        creds.merchant_serial,
        "36048761817F82958048330A6301E922AB28A04D"
    );
    assert_eq!(c.port, 3000);
    assert_eq!(c.wechatpay_base_url, DEFAULT_WECHATPAY_BASE_URL);
}

#[test]
fn empty_environment_names_every_missing_credential() {
    let c = config(&HashMap::new());
    assert!(!c.can_take_payments());
    for var in [
        "appId",
        "merchantId",
        "apiV3Key",
        "merchantSerialNumber",
        "privateKey",
        "notifyURLPayURL",
    ] {
        assert_eq!(
            problem(&c, var).map(|p| p.severity),
            Some(Severity::Missing),
            "{var}"
        );
    }
}

#[test]
fn escaped_newlines_in_private_key_are_accepted() {
    let mut vars = complete();
    vars.insert("privateKey", kat_key().trim().replace('\n', "\\n"));
    assert!(config(&vars).can_take_payments());
}

#[test]
fn unparseable_private_key_is_named_with_reason_and_no_material() {
    let mut vars = complete();
    let broken = kat_key().replace("-----END PRIVATE KEY-----", "");
    vars.insert("privateKey", broken);
    let c = config(&vars);
    let p = problem(&c, "privateKey").unwrap();
    assert_eq!(p.severity, Severity::Invalid);
    assert!(
        p.message.starts_with("privateKey: not a PEM private key: "),
        "{}",
        p.message
    );
    assert!(!p.message.contains("MIIEvg"));
    assert!(
        !format!("{c:?}").contains("MIIEvg"),
        "Debug must not print key material"
    );
    assert!(
        !format!("{c:?}").contains("a7cde1ZJB1kG2e7V"),
        "Debug must not print the APIv3 key"
    );
}

#[test]
fn api_v3_key_must_be_32_bytes() {
    let mut vars = complete();
    vars.insert("apiV3Key", "short".into());
    let c = config(&vars);
    assert_eq!(
        problem(&c, "apiV3Key").unwrap().message,
        "apiV3Key must be exactly 32 bytes, got 5"
    );
    assert!(!c.can_take_payments());
}

#[test]
fn notify_urls_must_be_public_https_without_query() {
    let cases = [
        ("http://example.com/notify", "must start with https://"),
        ("https://localhost/notify", "publicly reachable"),
        ("https://127.0.0.1/notify", "publicly reachable"),
        ("https://example.com/notify?x=1", "query string"),
    ];
    for (url, needle) in cases {
        let mut vars = complete();
        vars.insert("notifyURLPayURL", url.into());
        let c = config(&vars);
        let p = problem(&c, "notifyURLPayURL").unwrap_or_else(|| panic!("{url} accepted"));
        assert!(p.message.contains(needle), "{url}: {}", p.message);
        assert!(!c.can_take_payments());
    }
}

#[test]
fn public_key_needs_its_id_and_empty_means_certificate_mode() {
    let mut vars = complete();
    vars.remove("wxPayPublicKeyId");
    assert_eq!(
        problem(&config(&vars), "wxPayPublicKeyId")
            .unwrap()
            .severity,
        Severity::Missing
    );
    vars.remove("wxPayPublicKey");
    let c = config(&vars);
    assert_eq!(
        problem(&c, "wxPayPublicKey").unwrap().severity,
        Severity::Warning
    );
    assert!(
        c.can_take_payments(),
        "platform-certificate mode is a valid setup"
    );
    assert!(c.credentials.unwrap().wechatpay_public_key.is_none());
}

#[test]
fn new_variables_have_documented_defaults() {
    let c = config(&complete());
    assert_eq!(c.wechatpay_timeout, Duration::from_secs(10));
    assert_eq!(c.order_expiry, Duration::from_secs(600));
    assert_eq!(c.refund_policy, RefundPolicy::AdminOnly);
    assert_eq!(c.max_body_bytes, 64 * 1024);
    assert_eq!(c.body_read_timeout, Duration::from_secs(10));
    assert_eq!(c.header_read_timeout, Duration::from_secs(10));
    assert_eq!(c.keep_alive_idle, Duration::from_secs(5));
    assert_eq!(c.gateway_query_budget, 60);
    assert!(c.admin_token.is_none());
    let mut vars = complete();
    vars.insert("PAY_COMMON_ADMIN_TOKEN", "short".into());
    assert_eq!(
        problem(&config(&vars), "PAY_COMMON_ADMIN_TOKEN")
            .unwrap()
            .severity,
        Severity::Invalid
    );
}

/// Every variable the service reads.
const ALL_VARS: &[&str] = &[
    "signMode",
    "appId",
    "service_app_id",
    "merchantId",
    "merchantSerialNumber",
    "privateKey",
    "apiV3Key",
    "wxPayPublicKey",
    "wxPayPublicKeyId",
    "notifyURLPayURL",
    "notifyURLRefundsURL",
    "transferNotifyUrl",
    "corsAllowOrigin",
    "HOST",
    "PORT",
    "wechatpayBaseUrl",
    "wechatpayTimeoutMs",
    "PAY_COMMON_ADMIN_TOKEN",
    "refundPolicy",
    "DATABASE_URL",
    "businessWebhookUrl",
    "businessWebhookSecret",
    "orderExpireMinutes",
    "reconcileIntervalSeconds",
    "reconcileGraceSeconds",
    "certRefreshMinutes",
    "maxBodyBytes",
    "maxInFlight",
    "bodyReadTimeoutSeconds",
    "headerReadTimeoutSeconds",
    "keepAliveIdleSeconds",
    "gatewayQueryBudgetPerMinute",
    "authTokenIdentity",
    "authJwksFile",
    "messageLanguage",
];

const ODD: &[&str] = &[
    "::",
    "*",
    "   ",
    ",",
    ", ,,",
    "garbage://::not a url",
    "99999999999999999999999999",
    "18446744073709551615",
    "-1",
    "0",
    "https://",
    "\u{7f}\u{1}",
    "中文",
];

#[test]
fn odd_values_of_every_variable_never_panic_and_bounds_hold() {
    for var in ALL_VARS {
        for odd in ODD {
            let mut vars = complete();
            vars.insert(var, (*odd).to_string());
            let c = config(&vars);
            assert!(
                c.wechatpay_timeout <= Duration::from_secs(120),
                "{var}={odd}"
            );
            assert!(
                c.order_expiry <= Duration::from_secs(7 * 24 * 3600),
                "{var}={odd}"
            );
            assert!(c.reconcile_interval <= Duration::from_secs(7 * 24 * 3600));
            assert!(c.cert_refresh <= Duration::from_secs(7 * 24 * 3600 * 60));
            assert!((1024..=16 * 1024 * 1024).contains(&c.max_body_bytes));
            assert!((1..=100_000).contains(&c.max_in_flight));
            assert!((1..=300).contains(&c.body_read_timeout.as_secs()));
            assert!((1..=300).contains(&c.header_read_timeout.as_secs()));
            assert!((1..=3600).contains(&c.keep_alive_idle.as_secs()));
            assert!(c.gateway_query_budget <= 100_000);
            let addr = format!("{}:{}", c.host, c.port);
            assert!(
                addr.parse::<std::net::SocketAddr>().is_ok(),
                "{var}={odd}: {addr}"
            );
            assert!(reqwest::Url::parse(&c.wechatpay_base_url).is_ok());
            for o in &c.cors_allow_origins {
                assert!(
                    o == "*" || axum::http::HeaderValue::from_str(o).is_ok(),
                    "{var}={odd}"
                );
            }
        }
    }
}

#[test]
fn odd_numbers_and_urls_are_named_by_variable() {
    for (var, odd) in [
        ("maxInFlight", "99999999999999999999999999"),
        ("bodyReadTimeoutSeconds", "0"),
        ("headerReadTimeoutSeconds", "301"),
        ("keepAliveIdleSeconds", "soon"),
        ("gatewayQueryBudgetPerMinute", "-1"),
        ("orderExpireMinutes", "0"),
        ("wechatpayTimeoutMs", "18446744073709551615"),
        ("wechatpayBaseUrl", "garbage"),
        ("businessWebhookUrl", "not a url"),
        ("HOST", "not a host"),
        ("DATABASE_URL", "garbage"),
        ("corsAllowOrigin", "shop.example.com/path"),
        ("authTokenIdentity", "maybe"),
        ("authJwksFile", "/nonexistent/jwks.json"),
    ] {
        let mut vars = complete();
        vars.insert(var, odd.to_string());
        if var == "businessWebhookUrl" {
            vars.insert("businessWebhookSecret", "s".into());
        }
        let c = config(&vars);
        let p = problem(&c, var).unwrap_or_else(|| panic!("{var}={odd} not named"));
        assert_eq!(p.severity, Severity::Invalid, "{var}");
        assert!(
            !p.message.contains(odd) || odd.len() < 3,
            "{var}: no value in message"
        );
    }
}

#[test]
fn cors_star_means_any_origin_and_is_not_a_problem() {
    let mut vars = complete();
    vars.insert("corsAllowOrigin", "*".into());
    let c = config(&vars);
    assert_eq!(c.cors_allow_origins, vec!["*".to_string()]);
    assert!(problem(&c, "corsAllowOrigin").is_none());
    vars.insert(
        "corsAllowOrigin",
        "https://a.example.com, bad origin ,http://localhost:5173".into(),
    );
    let c = config(&vars);
    assert_eq!(
        c.cors_allow_origins,
        vec!["https://a.example.com", "http://localhost:5173"]
    );
    assert!(problem(&c, "corsAllowOrigin").is_some());
}
