//! Authenticating notifications. SDK mode: the signature over the raw body, then AES-GCM
//! decryption of `resource`. Gateway mode (Integration Center forward): the plaintext in
//! `ParsedContent` proves nothing, so the ciphertext in `rawData.resource` is decrypted instead
//! (GCM is authenticated); with no ciphertext the caller must confirm by querying WeChat.

use serde_json::Value;

use super::crypto::{self, AeadError, SignedHeaders, VerifyError};
use super::keys::PublicKey;
use super::model::{NotifyEnvelope, NotifyKind};

/// Why a notification was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyError {
    /// The signature check failed.
    Verify(VerifyError),
    /// The body is not a notification.
    Malformed(String),
    /// The resource did not decrypt.
    Decrypt(AeadError),
    /// An event this service does not handle.
    UnsupportedEvent(String),
}

impl std::fmt::Display for NotifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Verify(e) => write!(f, "signature rejected: {e}"),
            Self::Malformed(e) => write!(f, "not a WeChat Pay notification: {e}"),
            Self::Decrypt(e) => write!(f, "resource rejected: {e}"),
            Self::UnsupportedEvent(e) => write!(f, "unsupported event_type {e}"),
        }
    }
}

impl std::error::Error for NotifyError {}

/// A notification whose content is authenticated.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The envelope (id, event_type, …).
    pub envelope: NotifyEnvelope,
    /// What it carries.
    pub kind: NotifyKind,
    /// The decrypted JSON object.
    pub plaintext: Value,
}

/// Decrypts an envelope's resource with the APIv3 key.
pub fn decrypt_envelope(
    envelope: &NotifyEnvelope,
    api_v3_key: &[u8],
) -> Result<Value, NotifyError> {
    let r = envelope
        .resource
        .as_ref()
        .ok_or_else(|| NotifyError::Malformed("no resource".into()))?;
    if r.algorithm != "AEAD_AES_256_GCM" {
        return Err(NotifyError::Malformed(format!(
            "resource.algorithm {} is not AEAD_AES_256_GCM",
            r.algorithm
        )));
    }
    let plain = crypto::decrypt_resource(api_v3_key, &r.nonce, &r.associated_data, &r.ciphertext)
        .map_err(NotifyError::Decrypt)?;
    serde_json::from_slice(&plain)
        .map_err(|e| NotifyError::Malformed(format!("plaintext is not JSON: {e}")))
}

fn kind_of(envelope: &NotifyEnvelope) -> Result<NotifyKind, NotifyError> {
    NotifyKind::from_event_type(&envelope.event_type)
        .ok_or_else(|| NotifyError::UnsupportedEvent(envelope.event_type.clone()))
}

/// SDK mode: verify (headers, window, serial, signature over the raw bytes), then decrypt.
pub fn open_signed(
    headers: &SignedHeaders,
    body: &[u8],
    now: i64,
    key: Option<&PublicKey>,
    api_v3_key: &[u8],
) -> Result<Opened, NotifyError> {
    crypto::verify_signed(headers, body, now, |_| key).map_err(NotifyError::Verify)?;
    let envelope: NotifyEnvelope = serde_json::from_slice(body)
        .map_err(|e| NotifyError::Malformed(format!("body is not a notification: {e}")))?;
    let kind = kind_of(&envelope)?;
    let plaintext = decrypt_envelope(&envelope, api_v3_key)?;
    Ok(Opened {
        envelope,
        kind,
        plaintext,
    })
}

/// An Integration Center forward, split into its parts. `rawData` may arrive as an object or
/// as a JSON string.
#[derive(Debug, Clone)]
pub struct GatewayForward {
    /// The original notification, when present.
    pub raw: Option<NotifyEnvelope>,
    /// `ParsedNotify` (envelope without the need to decrypt).
    pub parsed_notify: Option<NotifyEnvelope>,
    /// `ParsedContent`: unauthenticated plaintext.
    pub parsed_content: Option<Value>,
}

impl GatewayForward {
    /// Does this JSON body look like an Integration Center forward?
    pub fn is_forward(body: &Value) -> bool {
        ["ParsedContent", "ParsedNotify", "rawData"]
            .iter()
            .any(|k| body.get(k).is_some())
    }

    /// Splits a forward body.
    pub fn parse(body: &Value) -> Self {
        let envelope = |v: Option<&Value>| -> Option<NotifyEnvelope> {
            let v = v?;
            let v = match v {
                Value::String(s) => serde_json::from_str::<Value>(s).ok()?,
                other => other.clone(),
            };
            serde_json::from_value(v).ok()
        };
        let content = match body.get("ParsedContent") {
            Some(Value::String(s)) => serde_json::from_str(s).ok(),
            Some(v @ Value::Object(_)) => Some(v.clone()),
            _ => None,
        };
        Self {
            raw: envelope(body.get("rawData")),
            parsed_notify: envelope(body.get("ParsedNotify")),
            parsed_content: content,
        }
    }

    /// The event type: `rawData.event_type`, else `ParsedNotify.event_type`.
    pub fn event_type(&self) -> Option<&str> {
        [&self.raw, &self.parsed_notify]
            .into_iter()
            .flatten()
            .map(|e| e.event_type.as_str())
            .find(|t| !t.is_empty())
    }

    /// The notification id, from either envelope.
    pub fn notification_id(&self) -> Option<&str> {
        [&self.raw, &self.parsed_notify]
            .into_iter()
            .flatten()
            .map(|e| e.id.as_str())
            .find(|t| !t.is_empty())
    }

    /// Decrypts `rawData.resource` when a ciphertext came; `Ok(None)` when none did.
    pub fn authenticated_content(&self, api_v3_key: &[u8]) -> Result<Option<Value>, NotifyError> {
        match &self.raw {
            Some(env)
                if env
                    .resource
                    .as_ref()
                    .is_some_and(|r| !r.ciphertext.is_empty()) =>
            {
                decrypt_envelope(env, api_v3_key).map(Some)
            }
            _ => Ok(None),
        }
    }
}
