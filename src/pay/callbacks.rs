//! Callbacks: authenticate, then apply through the order service, then answer. SDK-shaped
//! bodies (signed, encrypted) must verify; gateway-shaped bodies (Integration Center forwards)
//! are authenticated by decrypting `rawData.resource`, or, with no ciphertext, by asking WeChat
//! for the object. `ParsedContent` alone never changes anything. WeChat retries until it gets a
//! 2xx, so we answer only after the update is committed, and FAIL when it could not be.

use std::time::Duration;

use serde_json::Value;

use super::payments::Payments;
use super::service::{Notice, NoticeOutcome, ServiceError};
use super::types::{OutBillNo, OutRefundNo, OutTradeNo};
use crate::pay::service::WechatQueries;
use crate::wechatpay::crypto::{SignedHeaders, VerifyError};
use crate::wechatpay::model::{NotifyKind, Refund, Transaction, TransferBill};
use crate::wechatpay::notify::{self, GatewayForward, NotifyError};

/// WeChat waits 5 s; we give up (and answer FAIL, so it retries) a little before that.
pub const CALLBACK_BUDGET: Duration = Duration::from_millis(4500);

/// Why a callback was not acknowledged: the status and message of the FAIL answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackError {
    /// HTTP status (4xx: rejected content; 5xx: our side, retry).
    pub status: u16,
    /// Reason, in the FAIL body.
    pub message: String,
}

impl CallbackError {
    fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl From<NotifyError> for CallbackError {
    fn from(e: NotifyError) -> Self {
        let status = match e {
            NotifyError::Verify(_) | NotifyError::Decrypt(_) => 401,
            NotifyError::Malformed(_) | NotifyError::UnsupportedEvent(_) => 400,
        };
        Self::new(status, e.to_string())
    }
}

impl From<ServiceError> for CallbackError {
    fn from(e: ServiceError) -> Self {
        tracing::error!(error = %e, "callback could not be applied; WeChat will retry");
        Self::new(500, "could not record the notification; please retry")
    }
}

fn parse<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, CallbackError> {
    serde_json::from_value(v)
        .map_err(|e| CallbackError::new(400, format!("notification content not understood: {e}")))
}

impl Payments {
    fn api_v3_key(&self) -> Result<&[u8], CallbackError> {
        let creds = self
            .config
            .credentials
            .as_ref()
            .filter(|_| self.client.is_some());
        let creds = creds.ok_or_else(|| {
            CallbackError::new(503, "service is missing its WeChat Pay credentials")
        })?;
        Ok(creds.api_v3_key.expose().as_bytes())
    }

