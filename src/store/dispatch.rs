//! The outbox dispatcher: delivers events to the business's webhook, signed with HMAC-SHA256.
//! Each pass claims due, undelivered events with a lease (so two instances never both send
//! one), POSTs `{"id","type","created_at","data"}` and records the outcome: delivered on 2xx,
//! otherwise the error and an exponential backoff (10 s doubling, capped at 1 h).

use std::future::Future;
use std::time::Duration;

use aws_lc_rs::hmac;
use serde::Serialize;
use serde_json::json;

use super::claim::Claim;
use super::error::retrying;
use super::{EventView, Ledger, StoreError};

/// Header carrying the event id (stable across retries: deduplicate on it).
pub const HEADER_EVENT_ID: &str = "X-PayCommon-Event-Id";
/// Header carrying the signing time (Unix seconds).
pub const HEADER_TIMESTAMP: &str = "X-PayCommon-Timestamp";
/// Header carrying `sha256=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`.
pub const HEADER_SIGNATURE: &str = "X-PayCommon-Signature";
/// First retry delay (seconds).
pub const BACKOFF_BASE_SECS: i64 = 10;
/// Longest retry delay (seconds).
pub const BACKOFF_CAP_SECS: i64 = 3600;
/// Per-request timeout (seconds).
const TIMEOUT_SECS: u64 = 10;
/// How long a claimed event is reserved for one sender (seconds): longer than a whole batch
/// of timed-out requests, so another instance never re-sends an event still in a batch.
const LEASE_SECS: i64 = BATCH * TIMEOUT_SECS as i64 + 60;
/// Events per pass.
const BATCH: i64 = 50;

/// The signature header value for `body` sent at `timestamp`.
pub fn sign(secret: &[u8], timestamp: i64, body: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&key, format!("{timestamp}.{body}").as_bytes());
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Delay before the next attempt after `attempts` failed ones: 10 s, 20 s, 40 s, … ≤ 1 h.
pub fn backoff_secs(attempts: i64) -> i64 {
    let doublings = attempts.saturating_sub(1).clamp(0, 20) as u32;
    (BACKOFF_BASE_SECS << doublings).min(BACKOFF_CAP_SECS)
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DispatchSummary {
    /// Events claimed for sending.
    pub claimed: usize,
    /// Answered 2xx.
    pub delivered: usize,
    /// Failed; scheduled for a retry.
    pub failed: usize,
}

/// Delivers outbox events to one webhook.
pub struct EventDispatcher {
    ledger: Ledger,
    url: String,
    secret: Vec<u8>,
    client: reqwest::Client,
}

impl std::fmt::Debug for EventDispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventDispatcher")
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl EventDispatcher {
    /// A dispatcher posting to `webhook_url`, signing with `secret`.
    pub fn new(ledger: Ledger, webhook_url: impl Into<String>, secret: impl AsRef<[u8]>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(TIMEOUT_SECS))
            .build()
            .unwrap_or_default();
        Self {
            ledger,
            url: webhook_url.into(),
            secret: secret.as_ref().to_vec(),
            client,
        }
    }

    /// One pass at time `now` (Unix seconds; also the signing timestamp).
    pub async fn run_once(&self, now: i64) -> Result<DispatchSummary, StoreError> {
        let claim = Claim {
            table: "pay_events",
            key: "id",
            condition: "delivered_at IS NULL AND next_attempt_at <= ?",
            params: &[now],
            now,
            until: now + LEASE_SECS,
            limit: BATCH,
        };
        let (token, _) = retrying!(self.ledger.claim(&claim))?;
        let events = self.ledger.events_by_claim(&token).await?;
        let mut summary = DispatchSummary {
            claimed: events.len(),
            ..Default::default()
        };
        for event in events {
            match self.send(&event, now).await {
                Ok(()) => {
                    retrying!(self.ledger.mark_delivered(&event.id, now))?;
                    summary.delivered += 1;
                }
                Err(why) => {
                    let next = now + backoff_secs(event.attempts + 1);
                    tracing::warn!(event_id = %event.id, error = %why, next_attempt_at = next, "event delivery failed");
                    retrying!(self.ledger.mark_failed(&event.id, &why, next))?;
                    summary.failed += 1;
                }
            }
        }
        Ok(summary)
    }

    async fn send(&self, event: &EventView, now: i64) -> Result<(), String> {
        let body = json!({
            "id": event.id,
            "type": event.event_type,
            "created_at": event.created_at,
            "data": event.data,
        })
        .to_string();
        let response = self
            .client
            .post(&self.url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(HEADER_EVENT_ID, &event.id)
            .header(HEADER_TIMESTAMP, now.to_string())
            .header(HEADER_SIGNATURE, sign(&self.secret, now, &body))
            .body(body)
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("webhook answered HTTP {}", status.as_u16()))
        }
    }

    /// Runs a pass every `interval` until `shutdown` resolves.
    pub fn spawn(
        self,
        interval: Duration,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let this = std::sync::Arc::new(self);
        crate::periodic::every(interval, shutdown, move || {
            let this = this.clone();
            async move {
                if !this.ledger.is_ready() {
                    return; // the ledger's supervisor is reconnecting; nothing to hammer
                }
                let now = this.ledger.clock.now();
                if let Err(e) = this.run_once(now).await {
                    tracing::warn!(error = %e, "event dispatch pass failed");
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_ten_seconds_and_caps_at_an_hour() {
        let delays: Vec<i64> = (1..=10).map(backoff_secs).collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600]);
        assert_eq!(backoff_secs(1000), 3600);
    }

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Known answer from Python: hmac.new(b"key", b"1.{}", hashlib.sha256).hexdigest().
        assert_eq!(
            sign(b"key", 1, "{}"),
            "sha256=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224"
        );
        assert_ne!(sign(b"key", 2, "{}"), sign(b"key", 1, "{}"));
    }
}
