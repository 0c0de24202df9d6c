//! Parsing and validating each variable, collecting every problem instead of stopping at the
//! first, so one `check-config` run shows them all.

use std::sync::Arc;
use std::time::Duration;

use super::*;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A required variable is absent.
    Missing,
    /// A variable is present but unusable.
    Invalid,
    /// Works, but probably not what you want.
    Warning,
}

/// One finding about one variable. Never contains the variable's value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The environment variable's name.
    pub var: &'static str,
    /// How bad.
    pub severity: Severity,
    /// What is wrong and how to fix it.
    pub message: String,
}

type Get<'a> = &'a dyn Fn(&str) -> Option<String>;

struct Collector(Vec<Problem>);

impl Collector {
    fn push(&mut self, var: &'static str, severity: Severity, message: impl Into<String>) {
        self.0.push(Problem {
            var,
            severity,
            message: message.into(),
        });
    }
    fn required(&mut self, get: Get<'_>, var: &'static str, what: &str) -> Option<String> {
        let v = get(var);
        if v.is_none() {
            self.push(var, Severity::Missing, format!("{var} is not set ({what})"));
        }
        v
    }
    fn number<T: std::str::FromStr>(&mut self, get: Get<'_>, var: &'static str, default: T) -> T {
        match get(var) {
            None => default,
            Some(v) => v.parse().unwrap_or_else(|_| {
                self.push(
                    var,
                    Severity::Invalid,
                    format!("{var} must be a whole number; using the default"),
                );
                default
            }),
        }
    }
}

impl Collector {
    /// A whole number within `min..=max`; outside it the problem is named and the default used.
    fn bounded(
        &mut self,
        get: Get<'_>,
        var: &'static str,
        default: u64,
        min: u64,
        max: u64,
    ) -> u64 {
        let v = self.number(get, var, default);
        if (min..=max).contains(&v) {
            v
        } else {
            self.push(
                var,
                Severity::Invalid,
                format!("{var} must be between {min} and {max}; using the default {default}"),
            );
            default
        }
    }
}

fn check_notify_url(c: &mut Collector, var: &'static str, url: &str) -> bool {
    let rule = match reqwest::Url::parse(url) {
        Err(_) => Some("is not a URL"),
        Ok(u) if u.scheme() != "https" => Some("must start with https://"),
        Ok(u)
            if matches!(
                u.host_str(),
                Some("localhost" | "127.0.0.1" | "[::1]" | "0.0.0.0")
            ) =>
        {
            Some("must be publicly reachable (not localhost)")
        }
        Ok(u) if u.query().is_some() || url.contains('?') => {
            Some("must not contain a query string (?)")
        }
        Ok(_) if url.len() > 255 => Some("must be at most 255 characters"),
        Ok(_) => None,
    };
    if let Some(rule) = rule {
        c.push(var, Severity::Invalid, format!("{var} {rule}"));
    }
    rule.is_none()
}

fn credentials(c: &mut Collector, get: Get<'_>) -> Option<Arc<Credentials>> {
    let mchid = c.required(
        get,
        "merchantId",
        "the merchant id from the merchant platform home page",
    );
    let mchid = mchid.filter(|m| {
        let ok = m.len() <= 32 && m.chars().all(|ch| ch.is_ascii_digit());
        if !ok {
            c.push(
                "merchantId",
                Severity::Invalid,
                "merchantId must be digits only (e.g. 1900000001)",
            );
        }
        ok
    });
    let serial = c.required(
        get,
        "merchantSerialNumber",
        "the 40-character merchant certificate serial",
    );
    let serial = serial.map(|s| s.to_ascii_uppercase()).filter(|s| {
        let ok = !s.is_empty() && s.len() <= 40 && s.chars().all(|ch| ch.is_ascii_hexdigit());
        if !ok {
            c.push(
                "merchantSerialNumber",
                Severity::Invalid,
                "merchantSerialNumber must be hexadecimal (40 characters)",
            );
        }
        ok
    });
    let key = c.required(get, "privateKey", "the content of apiclient_key.pem");
    let key = key.and_then(|pem| match MerchantKey::from_pem(&pem) {
        Ok(k) => Some(k),
        Err(e) => {
            c.push("privateKey", Severity::Invalid, format!("privateKey: {e}"));
            None
        }
    });
    let v3 = c.required(get, "apiV3Key", "the 32-character APIv3 key");
    let v3 = v3.filter(|k| {
        let ok = k.len() == 32;
        if !ok {
            let msg = format!("apiV3Key must be exactly 32 bytes, got {}", k.len());
            c.push("apiV3Key", Severity::Invalid, msg);
        }
        ok
    });
    let public = public_key(c, get);
    Some(Arc::new(Credentials {
        mchid: mchid?,
        merchant_serial: serial?,
        private_key: Arc::new(key?),
        api_v3_key: Secret::new(v3?),
        wechatpay_public_key: public?,
    }))
}

