//! Callback delivery. SDK mode posts WeChat's signed envelope with the resource encrypted
//! under the APIv3 key; gateway mode posts what Integration Center forwards
//! (`ParsedContent`, `ParsedNotify`, `rawData`, header `x-tcb-integration-id`). Until a 2xx
//! comes back, attempts follow WeChat's retry schedule times `time_scale`; callback faults add
//! probes, tampered copies, duplicates and stale deliveries around the real one.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use super::config::CallbackMode;
use super::faults::{self, Fault};
use super::ids;
use super::log::{Delivery, DeliveryKind};
use super::state::Shared;
use wechatpay::crypto::{
    self, AUTH_SCHEME, HEADER_NONCE, HEADER_SERIAL, HEADER_SIGNATURE, HEADER_SIGNATURE_TYPE,
    HEADER_TIMESTAMP, SIGNTEST_PREFIX, random_alphanumeric,
};

/// Header Integration Center sets on forwarded callbacks.
pub const INTEGRATION_HEADER: &str = "x-tcb-integration-id";

/// Payment and refund retries (protocol notes §3): 15s,15s,30s,3m,10m,20m,30m,30m,30m,60m,
/// 3h,3h,3h,6h,6h.
pub const PAY_SCHEDULE: &[u64] = &[
    15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
];

/// Delays (seconds) before each retry of a notification of `event_type`. Transfers:
/// 0s, 15s ×10, 300s ×10, 1800s ×44.
pub fn schedule(event_type: &str) -> Vec<u64> {
    if event_type.starts_with("MCHTRANSFER.") {
        let mut s = vec![0];
        s.extend([15; 10]);
        s.extend([300; 10]);
        s.extend([1800; 44]);
        s
    } else {
        PAY_SCHEDULE.to_vec()
    }
}

/// One notification to deliver.
#[derive(Debug, Clone)]
pub struct Notice {
    event_type: String,
    summary: String,
    original_type: String,
    plaintext: Value,
    stale: Option<Value>,
}

impl Notice {
    /// A notification of `event_type` carrying `plaintext` (AAD = `original_type`).
    pub fn new(event_type: &str, summary: &str, original_type: &str, plaintext: Value) -> Self {
        Self {
            event_type: event_type.into(),
            summary: summary.into(),
            original_type: original_type.into(),
            plaintext,
            stale: None,
        }
    }
    /// The earlier state that fault `out_of_order` delivers afterwards.
    pub fn with_stale(mut self, stale: Value) -> Self {
        self.stale = Some(stale);
        self
    }
}

/// Where a notify_url is delivered: its path on `callback_target` when set.
pub fn target_url(sim: &Shared, notify_url: &str) -> String {
    match (&sim.cfg.callback_target, reqwest::Url::parse(notify_url)) {
        (Some(base), Ok(u)) => format!("{}{}", base.trim_end_matches('/'), u.path()),
        _ => notify_url.to_string(),
    }
}

/// Starts delivering `n` in the background.
pub fn spawn(sim: &Shared, notify_url: &str, n: Notice) {
    let url = target_url(sim, notify_url);
    let armed = faults::take_callback(&mut sim.store().faults, &n.event_type);
    let sim = sim.clone();
    sim.rt
        .clone()
        .spawn(async move { run(sim, url, n, armed).await });
}

async fn run(sim: Shared, url: String, n: Notice, armed: Vec<Fault>) {
    let id = ids::notification_id();
    let env = envelope(&sim, &n, &id, &n.plaintext, false);
    let once = |kind, env: Value| {
        let (sim, url, n) = (sim.clone(), url.clone(), n.clone());
        async move { attempt(&sim, &url, &n, &env, kind, 1).await }
    };
    if armed.contains(&Fault::SignTestProbe) {
        once(DeliveryKind::Probe, env.clone()).await;
    }
    if armed.contains(&Fault::TamperedCiphertext) {
        once(
            DeliveryKind::Tampered,
            envelope(&sim, &n, &id, &n.plaintext, true),
        )
        .await;
    }
    let delays = schedule(&n.event_type);
    let mut acked = false;
    for (i, delay) in std::iter::once(0).chain(delays).enumerate() {
        if i > 0
            && !sim
                .sleep(Duration::from_secs_f64(delay as f64 * sim.cfg.time_scale))
                .await
        {
            return;
        }
        if attempt(&sim, &url, &n, &env, DeliveryKind::Normal, i as u32 + 1).await {
            acked = true;
            break;
        }
    }
    if acked && armed.contains(&Fault::Duplicate) {
        once(DeliveryKind::Duplicate, env.clone()).await;
    }
    if armed.contains(&Fault::OutOfOrder) {
        let old = n.stale.clone().unwrap_or_else(|| n.plaintext.clone());
        let stale = envelope(&sim, &n, &ids::notification_id(), &old, false);
        once(DeliveryKind::Stale, stale).await;
    }
}

