//! Reading a payout grant (`admin/payout_grant`): the payee, the amount, the transfer scene and
//! its report infos (defaults for scene 1000), the remark, the expiry and the idempotency key,
//! each checked by name; the fingerprint that makes a repeated `grant_no` recognisable.

use serde_json::{Value, json};

use super::allowance::GrantDraft;
use super::input::Input;
use super::rules::sha256_hex;
use super::types::{AmountFen, FieldError, OpenId};
use crate::wechatpay::crypto::random_alphanumeric;

/// Transfer scene of a grant that names none: 1000, 现金营销 (cash marketing).
pub const DEFAULT_SCENE: &str = "1000";
/// Remark of a grant that names none (shown to the payee; at most 32 characters).
pub const DEFAULT_REMARK: &str = "现金奖励";

/// Validates a grant body; `now` bounds `expires_at`.
pub(super) fn grant_draft(input: Input<'_>, now: i64) -> Result<GrantDraft, FieldError> {
    let openid = OpenId::parse(input.req_str("openid", 128)?)?;
    let amount = AmountFen::from_json("amount", input.get("amount").unwrap_or(&Value::Null))?;
    let scene = input
        .opt_str("transfer_scene_id", 36)?
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(DEFAULT_SCENE);
    let remark = input
        .opt_str("transfer_remark", 32)?
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(DEFAULT_REMARK);
    let reports = match input.get("transfer_scene_report_infos") {
        Some(r) if valid_reports(r) => r.clone(),
        Some(_) => {
            return Err(FieldError::new(
                "transfer_scene_report_infos",
                "must be a non-empty array of {info_type, info_content} strings",
            ));
        }
        None if scene == DEFAULT_SCENE => json!([
            { "info_type": "活动名称", "info_content": remark },
            { "info_type": "奖励说明", "info_content": remark },
        ]),
        None => {
            return Err(FieldError::new(
                "transfer_scene_report_infos",
                "is required for a transfer_scene_id other than 1000",
            ));
        }
    };
    let expires_at = match input.opt_str("expires_at", 64)? {
        None => None,
        Some(s) => {
            let rule = "must be an RFC 3339 time in the future, e.g. 2026-01-01T12:00:00+08:00";
            let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .map_err(|_| FieldError::new("expires_at", rule))?
                .unix_timestamp();
            if t <= now {
                return Err(FieldError::new("expires_at", rule));
            }
            Some(t)
        }
    };
    let grant_no = input.opt_str("grant_no", 64)?;
    if let Some(g) = grant_no
        && (g.is_empty()
            || !g
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    {
        return Err(FieldError::new(
            "grant_no",
            "must be 1-64 characters of letters, digits, _ or -",
        ));
    }
    let fingerprint = sha256_hex(
        json!([
            openid.as_str(),
            amount.fen(),
            scene,
            remark,
            reports,
            expires_at
        ])
        .to_string()
        .as_bytes(),
    );
    Ok(GrantDraft {
        allowance_id: format!("pa_{}", random_alphanumeric(24)),
        grant_no: grant_no.map(str::to_string),
        openid,
        amount,
        transfer_scene_id: scene.to_string(),
        transfer_remark: remark.to_string(),
        transfer_scene_report_infos: reports,
        expires_at,
        fingerprint,
    })
}

fn valid_reports(reports: &Value) -> bool {
    reports.as_array().is_some_and(|a| {
        !a.is_empty()
            && a.iter().all(|r| {
                r.get("info_type").is_some_and(Value::is_string)
                    && r.get("info_content").is_some_and(Value::is_string)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(body: Value) -> Result<GrantDraft, FieldError> {
        grant_draft(Input(body.as_object().unwrap()), 1_700_000_000)
    }

    #[test]
    fn a_grant_needs_a_payee_and_a_positive_amount() {
        let e = grant(json!({ "amount": 100 })).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.rule.as_str()),
            ("openid", "is required")
        );
        let e = grant(json!({ "openid": "o1", "amount": 0 })).unwrap_err();
        assert_eq!(e.field, "amount");
        let d = grant(json!({ "openid": "o1", "amount": 100 })).unwrap();
        assert_eq!(d.transfer_scene_id, DEFAULT_SCENE);
        assert_eq!(d.transfer_scene_report_infos[0]["info_type"], "活动名称");
        assert!(d.allowance_id.starts_with("pa_"));
    }

    #[test]
    fn grant_fields_are_checked_by_name() {
        for (body, field) in [
            (json!({ "expires_at": "tomorrow" }), "expires_at"),
            (
                json!({ "expires_at": "2001-01-01T00:00:00Z" }),
                "expires_at",
            ),
            (json!({ "grant_no": "has space" }), "grant_no"),
            (
                json!({ "transfer_scene_id": "1005" }),
                "transfer_scene_report_infos",
            ),
            (
                json!({ "transfer_scene_report_infos": [] }),
                "transfer_scene_report_infos",
            ),
            (
                json!({ "transfer_remark": "x".repeat(33) }),
                "transfer_remark",
            ),
        ] {
            let mut b = json!({ "openid": "o1", "amount": 100 });
            b.as_object_mut()
                .unwrap()
                .extend(body.as_object().unwrap().clone());
            assert_eq!(grant(b).unwrap_err().field, field);
        }
    }

    #[test]
    fn the_same_content_has_the_same_fingerprint() {
        let a = grant(json!({ "openid": "o1", "amount": 100, "grant_no": "g-1" })).unwrap();
        let b = grant(json!({ "openid": "o1", "amount": 100, "grant_no": "g-1" })).unwrap();
        let c = grant(json!({ "openid": "o1", "amount": 101, "grant_no": "g-1" })).unwrap();
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_ne!(a.fingerprint, c.fingerprint);
        assert_ne!(a.allowance_id, b.allowance_id);
    }
}