/// `Some(None)` = platform-certificate mode; `None` = invalid.
fn public_key(c: &mut Collector, get: Get<'_>) -> Option<Option<(String, PublicKey)>> {
    let (pem, id) = (get("wxPayPublicKey"), get("wxPayPublicKeyId"));
    match (pem, id) {
        (None, None) => {
            let msg =
                "wxPayPublicKey is empty: using platform-certificate mode (GET /v3/certificates)";
            c.push("wxPayPublicKey", Severity::Warning, msg);
            Some(None)
        }
        (None, Some(_)) => {
            c.push(
                "wxPayPublicKey",
                Severity::Missing,
                "wxPayPublicKey is not set but wxPayPublicKeyId is",
            );
            None
        }
        (Some(_), None) => {
            c.push(
                "wxPayPublicKeyId",
                Severity::Missing,
                "wxPayPublicKeyId is required when wxPayPublicKey is set",
            );
            None
        }
        (Some(pem), Some(id)) => {
            let key = PublicKey::from_pem(&pem)
                .map_err(|e| {
                    c.push(
                        "wxPayPublicKey",
                        Severity::Invalid,
                        format!("wxPayPublicKey: {e}"),
                    )
                })
                .ok();
            if !id.starts_with("PUB_KEY_ID_") {
                c.push(
                    "wxPayPublicKeyId",
                    Severity::Invalid,
                    "wxPayPublicKeyId must start with PUB_KEY_ID_",
                );
                return None;
            }
            Some(Some((id, key?)))
        }
    }
}

/// A boolean switch: `true`/`1`/`yes`/`on` (any case) is on, anything else off.
fn flag(get: Get<'_>, var: &str) -> bool {
    get(var).is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "true" | "1" | "yes" | "on"
        )
    })
}

/// `corsAllowOrigin`: `*` (any origin) or a comma list of `scheme://host[:port]` origins; a bad
/// entry is dropped and named, never a start-up panic.
fn cors_origins(c: &mut Collector, get: Get<'_>) -> Vec<String> {
    let Some(v) = get("corsAllowOrigin") else {
        return Vec::new();
    };
    let list: Vec<String> = v
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if list.iter().any(|o| o == "*") {
        if list.len() > 1 {
            c.push(
                "corsAllowOrigin",
                Severity::Warning,
                "corsAllowOrigin contains * and other origins; * allows every origin",
            );
        }
        return vec!["*".into()];
    }
    let mut good = Vec::new();
    for o in list {
        let ok = reqwest::Url::parse(&o).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host_str().is_some()
                && u.path() == "/"
                && !o.ends_with('/')
                && u.query().is_none()
        }) && axum::http::HeaderValue::from_str(&o).is_ok();
        if ok {
            good.push(o);
        } else {
            c.push(
                "corsAllowOrigin",
                Severity::Invalid,
                "corsAllowOrigin entries must be * or origins like https://shop.example.com (scheme and host, no path); the bad entry is ignored",
            );
        }
    }
    if good.is_empty() {
        c.push(
            "corsAllowOrigin",
            Severity::Warning,
            "corsAllowOrigin has no usable origin: CORS is off",
        );
    }
    good
}

