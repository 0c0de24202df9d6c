//! What can go wrong with a call to WeChat Pay: WeChat's own error answer kept as data, and
//! every other way a call ends without a verified answer. Shared by the client and the
//! platform-certificate refresh, so neither has to import the other for it.

use super::crypto::VerifyError;

/// What WeChat answered with an error, kept as data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WechatRefusal {
    /// HTTP status.
    pub status: u16,
    /// WeChat's code, e.g. `ORDERPAID`, `PARAM_ERROR`.
    pub code: String,
    /// WeChat's human message.
    pub message: String,
    /// WeChat's `detail` object, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
    /// `Request-ID`, for WeChat support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Why a call did not produce a verified answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WechatError {
    /// WeChat answered with a non-2xx status.
    Api(WechatRefusal),
    /// No answer within the timeout.
    Timeout,
    /// Connection or protocol failure.
    Transport(String),
    /// A 2xx whose signature did not verify: treated as no answer at all.
    Unverified(VerifyError),
    /// A verified 2xx whose body is not what the endpoint returns.
    Decode(String),
    /// We could not build the request (e.g. nothing to encrypt a sensitive field with).
    Request(String),
}

impl std::fmt::Display for WechatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Api(e) => write!(
                f,
                "WeChat Pay answered {} {}: {}",
                e.status, e.code, e.message
            ),
            Self::Timeout => write!(f, "WeChat Pay did not answer in time"),
            Self::Transport(e) => write!(f, "WeChat Pay unreachable: {e}"),
            Self::Unverified(e) => write!(f, "WeChat Pay answer failed verification: {e}"),
            Self::Decode(e) => write!(f, "WeChat Pay answer not understood: {e}"),
            Self::Request(e) => write!(f, "request not sent: {e}"),
        }
    }
}

impl std::error::Error for WechatError {}
