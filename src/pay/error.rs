//! The pay layer's one error type: everything a route can fail with, as data. The HTTP edge
//! maps it to status, `error` code and message in one place.

use super::service::ServiceError;
use super::types::FieldError;
use crate::wechatpay::client::WechatError;

/// Why a payment operation did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayError {
    /// Bad input: names the field and the rule.
    Field(FieldError),
    /// Merchant credentials are missing or invalid: names the variables.
    MissingCredentials(Vec<String>),
    /// No caller identity where one is needed.
    Unauthenticated(String),
    /// The caller may not do this.
    Forbidden {
        /// Machine code.
        code: &'static str,
        /// Reason.
        message: String,
    },
    /// Something we do not have (e.g. an order the caller may see, but that is not recorded).
    NotFound(String),
    /// The order service refused or failed.
    Service(ServiceError),
    /// WeChat refused, failed or could not be verified.
    Wechat(WechatError),
}

impl From<FieldError> for PayError {
    fn from(e: FieldError) -> Self {
        Self::Field(e)
    }
}

impl From<ServiceError> for PayError {
    fn from(e: ServiceError) -> Self {
        Self::Service(e)
    }
}

impl From<WechatError> for PayError {
    fn from(e: WechatError) -> Self {
        Self::Wechat(e)
    }
}

impl PayError {
    /// A forbidden error.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for PayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Field(e) => write!(f, "{e}"),
            Self::MissingCredentials(v) => {
                write!(f, "missing or invalid credentials: {}", v.join(", "))
            }
            Self::Unauthenticated(m) | Self::NotFound(m) => f.write_str(m),
            Self::Forbidden { message, .. } => f.write_str(message),
            Self::Service(e) => write!(f, "{e}"),
            Self::Wechat(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for PayError {}
