//! `pay-common check-config`: the start-up validation as a readable report.

use crate::config::{Config, Severity};

const CHECKED: &[&str] = &[
    "signMode",
    "appId",
    "service_app_id",
    "merchantId",
    "apiV3Key",
    "merchantSerialNumber",
    "privateKey",
    "wxPayPublicKey",
    "wxPayPublicKeyId",
    "notifyURLPayURL",
    "notifyURLRefundsURL",
    "transferNotifyUrl",
    "corsAllowOrigin",
    "PAY_COMMON_ADMIN_TOKEN",
    "refundPolicy",
    "DATABASE_URL",
    "businessWebhookUrl",
    "businessWebhookSecret",
    "wechatpayBaseUrl",
    "authTokenIdentity",
    "authJwksFile",
    "messageLanguage",
    "maxBodyBytes",
    "maxInFlight",
    "bodyReadTimeoutSeconds",
    "headerReadTimeoutSeconds",
    "keepAliveIdleSeconds",
    "gatewayQueryBudgetPerMinute",
];

/// Renders the report; `store` is what opening the ledger said (see `store::open::check`).
/// The second value is whether payments can be taken.
pub fn render(
    config: &Config,
    is_set: impl Fn(&str) -> bool,
    store: &Result<String, String>,
) -> (String, bool) {
    let mut out = String::from("pay-common configuration check (values are never printed)\n\n");
    for var in CHECKED {
        let problems: Vec<_> = config.problems.iter().filter(|p| p.var == *var).collect();
        let mark = match problems.iter().map(|p| p.severity).min_by_key(|s| match s {
            Severity::Missing | Severity::Invalid => 0,
            Severity::Warning => 1,
        }) {
            Some(Severity::Missing) => "MISSING",
            Some(Severity::Invalid) => "INVALID",
            Some(Severity::Warning) => "WARN",
            None if is_set(var) => "ok",
            None => "-",
        };
        out.push_str(&format!("  {mark:<8} {var}\n"));
        for p in problems {
            out.push_str(&format!("           {}\n", p.message));
        }
    }
    let ready = config.can_take_payments() && store.is_ok();
    out.push_str(&format!(
        "\nWeChat Pay base URL: {}\n",
        config.wechatpay_base_url
    ));
    match store {
        Ok(state) => out.push_str(&format!("Ledger (DATABASE_URL): ok, {state}\n")),
        Err(cause) => out.push_str(&format!(
            "Ledger (DATABASE_URL): UNAVAILABLE, {cause}\n           (the service still starts, answers 503 STORE_UNAVAILABLE and reconnects in the background)\n"
        )),
    }
    if ready {
        out.push_str("Result: ready to take payments.\n");
    } else if config.can_take_payments() {
        out.push_str("Result: NOT ready — the ledger above must be reachable and writable.\n");
    } else {
        let n = config.blocking_problems().len();
        out.push_str(&format!(
            "Result: NOT ready — {n} problem(s) above must be fixed before payments work.\n"
        ));
    }
    (out, ready)
}
