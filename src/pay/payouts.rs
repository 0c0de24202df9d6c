//! Payout allowances, the use cases. The business grants a payee an amount with the admin
//! credential (`admin/payout_grant`), lists (`admin/payouts`) and revokes (`admin/payout_revoke`)
//! them; the payee claims from their own Mini Program with `wxpay_transfer` and no admin
//! credential: the identity (`x-wx-openid` or the CloudBase token) is the payee, the allowance
//! says how much, which scene and which remark. The spend and the transfer bill are recorded
//! in one guarded step before WeChat is called, so concurrent claims never exceed the grant;
//! a bill that fails, is cancelled or is refused by WeChat gives its amount back once (the
//! ledger does that in the transaction that records the bill's end).

use serde_json::{Value, json};

use super::allowance::{
    Allowance, AllowanceFilter, AllowanceState, AllowanceStore, ClaimAdmission, ClaimLink, Granted,
};
use super::error::PayError;
use super::payments::{Caller, Payments};
use super::payout_grant::grant_draft;
use super::requests::Repeated;
use super::rules::number_reused;
use super::service::{ServiceError, ServiceErrorKind};
use super::service::{TransferAdmission, TransferDraft};
use super::transfer_requests::{
    ClaimRequest, GrantRequest, PayoutFilter, REPORTS_RULE, RevokeRequest, TransferRequest,
    user_name_rule,
};
use super::types::{AmountFen, FieldError, OpenId, OutBillNo};
use crate::wechatpay::crypto::random_alphanumeric;
use crate::wechatpay::model::TransferSceneReportInfo;

const CLAIM_IDENTITY: &str = "claiming a payout needs the payee's identity: call wxpay_transfer \
    through wx.cloud.callHTTPFunction / callContainer (x-wx-openid) or with Authorization: \
    Bearer <CloudBase access token>";

impl Payments {
    fn allowance_store(&self) -> Result<&dyn AllowanceStore, PayError> {
        self.allowances.as_deref().ok_or_else(no_store)
    }

    /// `admin/payout_grant`: authorises `openid` to claim `amount` fen.
    pub async fn grant_payout(
        &self,
        caller: &Caller,
        req: &GrantRequest,
    ) -> Result<Value, PayError> {
        self.require_admin(caller, "granting payouts")?;
        let store = self.allowance_store()?;
        let draft = grant_draft(req, self.now())?;
        let allowance = match store.grant(&draft).await? {
            Granted::New(a) => a,
            Granted::Existing {
                allowance,
                fingerprint,
            } if fingerprint == draft.fingerprint => allowance,
            Granted::Existing { .. } => {
                let no = draft.grant_no.as_deref().unwrap_or_default();
                return Err(number_reused("GRANT_NO_USED", "grant_no", no, "grant").into());
            }
        };
        tracing::info!(allowance_id = %allowance.allowance_id, payee = %draft.openid.masked(), amount = allowance.amount, "payout granted");
        Ok(allowance.to_json(self.now()))
    }

    /// `admin/payouts`: allowances, newest first, by payee and state.
    pub async fn list_payouts(
        &self,
        caller: &Caller,
        req: &PayoutFilter,
    ) -> Result<Value, PayError> {
        self.require_admin(caller, "listing payouts")?;
        let store = self.allowance_store()?;
        let filter = AllowanceFilter {
            openid: req.openid.clone(),
            state: req.state,
            limit: req.limit,
            now: self.now(),
        };
        let list: Vec<Value> = store
            .allowances(&filter)
            .await?
            .iter()
            .map(|a| a.to_json(filter.now))
            .collect();
        Ok(json!({ "allowances": list }))
    }

    /// `admin/payout_revoke`: nothing more can be claimed; bills already created go on.
    pub async fn revoke_payout(
        &self,
        caller: &Caller,
        req: &RevokeRequest,
    ) -> Result<Value, PayError> {
        self.require_admin(caller, "revoking payouts")?;
        let store = self.allowance_store()?;
        let id = req.allowance_id.as_str();
        let allowance = store.revoke(id).await?.ok_or_else(|| {
            PayError::NotFound(format!(
                "allowance {id} is not recorded; check allowance_id"
            ))
        })?;
        tracing::info!(allowance_id = %id, "payout revoked");
        Ok(allowance.to_json(self.now()))
    }

