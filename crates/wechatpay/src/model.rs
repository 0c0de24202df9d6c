//! WeChat Pay's own objects as they appear in API answers and decrypted callbacks. Unknown
//! fields are ignored, optional ones default, so a new field on WeChat's side never breaks us.

use serde::{Deserialize, Serialize};

/// The payer of a transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payer {
    /// The payer's openid under the order's AppID.
    #[serde(default)]
    pub openid: String,
}

/// Amounts of a transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionAmount {
    /// Order total in fen.
    #[serde(default)]
    pub total: Option<i64>,
    /// What the user paid in fen.
    #[serde(default)]
    pub payer_total: Option<i64>,
    /// Currency, `CNY`.
    #[serde(default)]
    pub currency: Option<String>,
    /// The user's currency.
    #[serde(default)]
    pub payer_currency: Option<String>,
}

/// A transaction (order query answer and `TRANSACTION.*` callback plaintext).
/// See <https://pay.weixin.qq.com/doc/v3/merchant/4012791901>.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// AppID the order was placed under.
    #[serde(default)]
    pub appid: String,
    /// Merchant id.
    #[serde(default)]
    pub mchid: String,
    /// Our order number.
    #[serde(default)]
    pub out_trade_no: String,
    /// WeChat's transaction id (once paid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// JSAPI, NATIVE, APP, MWEB, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_type: Option<String>,
    /// SUCCESS, REFUND, NOTPAY, CLOSED, REVOKED, USERPAYING, PAYERROR.
    #[serde(default)]
    pub trade_state: String,
    /// Human description of the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_state_desc: Option<String>,
    /// Payment time, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    /// The payer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<Payer>,
    /// Amounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<TransactionAmount>,
    /// Merchant data echoed back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
}

/// Amounts of a refund.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundAmount {
    /// Order total in fen.
    #[serde(default)]
    pub total: Option<i64>,
    /// Refund amount in fen.
    #[serde(default)]
    pub refund: Option<i64>,
    /// Currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// A refund: the refund API's answer, and the `REFUND.*` callback plaintext (which names the
/// state `refund_status` instead of `status`).
/// See <https://pay.weixin.qq.com/docs/merchant/apis/refund/refunds/create.html>.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    /// Merchant id (callbacks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mchid: Option<String>,
    /// WeChat's refund id.
    #[serde(default)]
    pub refund_id: String,
    /// Our refund number.
    #[serde(default)]
    pub out_refund_no: String,
    /// WeChat's transaction id.
    #[serde(default)]
    pub transaction_id: String,
    /// Our order number.
    #[serde(default)]
    pub out_trade_no: String,
    /// SUCCESS, CLOSED, PROCESSING, ABNORMAL.
    #[serde(default, alias = "refund_status")]
    pub status: String,
    /// When it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    /// Amounts.
    #[serde(default)]
    pub amount: RefundAmount,
}

/// A merchant transfer bill (create, query and `MCHTRANSFER.BILL.FINISHED` plaintext).
/// See pay.weixin.qq.com merchant docs, 商家转账 > 发起转账 / 查询转账单 / 转账回调.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferBill {
    /// Merchant id (`mch_id` in queries, `mchid` on some pages).
    #[serde(default, alias = "mchid", skip_serializing_if = "Option::is_none")]
    pub mch_id: Option<String>,
    /// Our bill number.
    #[serde(default)]
    pub out_bill_no: String,
    /// WeChat's bill number.
    #[serde(default)]
    pub transfer_bill_no: String,
    /// ACCEPTED, PROCESSING, WAIT_USER_CONFIRM, TRANSFERING, SUCCESS, FAIL, CANCELING, CANCELLED.
    #[serde(default)]
    pub state: String,
    /// Amount in fen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_amount: Option<i64>,
    /// Payee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<String>,
    /// What the client passes to `wx.requestMerchantTransfer` (WAIT_USER_CONFIRM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_info: Option<String>,
}