    /// A signed notification posted by WeChat directly (SDK mode).
    pub async fn callback_signed(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<NoticeOutcome, CallbackError> {
        bounded(async {
            let key = self.api_v3_key()?;
            let signed = SignedHeaders::from_headers(headers);
            let mut public = self.keys.get(&signed.serial);
            if public.is_none()
                && let Some(client) = self
                    .client
                    .as_ref()
                    .filter(|c| c.may_download_certificates())
            {
                client.refresh_certificates_rate_limited().await;
                public = self.keys.get(&signed.serial);
            }
            let opened = notify::open_signed(&signed, body, self.now(), public.as_deref(), key)
                .inspect_err(|e| {
                    if matches!(e, NotifyError::Verify(VerifyError::SignTestProbe)) {
                        tracing::info!(
                            "rejected a WECHATPAY/SIGNTEST verification probe, as intended"
                        );
                    } else {
                        tracing::warn!(error = %e, "rejected a callback");
                    }
                })?;
            let id = Some(opened.envelope.id.clone()).filter(|s| !s.is_empty());
            self.apply(
                opened.kind,
                id,
                &opened.envelope.event_type,
                opened.plaintext,
            )
            .await
        })
        .await
    }

    /// An Integration Center forward (gateway mode).
    pub async fn callback_gateway(&self, body: &Value) -> Result<NoticeOutcome, CallbackError> {
        bounded(async {
            let key = self.api_v3_key()?;
            let fwd = GatewayForward::parse(body);
            let event_type = fwd.event_type().unwrap_or_default().to_string();
            let kind = NotifyKind::from_event_type(&event_type)
                .ok_or_else(|| CallbackError::new(400, format!("unsupported event_type {event_type:?}")))?;
            match fwd.authenticated_content(key) {
                Ok(Some(content)) => {
                    if fwd.parsed_content.as_ref().is_some_and(|p| p != &content) {
                        tracing::warn!("ParsedContent differs from the decrypted resource; using the decrypted one");
                    }
                    let id = fwd.notification_id().map(str::to_string);
                    self.apply(kind, id, &event_type, content).await
                }
                Ok(None) => {
                    // One confirmation in flight per object and a per-instance budget.
                    let claimed = fwd.parsed_content.as_ref();
                    let key = super::forward_budget::key(kind, claimed);
                    let confirm = self.apply_confirmed(kind, &event_type, claimed);
                    self.forward_budget.confirm(key, confirm).await
                }
                Err(e) => {
                    tracing::warn!(error = %e, "rejected a gateway callback whose resource does not decrypt");
                    Err(e.into())
                }
            }
        })
        .await
    }

    /// No ciphertext came: ask WeChat for the named object and apply what it says.
    async fn apply_confirmed(
        &self,
        kind: NotifyKind,
        event_type: &str,
        claimed: Option<&Value>,
    ) -> Result<NoticeOutcome, CallbackError> {
        let claimed = claimed.ok_or_else(|| {
            CallbackError::new(
                400,
                "forward has neither rawData.resource nor ParsedContent",
            )
        })?;
        let field = |name: &str| {
            claimed
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let unavailable =
            |e: String| CallbackError::new(502, format!("could not confirm with WeChat Pay: {e}"));
        let bad = |e: super::types::FieldError| CallbackError::new(400, e.to_string());
        let confirmed = match kind {
            NotifyKind::Payment => {
                let no = OutTradeNo::parse(field("out_trade_no")).map_err(bad)?;
                WechatQueries::query_order(self, &no)
                    .await
                    .map_err(unavailable)?
                    .map(|t| serde_json::to_value(t).unwrap_or_default())
            }
            NotifyKind::Refund => {
                let no = OutRefundNo::parse(field("out_refund_no")).map_err(bad)?;
                self.query_refund(&no)
                    .await
                    .map_err(unavailable)?
                    .map(|r| serde_json::to_value(r).unwrap_or_default())
            }
            NotifyKind::Transfer => {
                let no = OutBillNo::parse(field("out_bill_no")).map_err(bad)?;
                self.query_transfer(&no)
                    .await
                    .map_err(unavailable)?
                    .map(|b| serde_json::to_value(b).unwrap_or_default())
            }
        };
        let confirmed = confirmed.ok_or_else(|| {
            CallbackError::new(
                400,
                "WeChat Pay does not know the object this forward names",
            )
        })?;
        // The id of an unauthenticated forward is not recorded: a forger could otherwise burn it.
        self.apply(kind, None, event_type, confirmed).await
    }

    async fn apply(
        &self,
        kind: NotifyKind,
        id: Option<String>,
        event_type: &str,
        content: Value,
    ) -> Result<NoticeOutcome, CallbackError> {
        let event_type = event_type.to_string();
        let outcome = match kind {
            NotifyKind::Payment => {
                let object: Transaction = parse(content)?;
                self.book
                    .payment_notified(&Notice {
                        notification_id: id,
                        event_type,
                        object,
                    })
                    .await?
            }
            NotifyKind::Refund => {
                let object: Refund = parse(content)?;
                self.book
                    .refund_notified(&Notice {
                        notification_id: id,
                        event_type,
                        object,
                    })
                    .await?
            }
            NotifyKind::Transfer => {
                let object: TransferBill = parse(content)?;
                self.book
                    .transfer_notified(&Notice {
                        notification_id: id,
                        event_type,
                        object,
                    })
                    .await?
            }
        };
        match &outcome {
            NoticeOutcome::Mismatch(why) => {
                tracing::error!(alert = true, mismatch = %why, "callback does not match the ledger; recorded, not applied")
            }
            NoticeOutcome::Unknown => {
                tracing::warn!(
                    "callback names an order, refund or transfer we never recorded; no money moved"
                )
            }
            NoticeOutcome::Unmatched => {
                tracing::warn!(
                    ?kind,
                    "callback matches nothing in the ledger; recorded as unmatched money before answering SUCCESS"
                )
            }
            NoticeOutcome::Applied => tracing::debug!(?kind, "callback applied"),
            NoticeOutcome::Duplicate => tracing::debug!(?kind, "duplicate callback ignored"),
        }
        Ok(outcome)
    }
}

async fn bounded<T>(
    work: impl Future<Output = Result<T, CallbackError>>,
) -> Result<T, CallbackError> {
    tokio::time::timeout(CALLBACK_BUDGET, work)
        .await
        .unwrap_or_else(|_| Err(CallbackError::new(503, "timed out; please retry")))
}
