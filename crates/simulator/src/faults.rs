//! Fault injection: a rule arms one fault for the next `times` matching `/v3` calls (by
//! endpoint name, `*` for all) or callbacks (endpoint `callback`, `*`, or an event type such
//! as `REFUND.SUCCESS`). Rules are consumed in the order they were armed.

use serde::{Deserialize, Serialize};

/// One kind of misbehaviour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// API: answer normally after `ms` milliseconds.
    Latency {
        /// Added delay.
        ms: u64,
    },
    /// API: 500 `SYSTEM_ERROR` (the call has no effect).
    SystemError,
    /// API: 502 with an HTML body, as a broken proxy would answer.
    BadGateway,
    /// API: never answer; the client must time out.
    Hang,
    /// API: a 2xx signed with a key the merchant does not trust.
    WrongKey,
    /// API: a 2xx whose signature is a `WECHATPAY/SIGNTEST/` probe.
    SignTest,
    /// Callback: deliver once more after the first acknowledged delivery.
    Duplicate,
    /// Callback: after the real one, deliver an older state under a new id.
    OutOfOrder,
    /// Callback: first send a probe with a `WECHATPAY/SIGNTEST/` signature.
    SignTestProbe,
    /// Callback: first send a copy whose ciphertext was altered.
    TamperedCiphertext,
}

impl Fault {
    /// Whether the fault applies to callbacks (else to `/v3` calls).
    pub fn is_callback(&self) -> bool {
        matches!(
            self,
            Self::Duplicate | Self::OutOfOrder | Self::SignTestProbe | Self::TamperedCiphertext
        )
    }
}

fn default_endpoint() -> String {
    "*".into()
}

fn default_times() -> u32 {
    1
}

/// A fault armed for the next `times` matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// Endpoint name (`jsapi`, `refund_create`, …), `*` for all; for callbacks `callback`,
    /// `*` or an event type.
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
    /// The misbehaviour.
    #[serde(flatten)]
    pub fault: Fault,
    /// How many matches it fires for.
    #[serde(default = "default_times")]
    pub times: u32,
}

impl FaultRule {
    /// `fault` on `endpoint` for the next `times` matches.
    pub fn new(endpoint: &str, fault: Fault, times: u32) -> Self {
        Self {
            endpoint: endpoint.to_string(),
            fault,
            times,
        }
    }
}

/// Takes one firing of the first armed API fault matching `endpoint`.
pub fn take_api(rules: &mut Vec<FaultRule>, endpoint: &str) -> Option<Fault> {
    take(rules, |r| {
        !r.fault.is_callback() && (r.endpoint == "*" || r.endpoint == endpoint)
    })
}

/// Takes every callback fault matching `event_type` (one firing each).
pub fn take_callback(rules: &mut Vec<FaultRule>, event_type: &str) -> Vec<Fault> {
    let mut out = Vec::new();
    while let Some(f) = take(rules, |r| {
        r.fault.is_callback()
            && (matches!(r.endpoint.as_str(), "*" | "callback") || r.endpoint == event_type)
            && !out.contains(&r.fault)
    }) {
        out.push(f);
    }
    out
}

fn take(rules: &mut Vec<FaultRule>, pred: impl Fn(&FaultRule) -> bool) -> Option<Fault> {
    let i = rules.iter().position(|r| r.times > 0 && pred(r))?;
    rules[i].times -= 1;
    let fault = rules[i].fault.clone();
    if rules[i].times == 0 {
        rules.remove(i);
    }
    Some(fault)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_fires_exactly_times_then_disarms() {
        let mut rules = vec![FaultRule::new("jsapi", Fault::SystemError, 2)];
        assert_eq!(take_api(&mut rules, "native"), None);
        assert_eq!(take_api(&mut rules, "jsapi"), Some(Fault::SystemError));
        assert_eq!(take_api(&mut rules, "jsapi"), Some(Fault::SystemError));
        assert_eq!(take_api(&mut rules, "jsapi"), None);
    }

    #[test]
    fn rules_parse_from_control_json() {
        let r: FaultRule =
            serde_json::from_str(r#"{"endpoint":"*","kind":"latency","ms":20,"times":3}"#).unwrap();
        assert_eq!(r, FaultRule::new("*", Fault::Latency { ms: 20 }, 3));
        let r: FaultRule = serde_json::from_str(r#"{"kind":"duplicate"}"#).unwrap();
        assert_eq!(r, FaultRule::new("*", Fault::Duplicate, 1));
    }
}
