//! Client invoke parameters: what `wx.requestPayment` (JSAPI) and the APP SDK need, signed with
//! the merchant key. See <https://pay.weixin.qq.com/doc/v3/merchant/4012365341>.

use serde::Serialize;

use super::crypto;
use super::keys::MerchantKey;

/// `wx.requestPayment` parameters (plus `appId` and `prepay_id`, which the old function returned).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct JsapiInvoke {
    /// AppID the order was placed under (signed).
    pub app_id: String,
    /// The raw prepay id.
    #[serde(rename = "prepay_id")]
    pub prepay_id: String,
    /// Unix seconds, as a string.
    pub time_stamp: String,
    /// 32-character nonce.
    pub nonce_str: String,
    /// `prepay_id=…`.
    pub package: String,
    /// Always `RSA`.
    pub sign_type: &'static str,
    /// Base64 SHA256withRSA over `appId\ntimeStamp\nnonceStr\npackage\n`.
    pub pay_sign: String,
}

/// Signs JSAPI invoke parameters.
pub fn jsapi(
    key: &MerchantKey,
    app_id: &str,
    prepay_id: &str,
    timestamp: i64,
    nonce: &str,
) -> JsapiInvoke {
    let package = format!("prepay_id={prepay_id}");
    let time_stamp = timestamp.to_string();
    let pay_sign = key.sign(&crypto::jsapi_pay_message(
        app_id,
        &time_stamp,
        nonce,
        &package,
    ));
    JsapiInvoke {
        app_id: app_id.into(),
        prepay_id: prepay_id.into(),
        time_stamp,
        nonce_str: nonce.into(),
        package,
        sign_type: "RSA",
        pay_sign,
    }
}

/// APP SDK invoke parameters (`PayReq`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AppInvoke {
    /// Mobile AppID.
    pub appid: String,
    /// Merchant id.
    pub partnerid: String,
    /// Raw prepay id.
    pub prepayid: String,
    /// Always `Sign=WXPay`.
    pub package: &'static str,
    /// Nonce.
    pub noncestr: String,
    /// Unix seconds, as a string.
    pub timestamp: String,
    /// Base64 SHA256withRSA over `appid\ntimestamp\nnoncestr\nprepayid\n`.
    pub sign: String,
}

/// Signs APP invoke parameters.
pub fn app(
    key: &MerchantKey,
    app_id: &str,
    mchid: &str,
    prepay_id: &str,
    timestamp: i64,
    nonce: &str,
) -> AppInvoke {
    let ts = timestamp.to_string();
    let sign = key.sign(&crypto::app_pay_message(app_id, &ts, nonce, prepay_id));
    AppInvoke {
        appid: app_id.into(),
        partnerid: mchid.into(),
        prepayid: prepay_id.into(),
        package: "Sign=WXPay",
        noncestr: nonce.into(),
        timestamp: ts,
        sign,
    }
}