fn envelope(sim: &Shared, n: &Notice, id: &str, plaintext: &Value, tamper: bool) -> Value {
    let nonce = random_alphanumeric(12);
    let plain = serde_json::to_vec(plaintext).expect("JSON");
    let key = sim.cfg.api_v3_key.as_bytes();
    let mut ciphertext =
        crypto::encrypt_resource(key, &nonce, &n.original_type, &plain).expect("32-byte key");
    if tamper {
        let mut raw = B64.decode(&ciphertext).expect("own Base64");
        raw[0] ^= 0x01;
        ciphertext = B64.encode(raw);
    }
    json!({
        "id": id,
        "create_time": ids::rfc3339(sim.now()),
        "resource_type": "encrypt-resource",
        "event_type": n.event_type,
        "summary": n.summary,
        "resource": {
            "original_type": n.original_type,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": ciphertext,
            "associated_data": n.original_type,
            "nonce": nonce,
        },
        // Kept out of the wire body below; only ParsedContent uses it.
        "_plaintext": plaintext,
    })
}

/// Posts one attempt and logs it; true when answered 2xx.
async fn attempt(
    sim: &Shared,
    url: &str,
    n: &Notice,
    env: &Value,
    kind: DeliveryKind,
    no: u32,
) -> bool {
    let mut wire = env.clone();
    let plaintext = wire
        .as_object_mut()
        .and_then(|o| o.remove("_plaintext"))
        .unwrap_or_default();
    let mut req = sim
        .http
        .post(url)
        .header("content-type", "application/json");
    let body = match sim.cfg.callback_mode {
        CallbackMode::Sdk => {
            let body = serde_json::to_vec(&wire).expect("JSON");
            let ts = sim.now().to_string();
            let nonce = random_alphanumeric(32);
            let (key, serial) = if sim.cfg.sign_callbacks_with_certificate {
                (&sim.keys.cert_key, sim.keys.cert_serial.as_str())
            } else {
                (&sim.keys.platform, sim.keys.public_key_id.as_str())
            };
            let signature = if kind == DeliveryKind::Probe {
                format!("{SIGNTEST_PREFIX}{}", random_alphanumeric(64))
            } else {
                key.sign(&crypto::response_message(&ts, &nonce, &body))
            };
            req = req
                .header(HEADER_TIMESTAMP, ts)
                .header(HEADER_NONCE, nonce)
                .header(HEADER_SIGNATURE, signature)
                .header(HEADER_SERIAL, serial)
                .header(HEADER_SIGNATURE_TYPE, AUTH_SCHEME);
            body
        }
        CallbackMode::Gateway => {
            let mut raw = wire.clone();
            if kind == DeliveryKind::Probe {
                // Integration Center drops real probes; this stands for a forward without
                // ciphertext, which the service must confirm by querying.
                raw.as_object_mut().map(|o| o.remove("resource"));
            }
            req = req.header(
                INTEGRATION_HEADER,
                format!("sim-integration-{}", sim.cfg.mchid),
            );
            serde_json::to_vec(
                &json!({"ParsedContent": plaintext, "ParsedNotify": wire, "rawData": raw}),
            )
            .expect("JSON")
        }
    };
    let result = req.body(body).send().await;
    let (status, error) = match result {
        Ok(res) => (Some(res.status().as_u16()), None),
        Err(e) => (None, Some(e.to_string())),
    };
    sim.store().log_delivery(Delivery {
        url: url.to_string(),
        event_type: n.event_type.clone(),
        notification_id: env["id"].as_str().unwrap_or_default().to_string(),
        kind,
        attempt: no,
        status,
        error,
    });
    status.is_some_and(|s| (200..300).contains(&s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_match_wechats_documented_totals() {
        let pay: u64 = schedule("TRANSACTION.SUCCESS").iter().sum();
        assert_eq!(pay, 24 * 3600 + 4 * 60, "15 retries over 24h4m");
        assert_eq!(schedule("REFUND.CLOSED").len(), 15);
        let transfer = schedule("MCHTRANSFER.BILL.FINISHED");
        assert_eq!(transfer.len(), 65);
        assert_eq!(
            (transfer[0], transfer[1], transfer[11], transfer[64]),
            (0, 15, 300, 1800)
        );
    }
}
