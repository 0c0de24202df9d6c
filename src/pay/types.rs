//! Newtypes for the identifiers and amounts that cross our edge. Each is parsed once, with
//! its rule in the constructor; below the handlers nothing handles these as raw strings.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A caller-fixable problem with one input field: names the field and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the field, e.g. `amount.total`.
    pub field: String,
    /// What the rule is, e.g. `must be a positive integer (fen)`.
    pub rule: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            rule: rule.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.field, self.rule)
    }
}

impl std::error::Error for FieldError {}

fn check_chars(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
    extra: &str,
    rule: &str,
) -> Result<(), FieldError> {
    let n = value.chars().count();
    let ok_chars = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || extra.contains(c));
    if n < min || n > max || !ok_chars {
        return Err(FieldError::new(field, rule));
    }
    Ok(())
}

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident, $field:literal, $min:literal, $max:literal, $extra:literal, $rule:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses the value, or names the field and the rule it breaks.
            pub fn parse(value: impl Into<String>) -> Result<Self, FieldError> {
                let value = value.into();
                check_chars($field, &value, $min, $max, $extra, $rule)?;
                Ok(Self(value))
            }
            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = FieldError;
            fn try_from(v: String) -> Result<Self, FieldError> {
                Self::parse(v)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_newtype!(
    /// Merchant order number: 6–32 of `[A-Za-z0-9_-|*]`, unique per merchant.
    OutTradeNo, "out_trade_no", 6, 32, "_-|*",
    "must be 6-32 characters of letters, digits, _ - | or *"
);
id_newtype!(
    /// Merchant refund number: 1–64 of `[A-Za-z0-9_-|*@]`.
    OutRefundNo, "out_refund_no", 1, 64, "_-|*@",
    "must be 1-64 characters of letters, digits, _ - | * or @"
);
id_newtype!(
    /// Merchant transfer bill number: 1–32 letters and digits only.
    OutBillNo, "out_bill_no", 1, 32, "",
    "must be 1-32 letters and digits (no _ or -)"
);
id_newtype!(
    /// A user's openid under our AppID.
    OpenId, "openid", 1, 128, "_-",
    "must be 1-128 characters of letters, digits, _ or -"
);
id_newtype!(
    /// WeChat's transaction id.
    TransactionId, "transaction_id", 1, 32, "",
    "must be 1-32 letters and digits"
);
id_newtype!(
    /// WeChat's transfer bill number.
    TransferBillNo, "transfer_bill_no", 1, 64, "",
    "must be 1-64 letters and digits"
);

impl OpenId {
    /// The openid with its middle hidden, for logs: `oUpF8u***WeS6o`.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Hides the middle of an identifier for logging.
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= 8 {
        return "***".into();
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 5..].iter().collect();
    format!("{head}***{tail}")
}

/// The largest amount we accept in one order, refund or transfer: 100 million CNY.
pub const MAX_AMOUNT_FEN: i64 = 10_000_000_000;

/// An amount of money in fen (1/100 CNY): a positive integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AmountFen(i64);

impl AmountFen {
    /// Parses a JSON value that must be a positive integer of fen; `field` names it in errors.
    pub fn from_json(field: &str, v: &serde_json::Value) -> Result<Self, FieldError> {
        let rule = "must be a positive integer (fen)";
        let n = v.as_i64().ok_or_else(|| FieldError::new(field, rule))?;
        Self::new(field, n)
    }
    /// Checks a positive integer amount.
    pub fn new(field: &str, fen: i64) -> Result<Self, FieldError> {
        if fen <= 0 {
            return Err(FieldError::new(field, "must be a positive integer (fen)"));
        }
        if fen > MAX_AMOUNT_FEN {
            return Err(FieldError::new(
                field,
                format!("must be at most {MAX_AMOUNT_FEN} fen"),
            ));
        }
        Ok(Self(fen))
    }
    /// The amount in fen.
    pub fn fen(self) -> i64 {
        self.0
    }
}

impl fmt::Display for AmountFen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} fen", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_trade_no_rules() {
        assert!(OutTradeNo::parse("ORDER_1700000000000").is_ok());
        assert!(OutTradeNo::parse("a|b*c-d").is_ok());
        for bad in ["short", "has space!", "中文订单号123", &"x".repeat(33)] {
            let e = OutTradeNo::parse(bad).unwrap_err();
            assert_eq!(e.field, "out_trade_no", "{bad}");
        }
    }

    #[test]
    fn out_bill_no_refuses_underscore() {
        assert!(OutBillNo::parse("BILL20240101").is_ok());
        assert!(OutBillNo::parse("BILL_1").is_err());
    }

    #[test]
    fn amounts_must_be_positive_integers() {
        use serde_json::json;
        assert_eq!(
            AmountFen::from_json("amount.total", &json!(20))
                .unwrap()
                .fen(),
            20
        );
        for bad in [json!(0), json!(-1), json!(1.5), json!("20"), json!(null)] {
            let e = AmountFen::from_json("amount.total", &bad).unwrap_err();
            assert_eq!(
                e.to_string(),
                "amount.total must be a positive integer (fen)"
            );
        }
        assert!(AmountFen::new("x", MAX_AMOUNT_FEN + 1).is_err());
    }

    #[test]
    fn masking_hides_the_middle() {
        assert_eq!(mask("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"), "oUpF8u***WeS6o");
        assert_eq!(mask("short"), "***");
    }
}