    /// Who may claim from a payout allowance with `wxpay_transfer` and no admin credential:
    /// the caller's own identity, when allowances are kept at all. Checked before the body is
    /// read, so a caller without identity hears that first.
    pub fn may_claim(&self, caller: &Caller) -> Result<(&dyn AllowanceStore, OpenId), PayError> {
        let Some(store) = self.allowances.as_deref() else {
            // Without an allowance store, money out needs the admin credential, as before.
            return Err(match self.require_admin(caller, "merchant transfers") {
                Err(refusal) => refusal,
                Ok(()) => no_store(),
            });
        };
        let me = caller
            .openid
            .clone()
            .ok_or_else(|| PayError::Unauthenticated(CLAIM_IDENTITY.into()))?;
        Ok((store, me))
    }

    /// `wxpay_transfer` without the admin credential: the caller claims from their allowance.
    pub async fn claim_payout(
        &self,
        caller: &Caller,
        req: &ClaimRequest,
    ) -> Result<Value, PayError> {
        self.ready()?;
        let (store, me) = self.may_claim(caller)?;
        if req.openid.as_deref().is_some_and(|o| o != me.as_str()) {
            return Err(FieldError::new(
                "openid",
                "must be left out: a claim pays the caller's own identity",
            )
            .into());
        }
        let now = self.now();
        // A retry of an earlier claim (same out_bill_no) repeats its allowance and amount.
        let earlier = match &req.out_bill_no {
            Some(no) => store.claim_of(no).await?,
            None => None,
        };
        let wanted_id = req
            .allowance_id
            .clone()
            .or_else(|| earlier.as_ref().map(|c| c.allowance_id.clone()));
        let allowance = match &wanted_id {
            Some(id) => store
                .allowance(id)
                .await?
                .filter(|a| a.openid == me.as_str()),
            None => store.claimable(&me, now).await?,
        };
        let Some(allowance) = allowance else {
            return Err(claim_refusal(None, 0, now));
        };
        let amount = match (req.amount, &earlier) {
            (Some(a), _) => a.fen(),
            (None, Some(c)) => c.amount,
            (None, None) => allowance.remaining(),
        };
        if earlier.is_none()
            && (allowance.state_at(now) != AllowanceState::Active || amount > allowance.remaining())
        {
            return Err(claim_refusal(Some(&allowance), amount, now));
        }
        let no = req
            .out_bill_no
            .clone()
            .unwrap_or_else(|| generate_out_bill_no(now));
        let bill = claim_bill(&allowance, req, no.clone(), me.clone(), amount)?;
        let draft = self.transfer_draft(caller, &bill)?;
        let admission = match store.claim(&allowance.allowance_id, &draft).await? {
            ClaimAdmission::Admitted(a) => a,
            ClaimAdmission::NotClaimable(now_stored) => {
                return Err(claim_refusal(now_stored.as_ref(), amount, now));
            }
            ClaimAdmission::Recorded {
                fingerprint,
                request_body,
                link,
            } => repeated_claim(
                &allowance.allowance_id,
                &draft,
                fingerprint,
                request_body,
                link,
            )?,
        };
        tracing::info!(allowance_id = %allowance.allowance_id, out_bill_no = %no, amount, payee = %me.masked(), "payout claimed");
        let mut data = self.send_transfer(&draft, admission).await?;
        let left = store.allowance(&allowance.allowance_id).await?;
        data["allowance_id"] = allowance.allowance_id.clone().into();
        data["remaining"] = left.map_or(0, |a| a.remaining()).into();
        Ok(data)
    }
}

/// The transfer bill a claim of `amount` fen from `allowance` creates: the allowance's scene,
/// report infos and remark (unless the claim names its own), paid to the claimant `me`.
fn claim_bill(
    allowance: &Allowance,
    req: &ClaimRequest,
    out_bill_no: OutBillNo,
    me: OpenId,
    amount: i64,
) -> Result<TransferRequest, FieldError> {
    let amount = AmountFen::new("transfer_amount", amount)?;
    user_name_rule(amount, req.user_name.as_deref())?;
    let reports = serde_json::from_value::<Vec<TransferSceneReportInfo>>(
        allowance.transfer_scene_report_infos.clone(),
    )
    .ok()
    .filter(|r| !r.is_empty())
    .ok_or_else(|| FieldError::new("transfer_scene_report_infos", REPORTS_RULE))?;
    Ok(TransferRequest {
        out_bill_no,
        transfer_scene_id: allowance.transfer_scene_id.clone(),
        openid: Some(me),
        amount,
        transfer_remark: req
            .transfer_remark
            .clone()
            .unwrap_or_else(|| allowance.transfer_remark.clone()),
        transfer_scene_report_infos: reports,
        user_name: req.user_name.clone(),
        user_recv_perception: req.user_recv_perception.clone(),
        use_service_account: false,
        appid: Repeated::absent("appid"),
    })
}