impl TransferBill {
    /// SUCCESS, FAIL and CANCELLED are final.
    pub fn is_final(&self) -> bool {
        matches!(self.state.as_str(), "SUCCESS" | "FAIL" | "CANCELLED")
    }
}

/// The encrypted part of a notification.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyResource {
    /// `AEAD_AES_256_GCM`.
    #[serde(default)]
    pub algorithm: String,
    /// Base64(ciphertext ‖ tag).
    #[serde(default)]
    pub ciphertext: String,
    /// AAD; may be empty.
    #[serde(default)]
    pub associated_data: String,
    /// e.g. `transaction`, `refund`, `mch_payment`.
    #[serde(default)]
    pub original_type: String,
    /// 12-character nonce.
    #[serde(default)]
    pub nonce: String,
}

/// A notification envelope as WeChat posts it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyEnvelope {
    /// Unique notification id: the replay key.
    #[serde(default)]
    pub id: String,
    /// RFC 3339.
    #[serde(default)]
    pub create_time: String,
    /// e.g. `TRANSACTION.SUCCESS`.
    #[serde(default)]
    pub event_type: String,
    /// `encrypt-resource`.
    #[serde(default)]
    pub resource_type: String,
    /// e.g. `支付成功`.
    #[serde(default)]
    pub summary: String,
    /// The encrypted object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<NotifyResource>,
}

/// What kind of object a notification carries, from its `event_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyKind {
    /// `TRANSACTION.*`.
    Payment,
    /// `REFUND.*`.
    Refund,
    /// `MCHTRANSFER.*`.
    Transfer,
}

impl NotifyKind {
    /// Routes an `event_type`; `None` for events this service does not handle.
    pub fn from_event_type(event_type: &str) -> Option<Self> {
        match event_type {
            "TRANSACTION.SUCCESS" | "TRANSACTION.FAIL" => Some(Self::Payment),
            "REFUND.SUCCESS" | "REFUND.ABNORMAL" | "REFUND.CLOSED" => Some(Self::Refund),
            "MCHTRANSFER.TRANSFER.SUCCESS"
            | "MCHTRANSFER.TRANSFER.FAIL"
            | "MCHTRANSFER.BILL.FINISHED" => Some(Self::Transfer),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Request bodies: what we send, built as types and serialised once (a retry resends the bytes).

/// `amount` of an order request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderAmount {
    /// Total in fen.
    pub total: i64,
    /// `CNY`.
    pub currency: String,
}

/// The body of a JSAPI, APP, H5 or Native order (`/v3/pay/transactions/{jsapi,app,h5,native}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderBody {
    /// AppID the order is placed under.
    pub appid: String,
    /// Merchant id.
    pub mchid: String,
    /// What the user sees on the bill.
    pub description: String,
    /// Our order number.
    pub out_trade_no: String,
    /// RFC 3339 expiry.
    pub time_expire: String,
    /// Where WeChat posts the pay notice.
    pub notify_url: String,
    /// Total and currency.
    pub amount: OrderAmount,
    /// The payer (JSAPI only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payer: Option<Payer>,
    /// Optional fields passed through unchanged (`attach`, `goods_tag`, `support_fapiao`,
    /// `detail`, `scene_info`, `settle_info`).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `amount` of a refund request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundBodyAmount {
    /// Amount to refund (fen).
    pub refund: i64,
    /// The order's paid total (fen).
    pub total: i64,
    /// `CNY`.
    pub currency: String,
}

/// The body of `POST /v3/refund/domestic/refunds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundBody {
    /// The order refunded, by WeChat's transaction id (one of the two names the order).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// The order refunded, by the merchant's number (left out when empty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub out_trade_no: String,
    /// Our refund number.
    pub out_refund_no: String,
    /// Shown to the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Where WeChat posts the refund notice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    /// Amounts.
    pub amount: RefundBodyAmount,
}

