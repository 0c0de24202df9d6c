//! What the simulator is told about the merchant it serves and how to behave: read by the
//! shared state, the callback sender and the command line.

use std::sync::Arc;
use std::time::Duration;

use super::ids;
use wechatpay::crypto::{Clock, SystemClock, random_alphanumeric};
use wechatpay::keys::{MerchantKey, PublicKey};

/// How callbacks reach the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CallbackMode {
    /// WeChat posts the signed, encrypted notification directly (`signMode=sdk`).
    Sdk,
    /// Integration Center verifies and decrypts, then forwards `ParsedContent`/`ParsedNotify`/
    /// `rawData` with `x-tcb-integration-id` (`signMode=gateway`, the service default).
    #[default]
    Gateway,
}

/// Everything the simulator needs to know about the merchant it serves. `Debug` leaves the
/// APIv3 key out.
pub struct SimulatorConfig {
    /// The one merchant id the simulator knows.
    pub mchid: String,
    /// The merchant API certificate serial expected in `Authorization`.
    pub merchant_serial: String,
    /// The merchant's public key, used to verify request signatures.
    pub merchant_public_key: PublicKey,
    /// The 32-byte APIv3 key (AES-256-GCM for callbacks and certificates).
    pub api_v3_key: String,
    /// AppIDs bound to the merchant; empty accepts any.
    pub appids: Vec<String>,
    /// Id of the WeChat Pay public key (`PUB_KEY_ID_` + digits).
    pub public_key_id: String,
    /// The WeChat Pay public-key pair; generated when `None`.
    pub platform_key: Option<MerchantKey>,
    /// The platform certificate's key pair; generated when `None`.
    pub certificate_key: Option<MerchantKey>,
    /// Sign callbacks with the platform certificate instead of the public-key pair.
    pub sign_callbacks_with_certificate: bool,
    /// SDK (direct) or gateway (Integration Center) callbacks.
    pub callback_mode: CallbackMode,
    /// Base URL that stands in for the notify_url host (the notify_url path is kept).
    pub callback_target: Option<String>,
    /// Multiplier on WeChat's callback retry schedule (1.0 = real time).
    pub time_scale: f64,
    /// Pay every new order automatically after this long.
    pub auto_pay_after: Option<Duration>,
    /// Complete every new refund with SUCCESS after this long.
    pub auto_refund_after: Option<Duration>,
    /// Have the payee confirm every new transfer after this long.
    pub auto_confirm_after: Option<Duration>,
    /// The simulator's notion of now (timestamps checked and issued).
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SimulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatorConfig")
            .field("mchid", &self.mchid)
            .field("merchant_serial", &self.merchant_serial)
            .field("api_v3_key", &"<redacted>")
            .field("public_key_id", &self.public_key_id)
            .field("callback_mode", &self.callback_mode)
            .field("callback_target", &self.callback_target)
            .field("time_scale", &self.time_scale)
            .finish_non_exhaustive()
    }
}

impl SimulatorConfig {
    /// A configuration with generated keys, gateway callbacks and the real retry schedule.
    pub fn new(
        mchid: impl Into<String>,
        merchant_serial: impl Into<String>,
        merchant_public_key: PublicKey,
        api_v3_key: String,
    ) -> Self {
        Self {
            mchid: mchid.into(),
            merchant_serial: merchant_serial.into(),
            merchant_public_key,
            api_v3_key,
            appids: Vec::new(),
            public_key_id: generate_public_key_id(),
            platform_key: None,
            certificate_key: None,
            sign_callbacks_with_certificate: false,
            callback_mode: CallbackMode::Gateway,
            callback_target: None,
            time_scale: 1.0,
            auto_pay_after: None,
            auto_refund_after: None,
            auto_confirm_after: None,
            clock: Arc::new(SystemClock),
        }
    }
}

/// A random `PUB_KEY_ID_…` (exposed for callers building their own configuration).
pub fn generate_public_key_id() -> String {
    format!("PUB_KEY_ID_{}", ids::digits(28))
}

/// A random 32-character APIv3 key (demo and tests only).
pub fn generate_api_v3_key() -> String {
    random_alphanumeric(32)
}