fn no_store() -> PayError {
    PayError::forbidden(
        "NO_LEDGER",
        "payout allowances need the shipped ledger (DATABASE_URL); this service runs on a custom order service",
    )
}

/// Why a claim cannot be paid from `allowance` (as it is now): no allowance at all, one that
/// is not ACTIVE, or too little left.
pub fn claim_refusal(allowance: Option<&Allowance>, amount: i64, now: i64) -> PayError {
    let Some(a) = allowance else {
        return PayError::forbidden(
            "NO_ALLOWANCE",
            "no payout allowance is open for this user; the business grants one with POST /wx-pay/admin/payout_grant",
        );
    };
    match a.state_at(now) {
        AllowanceState::Active => ServiceError::new(
            ServiceErrorKind::Invalid,
            "ALLOWANCE_EXCEEDED",
            format!(
                "transfer_amount {amount} is more than the {} fen left on allowance {}",
                a.remaining(),
                a.allowance_id
            ),
        )
        .into(),
        state => PayError::forbidden(
            "NO_ALLOWANCE",
            format!(
                "allowance {} is {}; nothing can be claimed from it",
                a.allowance_id,
                state.as_str()
            ),
        ),
    }
}

/// `PO` + Unix seconds + 14 random letters and digits: a valid, unique `out_bill_no`.
pub fn generate_out_bill_no(now: i64) -> OutBillNo {
    OutBillNo::parse(format!("PO{now}{}", random_alphanumeric(14)))
        .expect("generated number is valid")
}

/// A claim whose bill number was already recorded: the same claim again (resend the stored
/// body), a bill that ended and gave its amount back (claim again with a new number), or a reuse.
fn repeated_claim(
    allowance_id: &str,
    draft: &TransferDraft,
    fingerprint: String,
    request_body: String,
    link: Option<ClaimLink>,
) -> Result<TransferAdmission, ServiceError> {
    let no = draft.out_bill_no.as_str();
    let same = fingerprint == draft.fingerprint;
    match link {
        Some(l) if same && l.allowance_id == allowance_id && !l.restored => {
            Ok(TransferAdmission::Existing { request_body })
        }
        Some(l) if same && l.restored => Err(ServiceError::new(
            ServiceErrorKind::Conflict,
            "OUT_BILL_NO_USED",
            format!(
                "out_bill_no {no} ended without payment and its amount went back to allowance {}; claim again with a new out_bill_no",
                l.allowance_id
            ),
        )),
        _ => Err(number_reused(
            "OUT_BILL_NO_USED",
            "out_bill_no",
            no,
            "transfer",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pay::allowance::GrantDraft;

    fn grant(body: Value) -> Result<GrantDraft, FieldError> {
        grant_draft(&GrantRequest::parse(&body)?, 1_700_000_000)
    }

    #[test]
    fn refusals_name_the_state_or_what_is_left() {
        let a = grant(json!({ "openid": "o1", "amount": 100 })).unwrap();
        let stored = Allowance {
            allowance_id: a.allowance_id.clone(),
            grant_no: None,
            openid: "o1".into(),
            amount: 100,
            claimed: 30,
            revoked: false,
            transfer_scene_id: a.transfer_scene_id,
            transfer_remark: a.transfer_remark,
            transfer_scene_report_infos: a.transfer_scene_report_infos,
            expires_at: None,
            created_at: 0,
            updated_at: 0,
        };
        let e = claim_refusal(Some(&stored), 80, 0);
        assert!(
            matches!(&e, PayError::Service(s) if s.code == "ALLOWANCE_EXCEEDED" && s.message.contains("70 fen left")),
            "{e:?}"
        );
        let revoked = Allowance {
            revoked: true,
            ..stored
        };
        let e = claim_refusal(Some(&revoked), 1, 0);
        assert!(
            matches!(&e, PayError::Forbidden { code: "NO_ALLOWANCE", message } if message.contains("REVOKED")),
            "{e:?}"
        );
        assert!(matches!(
            claim_refusal(None, 1, 0),
            PayError::Forbidden {
                code: "NO_ALLOWANCE",
                ..
            }
        ));
    }

    #[test]
    fn generated_bill_numbers_are_valid_and_differ() {
        let a = generate_out_bill_no(1_700_000_000);
        assert!(a.as_str().len() <= 32);
        assert_ne!(a, generate_out_bill_no(1_700_000_000));
    }
}