/// One `transfer_scene_report_infos` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferSceneReportInfo {
    /// e.g. `活动名称`.
    pub info_type: String,
    /// e.g. `新会员有礼`.
    pub info_content: String,
}

/// The body of `POST /v3/fund-app/mch-transfer/transfer-bills`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferBody {
    /// AppID.
    pub appid: String,
    /// Our bill number.
    pub out_bill_no: String,
    /// Transfer scene id.
    pub transfer_scene_id: String,
    /// Payee openid under `appid`.
    pub openid: String,
    /// Amount (fen).
    pub transfer_amount: i64,
    /// Shown to the payee.
    pub transfer_remark: String,
    /// The payee's real name, RSA-OAEP encrypted to the WeChat Pay key named in
    /// `Wechatpay-Serial` (set it with [`TransferBody::encrypt_user_name`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// Where WeChat posts the transfer notice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    /// How the payee perceives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_recv_perception: Option<String>,
    /// What the scene requires to be reported.
    pub transfer_scene_report_infos: Vec<TransferSceneReportInfo>,
}

impl TransferBody {
    /// Sets `user_name` to `name` encrypted with RSA-OAEP (SHA-1) to `key`, Base64.
    pub fn encrypt_user_name(
        &mut self,
        name: &str,
        key: &super::keys::PublicKey,
    ) -> Result<(), super::keys::KeyError> {
        self.user_name = Some(key.encrypt_oaep(name)?);
        Ok(())
    }
}

/// Serialises a request body once; a retry resends these bytes.
pub fn body_bytes<T: Serialize>(body: &T) -> Vec<u8> {
    serde_json::to_vec(body).expect("request bodies serialise")
}

#[cfg(test)]
mod request_body_tests {
    use super::*;
    use crate::keys::MerchantKey;

    #[test]
    fn transfer_bodies_encrypt_the_name_and_omit_what_is_unset() {
        let key = MerchantKey::generate();
        let mut body = TransferBody {
            appid: "wx1".into(),
            out_bill_no: "BILL1".into(),
            transfer_scene_id: "1000".into(),
            openid: "o1".into(),
            transfer_amount: 300_000,
            transfer_remark: "prize".into(),
            user_name: None,
            notify_url: None,
            user_recv_perception: None,
            transfer_scene_report_infos: vec![TransferSceneReportInfo {
                info_type: "活动名称".into(),
                info_content: "新会员有礼".into(),
            }],
        };
        let plain: serde_json::Value = serde_json::from_slice(&body_bytes(&body)).unwrap();
        assert!(plain.get("user_name").is_none() && plain.get("notify_url").is_none());
        body.encrypt_user_name("张三", &key.public_key()).unwrap();
        let sent: serde_json::Value = serde_json::from_slice(&body_bytes(&body)).unwrap();
        let cipher = sent["user_name"].as_str().unwrap();
        assert_ne!(cipher, "张三");
        assert_eq!(key.decrypt_oaep(cipher).unwrap(), "张三");
        assert_eq!(
            sent["transfer_scene_report_infos"][0]["info_type"],
            "活动名称"
        );
    }

    #[test]
    fn order_bodies_flatten_pass_through_fields() {
        let mut extra = serde_json::Map::new();
        extra.insert("attach".into(), "a".into());
        let body = OrderBody {
            appid: "wx1".into(),
            mchid: "1900000001".into(),
            description: "Tea".into(),
            out_trade_no: "ORDER_1".into(),
            time_expire: "2026-01-01T00:00:00+08:00".into(),
            notify_url: "https://x/notify".into(),
            amount: OrderAmount {
                total: 20,
                currency: "CNY".into(),
            },
            payer: None,
            extra,
        };
        let v: serde_json::Value = serde_json::from_slice(&body_bytes(&body)).unwrap();
        assert_eq!(
            (v["attach"].as_str(), v["amount"]["total"].as_i64()),
            (Some("a"), Some(20))
        );
        assert!(v.get("payer").is_none());
    }
}
