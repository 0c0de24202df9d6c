//! A payout grant (`admin/payout_grant`) as the ledger records it: the parsed request
//! ([`GrantRequest`], read at the edge) checked against the clock, with a new allowance id and
//! the fingerprint that makes a repeated `grant_no` recognisable.

use serde_json::json;

use super::allowance::GrantDraft;
use super::rules::sha256_hex;
use super::types::FieldError;
use crate::wechatpay::crypto::random_alphanumeric;

use super::transfer_requests::GrantRequest;

/// The draft of `req`; `now` bounds `expires_at`.
pub(super) fn grant_draft(req: &GrantRequest, now: i64) -> Result<GrantDraft, FieldError> {
    req.check_expiry(now)?;
    let fingerprint = sha256_hex(
        json!([
            req.openid.as_str(),
            req.amount.fen(),
            req.transfer_scene_id,
            req.transfer_remark,
            req.transfer_scene_report_infos,
            req.expires_at
        ])
        .to_string()
        .as_bytes(),
    );
    Ok(GrantDraft {
        allowance_id: format!("pa_{}", random_alphanumeric(24)),
        grant_no: req.grant_no.clone(),
        openid: req.openid.clone(),
        amount: req.amount,
        transfer_scene_id: req.transfer_scene_id.clone(),
        transfer_remark: req.transfer_remark.clone(),
        transfer_scene_report_infos: req.transfer_scene_report_infos.clone(),
        expires_at: req.expires_at,
        fingerprint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pay::transfer_requests::{DEFAULT_REMARK, DEFAULT_SCENE};
    use serde_json::Value;

    fn grant(body: Value) -> Result<GrantDraft, FieldError> {
        grant_draft(&GrantRequest::parse(&body)?, 1_700_000_000)
    }

    #[test]
    fn a_grant_gets_a_new_id_and_scene_1000_defaults() {
        let d = grant(json!({ "openid": "o1", "amount": 100 })).unwrap();
        assert_eq!(d.transfer_scene_id, DEFAULT_SCENE);
        assert_eq!(d.transfer_remark, DEFAULT_REMARK);
        assert_eq!(d.transfer_scene_report_infos[0]["info_type"], "活动名称");
        assert!(d.allowance_id.starts_with("pa_"));
    }

    #[test]
    fn an_expiry_must_be_after_now() {
        let at = |t: &str| grant(json!({ "openid": "o1", "amount": 1, "expires_at": t }));
        let e = at("2001-01-01T00:00:00Z").unwrap_err();
        assert_eq!(
            e.to_string(),
            "expires_at must be an RFC 3339 time in the future, e.g. 2026-01-01T12:00:00+08:00"
        );
        // 1_700_000_000 is 2023-11-14T22:13:20Z: that instant is not in the future, a second later is.
        assert!(at("2023-11-14T22:13:20Z").is_err());
        assert_eq!(
            at("2023-11-14T22:13:21Z").unwrap().expires_at,
            Some(1_700_000_001)
        );
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
