//! One request type per WeChat Pay endpoint this service calls, each naming its official doc
//! page. Bodies are serialised once by the caller and carried as bytes, so what is signed is
//! exactly what is sent (and what a retry resends).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use super::client::{Endpoint, Method};
use super::model::{Refund, Transaction, TransferBill};

/// Characters escaped in a path segment: everything but `A-Za-z0-9-_.~` (so `|` → `%7C`).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes one path segment.
pub fn segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// `{"prepay_id": …}` (JSAPI and APP).
#[derive(Debug, Clone, Deserialize)]
pub struct PrepayId {
    /// Valid for 2 hours.
    pub prepay_id: String,
}

/// `{"code_url": …}` (Native).
#[derive(Debug, Clone, Deserialize)]
pub struct CodeUrl {
    /// Render as a QR code.
    pub code_url: String,
}

/// `{"h5_url": …}` (H5).
#[derive(Debug, Clone, Deserialize)]
pub struct H5Url {
    /// Redirect the mobile browser here.
    pub h5_url: String,
}

macro_rules! body_endpoint {
    ($(#[$doc:meta])* $name:ident, $out:ty, $path:literal, $docurl:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            /// The exact JSON body.
            pub body: Vec<u8>,
        }
        impl Endpoint for $name {
            type Output = $out;
            const DOC: &'static str = $docurl;
            const METHOD: Method = Method::Post;
            fn target(&self) -> String {
                $path.to_string()
            }
            fn body(&self) -> Option<&[u8]> {
                Some(&self.body)
            }
        }
    };
}

body_endpoint!(
    /// JSAPI / Mini Program order.
    JsapiOrder, PrepayId, "/v3/pay/transactions/jsapi", "https://pay.weixin.qq.com/docs/merchant/apis/jsapi-payment/direct-jsons/jsapi-prepay.html"
);
body_endpoint!(
    /// APP order.
    AppOrder, PrepayId, "/v3/pay/transactions/app", "https://pay.weixin.qq.com/docs/merchant/apis/in-app-payment/direct-jsons/app-prepay.html"
);
body_endpoint!(
    /// H5 order.
    H5Order, H5Url, "/v3/pay/transactions/h5", "https://pay.weixin.qq.com/docs/merchant/apis/h5-payment/direct-jsons/h5-prepay.html"
);
body_endpoint!(
    /// Native (QR code) order.
    NativeOrder, CodeUrl, "/v3/pay/transactions/native", "https://pay.weixin.qq.com/docs/merchant/apis/native-payment/direct-jsons/native-prepay.html"
);
body_endpoint!(
    /// Domestic refund.
    CreateRefund, Refund, "/v3/refund/domestic/refunds", "https://pay.weixin.qq.com/docs/merchant/apis/refund/refunds/create.html"
);
body_endpoint!(
    /// Merchant transfer bill (2025 transfer API). `user_name` inside must already be encrypted.
    CreateTransfer, TransferBill, "/v3/fund-app/mch-transfer/transfer-bills",
    "pay.weixin.qq.com merchant docs, 商家转账 > 发起转账 (POST /v3/fund-app/mch-transfer/transfer-bills)"
);

macro_rules! get_endpoint {
    ($(#[$doc:meta])* $name:ident { $($field:ident),* }, $out:ty, $docurl:literal, |$s:ident| $target:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            $(
                /// Path or query parameter.
                pub $field: String,
            )*
        }
        impl Endpoint for $name {
            type Output = $out;
            const DOC: &'static str = $docurl;
            const METHOD: Method = Method::Get;
            fn target(&self) -> String {
                let $s = self;
                $target
            }
        }
    };
}

get_endpoint!(
    /// Query an order by our number.
    QueryByOutTradeNo { out_trade_no, mchid }, Transaction, "https://pay.weixin.qq.com/docs/merchant/apis/jsapi-payment/query-by-out-trade-no.html",
    |s| format!("/v3/pay/transactions/out-trade-no/{}?mchid={}", segment(&s.out_trade_no), segment(&s.mchid))
);
get_endpoint!(
    /// Query an order by WeChat's transaction id.
    QueryByTransactionId { transaction_id, mchid }, Transaction,
    "https://pay.weixin.qq.com/docs/merchant/apis/jsapi-payment/query-by-wx-trade-no.html",
    |s| format!("/v3/pay/transactions/id/{}?mchid={}", segment(&s.transaction_id), segment(&s.mchid))
);
get_endpoint!(
    /// Query a refund.
    QueryRefund { out_refund_no }, Refund, "https://pay.weixin.qq.com/docs/merchant/apis/refund/refunds/query-by-out-refund-no.html",
    |s| format!("/v3/refund/domestic/refunds/{}", segment(&s.out_refund_no))
);
get_endpoint!(
    /// Query a transfer by our bill number.
    QueryTransferByOutBillNo { out_bill_no }, TransferBill, "pay.weixin.qq.com merchant docs, 商家转账 > 商户单号查询转账单",
    |s| format!("/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{}", segment(&s.out_bill_no))
);
get_endpoint!(
    /// Query a transfer by WeChat's bill number.
    QueryTransferByBillNo { transfer_bill_no }, TransferBill,
    "pay.weixin.qq.com merchant docs, 商家转账 > 微信单号查询转账单",
    |s| format!("/v3/fund-app/mch-transfer/transfer-bills/transfer-bill-no/{}", segment(&s.transfer_bill_no))
);

/// Close an unpaid order: 204, signed.
#[derive(Debug, Clone)]
pub struct CloseOrder {
    /// Our order number.
    pub out_trade_no: String,
    /// `{"mchid":"…"}`.
    pub body: Vec<u8>,
}

impl CloseOrder {
    /// The close request for an order of merchant `mchid`.
    pub fn new(out_trade_no: &str, mchid: &str) -> Self {
        let body = serde_json::json!({ "mchid": mchid })
            .to_string()
            .into_bytes();
        Self {
            out_trade_no: out_trade_no.into(),
            body,
        }
    }
}

impl Endpoint for CloseOrder {
    type Output = ();
    const DOC: &'static str =
        "https://pay.weixin.qq.com/docs/merchant/apis/jsapi-payment/close-order.html";
    const METHOD: Method = Method::Post;
    fn target(&self) -> String {
        format!(
            "/v3/pay/transactions/out-trade-no/{}/close",
            segment(&self.out_trade_no)
        )
    }
    fn body(&self) -> Option<&[u8]> {
        Some(&self.body)
    }
}

/// Cancel a transfer before the user confirms it (empty body, signed as such).
#[derive(Debug, Clone)]
pub struct CancelTransfer {
    /// Our bill number.
    pub out_bill_no: String,
}

impl Endpoint for CancelTransfer {
    type Output = TransferBill;
    const DOC: &'static str = "pay.weixin.qq.com merchant docs, 商家转账 > 撤销转账";
    const METHOD: Method = Method::Post;
    fn target(&self) -> String {
        format!(
            "/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{}/cancel",
            segment(&self.out_bill_no)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_escaped_like_the_sdks() {
        assert_eq!(segment("a|b*c-d_e"), "a%7Cb%2Ac-d_e");
        let q = QueryByOutTradeNo {
            out_trade_no: "ORDER_1".into(),
            mchid: "1900007291".into(),
        };
        assert_eq!(
            q.target(),
            "/v3/pay/transactions/out-trade-no/ORDER_1?mchid=1900007291"
        );
    }
}
