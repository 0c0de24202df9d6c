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
