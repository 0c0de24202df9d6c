//! Order access tokens: what a page without identity (H5, Native, APP orders have no payer) shows
//! to follow and close the one order it placed, like a payment intent's client secret. A token is
//! an HMAC of the order number under a key derived from the APIv3 key, so an idempotent repeat of
//! an order gets the same token, nothing is stored, and a guessed order number opens nothing.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::error::PayError;
use super::payments::{Caller, Payments};
use super::requests::OrderLookup;
use super::service::OrderView;
use super::types::OutTradeNo;
use crate::wechatpay::crypto::constant_time_eq;

const PREFIX: &str = "ot_";

fn key(api_v3_key: &str) -> hmac::Key {
    let root = hmac::Key::new(hmac::HMAC_SHA256, api_v3_key.as_bytes());
    let derived = hmac::sign(&root, b"pay-common order access token v1");
    hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref())
}

/// The access token of one order.
pub fn token_for(api_v3_key: &str, out_trade_no: &OutTradeNo) -> String {
    let tag = hmac::sign(&key(api_v3_key), out_trade_no.as_str().as_bytes());
    format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&tag.as_ref()[..24]))
}

/// Does `token` open `out_trade_no`? Constant-time.
pub fn token_opens(api_v3_key: &str, out_trade_no: &OutTradeNo, token: &str) -> bool {
    constant_time_eq(
        token_for(api_v3_key, out_trade_no).as_bytes(),
        token.trim().as_bytes(),
    )
}

/// Removes the payer's openid from a WeChat transaction answer (token holders never see it).
pub fn redact_payer(answer: &mut Value) {
    if let Some(obj) = answer.as_object_mut() {
        obj.remove("payer");
    }
}

impl Payments {
    /// The order token for an order, when credentials are configured.
    pub fn order_token(&self, out_trade_no: &OutTradeNo) -> Option<String> {
        let creds = self.config.credentials.as_ref()?;
        Some(token_for(creds.api_v3_key.expose(), out_trade_no))
    }

    /// Access to one order for query, view and close: the admin, the owner, or (for anyone who
    /// is neither) a valid body `order_token`. Returns the stored order and whether the answer
    /// must hide the payer (token access).
    pub async fn order_access(
        &self,
        caller: &Caller,
        lookup: &OrderLookup,
    ) -> Result<(Option<OrderView>, bool), PayError> {
        let no = &lookup.out_trade_no;
        let token = lookup.order_token.as_deref();
        let Some(token) = token.filter(|_| !caller.admin) else {
            return Ok((self.owned_order(caller, no).await?, false));
        };
        let order = self.book.find_order(no).await?;
        let opens = self
            .config
            .credentials
            .as_ref()
            .is_some_and(|c| token_opens(c.api_v3_key.expose(), no, token));
        match order {
            Some(o) if opens => Ok((Some(o), true)),
            None => Err(PayError::NotFound(format!("order {no} is not recorded"))),
            Some(_) => Err(PayError::forbidden(
                "INVALID_ORDER_TOKEN",
                format!(
                    "order_token does not open order {no}; use the order_token returned when this order was placed"
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_stable_per_order_and_opens_only_it() {
        let a = OutTradeNo::parse("order-a").unwrap();
        let b = OutTradeNo::parse("order-b").unwrap();
        let k = "0123456789abcdef0123456789abcdef";
        let t = token_for(k, &a);
        assert_eq!(t, token_for(k, &a));
        assert!(t.starts_with(PREFIX));
        assert!(token_opens(k, &a, &t));
        assert!(!token_opens(k, &b, &t));
        assert!(!token_opens("ffffffffffffffffffffffffffffffff", &a, &t));
        assert!(!token_opens(k, &a, ""));
    }
}
