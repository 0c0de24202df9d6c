//! Configuration: the Integration Center environment variables (names fixed by CloudBase) plus
//! our own, read from the process environment over an optional `.env` file. Validation runs once
//! at start-up and its result is kept: the service starts even when credentials are missing, so
//! `/healthz`, `check-config` and every WeChat-bound route can say what is wrong — by variable
//! name, never by value.

mod validate;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::wechatpay::keys::{MerchantKey, PublicKey};
pub use validate::{Problem, Severity};

/// Default WeChat Pay API host.
pub const DEFAULT_WECHATPAY_BASE_URL: &str = "https://api.mch.weixin.qq.com";

/// How callbacks reach us (informational: both shapes are authenticated either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignMode {
    /// Integration Center verifies, decrypts and forwards (`ParsedContent`).
    Gateway,
    /// WeChat posts the signed, encrypted notification to us directly.
    Sdk,
}

/// Who may refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundPolicy {
    /// Only the admin credential (default).
    AdminOnly,
    /// Also a user, for a full refund of their own paid order.
    OwnerFull,
}

/// A secret string whose `Debug` prints nothing.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The secret value; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The merchant credentials, present only when all of them parsed.
#[derive(Debug)]
pub struct Credentials {
    /// Merchant id.
    pub mchid: String,
    /// Merchant API certificate serial (uppercase hex).
    pub merchant_serial: String,
    /// Merchant API private key.
    pub private_key: Arc<MerchantKey>,
    /// APIv3 key (32 bytes).
    pub api_v3_key: Secret,
    /// WeChat Pay public key and its id (public-key mode), when configured.
    pub wechatpay_public_key: Option<(String, PublicKey)>,
}

/// Everything the service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `signMode`.
    pub sign_mode: SignMode,
    /// `appId`.
    pub app_id: Option<String>,
    /// `service_app_id`.
    pub service_app_id: Option<String>,
    /// Parsed merchant credentials, `None` when any is missing or invalid (see `problems`).
    pub credentials: Option<Arc<Credentials>>,
    /// `notifyURLPayURL`.
    pub notify_pay_url: Option<String>,
    /// `notifyURLRefundsURL`.
    pub notify_refund_url: Option<String>,
    /// `transferNotifyUrl`.
    pub notify_transfer_url: Option<String>,
    /// `corsAllowOrigin`, split on commas.
    pub cors_allow_origins: Vec<String>,
    /// `HOST`.
    pub host: String,
    /// `PORT`.
    pub port: u16,
    /// `wechatpayBaseUrl`.
    pub wechatpay_base_url: String,
    /// `wechatpayTimeoutMs`.
    pub wechatpay_timeout: Duration,
    /// `PAY_COMMON_ADMIN_TOKEN`.
    pub admin_token: Option<Secret>,
    /// `refundPolicy`.
    pub refund_policy: RefundPolicy,
    /// `DATABASE_URL` (`None` = the embedded SQLite default).
    pub database_url: Option<String>,
    /// `businessWebhookUrl`.
    pub business_webhook_url: Option<String>,
    /// `businessWebhookSecret`.
    pub business_webhook_secret: Option<Secret>,
    /// `orderExpireMinutes`.
    pub order_expiry: Duration,
    /// `reconcileIntervalSeconds` (zero = off).
    pub reconcile_interval: Duration,
    /// `reconcileGraceSeconds`.
    pub reconcile_grace: Duration,
    /// `certRefreshMinutes` (platform-certificate mode).
    pub cert_refresh: Duration,
    /// `maxBodyBytes`.
    pub max_body_bytes: usize,
    /// `maxInFlight`: requests processed at once before shedding with 503.
    pub max_in_flight: usize,
    /// `bodyReadTimeoutSeconds`: a request body must arrive within this (else 408).
    pub body_read_timeout: Duration,
    /// `headerReadTimeoutSeconds`: request headers must arrive within this (else the connection
    /// is closed); also bounds the wait for the next request on a kept-alive connection.
    pub header_read_timeout: Duration,
    /// `keepAliveIdleSeconds`: a kept-alive connection with no traffic is closed after this.
    pub keep_alive_idle: Duration,
    /// `gatewayQueryBudgetPerMinute`: WeChat queries that ciphertext-less gateway forwards may
    /// cause per instance and minute (0 = none: such forwards are answered FAIL).
    pub gateway_query_budget: u32,
    /// `consoleEnabled`: serve the local web console at `/console/` (behind the admin credential).
    pub console_enabled: bool,
    /// `consoleSimulator`: the console also offers the simulator's phone buttons (the demo sets it;
    /// the simulator's control API is reached at `wechatpayBaseUrl`).
    pub console_simulator: bool,
    /// `authTokenIdentity` (default on): a CloudBase Auth Bearer JWT is the caller's identity.
    pub auth_token_identity: bool,
    /// `authJwksFile`: when set, Bearer JWT signatures must verify against these keys.
    pub auth_jwks: Option<Arc<crate::http::jwt::Jwks>>,
    /// `messageLanguage`: `zh` (default) or `en`.
    pub message_language: crate::http::messages::Language,
    /// Everything validation found, by variable.
    pub problems: Vec<Problem>,
}

impl Config {
    /// Reads the process environment, over `./.env` when present (the environment wins).
    pub fn from_env() -> Self {
        let mut vars: HashMap<String, String> = HashMap::new();
        if let Ok(iter) = dotenvy::from_path_iter(".env") {
            for (k, v) in iter.flatten() {
                vars.insert(k, v);
            }
        }
        vars.extend(std::env::vars());
        Self::from_lookup(|name| vars.get(name).cloned())
    }

    /// Builds and validates the configuration from any variable source (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        validate::build(&|name: &str| {
            get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        })
    }

    /// Variables whose problems stop payments, named for `MISSING_CREDENTIALS`.
    pub fn blocking_problems(&self) -> Vec<&Problem> {
        self.problems
            .iter()
            .filter(|p| p.severity != Severity::Warning)
            .collect()
    }

    /// Can this configuration take payments?
    pub fn can_take_payments(&self) -> bool {
        self.credentials.is_some() && self.blocking_problems().is_empty()
    }

    /// The AppID for an order: `appId`, or `service_app_id` when asked for.
    pub fn app_id_for(&self, use_service_account: bool) -> Option<&str> {
        if use_service_account {
            self.service_app_id.as_deref()
        } else {
            self.app_id.as_deref()
        }
    }
}

#[cfg(test)]
mod tests;