pub(super) fn build(get: Get<'_>) -> Config {
    let mut c = Collector(Vec::new());
    let sign_mode = match get("signMode").as_deref() {
        None | Some("gateway") => SignMode::Gateway,
        Some("sdk") => SignMode::Sdk,
        Some(_) => {
            c.push(
                "signMode",
                Severity::Invalid,
                "signMode must be gateway or sdk; using gateway",
            );
            SignMode::Gateway
        }
    };
    let app_id = c.required(get, "appId", "the Mini Program AppID");
    let credentials = credentials(&mut c, get);
    let notify_pay_url = c.required(
        get,
        "notifyURLPayURL",
        "the pay callback URL Integration Center injects",
    );
    let notify_pay_url = notify_pay_url.filter(|u| check_notify_url(&mut c, "notifyURLPayURL", u));
    let notify_refund_url =
        get("notifyURLRefundsURL").filter(|u| check_notify_url(&mut c, "notifyURLRefundsURL", u));
    if get("notifyURLRefundsURL").is_none() {
        c.push(
            "notifyURLRefundsURL",
            Severity::Warning,
            "notifyURLRefundsURL is not set: refund results arrive only by reconciliation",
        );
    }
    let notify_transfer_url =
        get("transferNotifyUrl").filter(|u| check_notify_url(&mut c, "transferNotifyUrl", u));
    let admin_token = get("PAY_COMMON_ADMIN_TOKEN").map(Secret::new);
    if let Some(t) = &admin_token
        && t.expose().len() < 16
    {
        c.push(
            "PAY_COMMON_ADMIN_TOKEN",
            Severity::Invalid,
            "PAY_COMMON_ADMIN_TOKEN must be at least 16 characters",
        );
    }
    let refund_policy = match get("refundPolicy").as_deref() {
        None | Some("admin") => RefundPolicy::AdminOnly,
        Some("owner-full") => RefundPolicy::OwnerFull,
        Some(_) => {
            c.push(
                "refundPolicy",
                Severity::Invalid,
                "refundPolicy must be admin or owner-full; using admin",
            );
            RefundPolicy::AdminOnly
        }
    };
    let base = get("wechatpayBaseUrl").unwrap_or_else(|| DEFAULT_WECHATPAY_BASE_URL.into());
    let base = match reqwest::Url::parse(&base) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => base,
        _ => {
            c.push(
                "wechatpayBaseUrl",
                Severity::Invalid,
                "wechatpayBaseUrl must be an http(s) URL such as https://api.mch.weixin.qq.com",
            );
            DEFAULT_WECHATPAY_BASE_URL.into()
        }
    };
    let business_webhook_url = get("businessWebhookUrl").filter(|u| {
        let ok = reqwest::Url::parse(u)
            .is_ok_and(|p| matches!(p.scheme(), "http" | "https") && p.host_str().is_some());
        if !ok {
            c.push(
                "businessWebhookUrl",
                Severity::Invalid,
                "businessWebhookUrl must be an http(s) URL; business webhooks are off until it is fixed",
            );
        }
        ok
    });
    let business_webhook_secret = get("businessWebhookSecret").map(Secret::new);
    if business_webhook_url.is_some() && business_webhook_secret.is_none() {
        c.push(
            "businessWebhookSecret",
            Severity::Missing,
            "businessWebhookSecret is required when businessWebhookUrl is set",
        );
    }
    let port = c.number(get, "PORT", 3000u16);
    const DAY: u64 = 24 * 3600;
    let timeout_ms = c.bounded(get, "wechatpayTimeoutMs", 10_000, 1, 120_000);
    let expiry_min = c.bounded(get, "orderExpireMinutes", 10, 1, 60 * 24 * 7);
    let interval = c.bounded(get, "reconcileIntervalSeconds", 60, 0, 7 * DAY);
    let grace = c.bounded(get, "reconcileGraceSeconds", 60, 0, 7 * DAY);
    let cert_refresh = c.bounded(get, "certRefreshMinutes", 360, 1, 60 * 24 * 7);
    let max_body_bytes = c.bounded(get, "maxBodyBytes", 64 * 1024, 1024, 16 * 1024 * 1024) as usize;
    let max_in_flight = c.bounded(get, "maxInFlight", 256, 1, 100_000) as usize;
    let body_read_timeout = c.bounded(get, "bodyReadTimeoutSeconds", 10, 1, 300);
    let header_read_timeout = c.bounded(get, "headerReadTimeoutSeconds", 10, 1, 300);
    let keep_alive_idle = c.bounded(get, "keepAliveIdleSeconds", 5, 1, 3600);
    let gateway_query_budget = c.bounded(get, "gatewayQueryBudgetPerMinute", 60, 0, 100_000);
    let auth_token_identity = match get("authTokenIdentity").as_deref() {
        None | Some("on" | "true" | "1") => true,
        Some("off" | "false" | "0") => false,
        Some(_) => {
            c.push(
                "authTokenIdentity",
                Severity::Invalid,
                "authTokenIdentity must be on or off; using on",
            );
            true
        }
    };
    let auth_jwks = get("authJwksFile").map(|path| {
        let parsed = std::fs::read_to_string(&path)
            .map_err(|_| "cannot be read".to_string())
            .and_then(|text| crate::http::jwt::Jwks::from_json(&text));
        match parsed {
            Ok(k) => Arc::new(k),
            Err(e) => {
                c.push(
                    "authJwksFile",
                    Severity::Invalid,
                    format!("authJwksFile {e}; Bearer tokens are refused until it is fixed"),
                );
                // Fail closed: an empty key set verifies nothing.
                Arc::new(crate::http::jwt::Jwks::default())
            }
        }
    });
    let cors_allow_origins = cors_origins(&mut c, get);
    let database_url = get("DATABASE_URL").filter(|u| {
        let ok = ["sqlite:", "postgres://", "postgresql://", "mysql://", "mariadb://"]
            .iter()
            .any(|p| u.starts_with(p))
            && reqwest::Url::parse(u).is_ok()
            && crate::store::open::url_problem(u).is_none();
        if !ok {
            c.push(
                "DATABASE_URL",
                Severity::Invalid,
                "DATABASE_URL must be a sqlite:, postgres:// or mysql:// URL; using the embedded SQLite ledger, payments are off until it is fixed",
            );
        }
        ok
    });
    let message_language = match get("messageLanguage").as_deref() {
        None | Some("zh" | "zh-CN" | "zh_CN") => crate::http::messages::Language::Zh,
        Some("en" | "en-US" | "en_US") => crate::http::messages::Language::En,
        Some(_) => {
            c.push(
                "messageLanguage",
                Severity::Invalid,
                "messageLanguage must be zh or en; using zh",
            );
            crate::http::messages::Language::Zh
        }
    };
    let host = match get("HOST") {
        None => "0.0.0.0".to_string(),
        Some(h) if h.parse::<std::net::IpAddr>().is_ok() => h,
        Some(_) => {
            c.push(
                "HOST",
                Severity::Invalid,
                "HOST must be an IP address such as 0.0.0.0 or 127.0.0.1; using 0.0.0.0",
            );
            "0.0.0.0".into()
        }
    };
    let host = match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => format!("[{v6}]"),
        _ => host,
    };
    Config {
        sign_mode,
        app_id,
        service_app_id: get("service_app_id"),
        credentials,
        notify_pay_url,
        notify_refund_url,
        notify_transfer_url,
        cors_allow_origins,
        auth_token_identity,
        auth_jwks,
        host,
        port,
        wechatpay_base_url: base.trim_end_matches('/').to_string(),
        wechatpay_timeout: Duration::from_millis(timeout_ms),
        admin_token,
        refund_policy,
        database_url,
        business_webhook_url,
        business_webhook_secret,
        order_expiry: Duration::from_secs(expiry_min * 60),
        reconcile_interval: Duration::from_secs(interval),
        reconcile_grace: Duration::from_secs(grace),
        cert_refresh: Duration::from_secs(cert_refresh * 60),
        max_body_bytes,
        max_in_flight,
        body_read_timeout: Duration::from_secs(body_read_timeout),
        header_read_timeout: Duration::from_secs(header_read_timeout),
        keep_alive_idle: Duration::from_secs(keep_alive_idle),
        gateway_query_budget: gateway_query_budget as u32,
        console_enabled: flag(get, "consoleEnabled"),
        console_simulator: flag(get, "consoleSimulator"),
        message_language,
        problems: c.0,
    }
}
