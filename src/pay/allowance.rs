//! Payout allowances, as data: money the business authorised one payee to claim from their own
//! Mini Program with `wxpay_transfer`, and the [`AllowanceStore`] port that persists them.
//!
//! An allowance is stored ACTIVE or REVOKED; EXPIRED (past `expires_at`) and EXHAUSTED (nothing
//! left) are derived when it is read, so time passing and money moving never need a write to
//! change the state. A claim spends part of it and creates a transfer bill in one atomic step;
//! a bill that ends FAIL, CANCELLED or REJECTED gives its amount back exactly once.

use async_trait::async_trait;
use serde::Serialize;
use serde_json::{Value, json};

use super::model::{TransferAdmission, TransferDraft};
use super::service::ServiceError;
use super::types::{AmountFen, OpenId, OutBillNo};

/// What an admin or a claim sees of an allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AllowanceState {
    /// Money left and claimable.
    Active,
    /// Everything has been claimed (a failed transfer can make it ACTIVE again).
    Exhausted,
    /// Revoked by the admin: nothing more can be claimed.
    Revoked,
    /// Past `expires_at`: nothing more can be claimed.
    Expired,
}

impl AllowanceState {
    /// Every state, for messages and filters.
    pub const ALL: [Self; 4] = [Self::Active, Self::Exhausted, Self::Revoked, Self::Expired];

    /// The name in the allowance object.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Exhausted => "EXHAUSTED",
            Self::Revoked => "REVOKED",
            Self::Expired => "EXPIRED",
        }
    }

    /// Parses a state name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// One allowance as stored. Amounts in fen, times in Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowance {
    /// `pa_…`.
    pub allowance_id: String,
    /// The business's idempotency key for the grant, if it gave one.
    pub grant_no: Option<String>,
    /// The payee.
    pub openid: String,
    /// Granted.
    pub amount: i64,
    /// Spent by transfers not (yet) failed.
    pub claimed: i64,
    /// Revoked by the admin.
    pub revoked: bool,
    /// WeChat's transfer scene of the bills a claim creates.
    pub transfer_scene_id: String,
    /// Default remark of those bills.
    pub transfer_remark: String,
    /// `transfer_scene_report_infos` of those bills.
    pub transfer_scene_report_infos: Value,
    /// No claim at or after this time.
    pub expires_at: Option<i64>,
    /// Created.
    pub created_at: i64,
    /// Last changed.
    pub updated_at: i64,
}

impl Allowance {
    /// What is left to claim.
    pub fn remaining(&self) -> i64 {
        (self.amount - self.claimed).max(0)
    }

    /// The state at `now`: REVOKED, then EXPIRED, then EXHAUSTED, else ACTIVE.
    pub fn state_at(&self, now: i64) -> AllowanceState {
        if self.revoked {
            AllowanceState::Revoked
        } else if self.expires_at.is_some_and(|t| t <= now) {
            AllowanceState::Expired
        } else if self.remaining() == 0 {
            AllowanceState::Exhausted
        } else {
            AllowanceState::Active
        }
    }

    /// The allowance object of the API and of `payout.*` events.
    pub fn to_json(&self, now: i64) -> Value {
        json!({
            "allowance_id": self.allowance_id,
            "grant_no": self.grant_no,
            "openid": self.openid,
            "amount": self.amount,
            "claimed": self.claimed,
            "remaining": self.remaining(),
            "state": self.state_at(now).as_str(),
            "transfer_scene_id": self.transfer_scene_id,
            "transfer_remark": self.transfer_remark,
            "transfer_scene_report_infos": self.transfer_scene_report_infos,
            "expires_at": self.expires_at.map(rfc3339),
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
        })
    }
}

/// Unix seconds as RFC 3339 in China Standard Time (what WeChat Pay uses).
pub fn rfc3339(ts: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(ts).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.to_offset(time::macros::offset!(+8))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A grant after validation, before it is stored.
#[derive(Debug, Clone)]
pub struct GrantDraft {
    /// The id the new allowance gets (`pa_…`); unused when `grant_no` finds an earlier one.
    pub allowance_id: String,
    /// Idempotency key.
    pub grant_no: Option<String>,
    /// The payee.
    pub openid: OpenId,
    /// Granted amount.
    pub amount: AmountFen,
    /// Transfer scene.
    pub transfer_scene_id: String,
    /// Default remark.
    pub transfer_remark: String,
    /// Scene report infos.
    pub transfer_scene_report_infos: Value,
    /// Expiry (Unix seconds).
    pub expires_at: Option<i64>,
    /// SHA-256 hex of the content: the same `grant_no` must come with the same content.
    pub fingerprint: String,
}

/// Which allowances to list.
#[derive(Debug, Clone, Default)]
pub struct AllowanceFilter {
    /// Only this payee.
    pub openid: Option<String>,
    /// Only this state (as [`Allowance::state_at`] derives it at `now`).
    pub state: Option<AllowanceState>,
    /// At most this many, newest first.
    pub limit: i64,
    /// The time states are derived at.
    pub now: i64,
}

/// The link from a transfer bill to the allowance it was claimed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimLink {
    /// The bill.
    pub out_bill_no: String,
    /// The allowance.
    pub allowance_id: String,
    /// The bill's amount.
    pub amount: i64,
    /// The amount went back to the allowance (the bill failed).
    pub restored: bool,
}

/// What [`AllowanceStore::claim`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimAdmission {
    /// Spent and recorded: send the bill (new, or a retry of the same claim).
    Admitted(TransferAdmission),
    /// The guarded spend found nothing to spend: the allowance as it is now (`None`: no such
    /// allowance for this payee). Nothing was written.
    NotClaimable(Option<Allowance>),
    /// The bill number was already recorded; what is stored under it, for `pay` to decide
    /// (the same claim again, or a reuse). Nothing was written.
    Recorded {
        /// The stored bill's fingerprint.
        fingerprint: String,
        /// The stored WeChat request body.
        request_body: String,
        /// The claim the stored bill came from, if any.
        link: Option<ClaimLink>,
    },
}

/// What [`AllowanceStore::grant`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Granted {
    /// A new allowance (`payout.granted` written).
    New(Allowance),
    /// The `grant_no` was already used; what is stored under it, for `pay` to compare.
    Existing {
        /// The stored allowance.
        allowance: Allowance,
        /// Its grant's fingerprint.
        fingerprint: String,
    },
}

/// Persistence of payout allowances. Each method is one atomic use case; every change writes
/// its `payout.*` event to the outbox in the same transaction.
#[async_trait]
pub trait AllowanceStore: Send + Sync {
    /// Stores a grant (`payout.granted`), or returns what is stored under the same `grant_no`.
    async fn grant(&self, draft: &GrantDraft) -> Result<Granted, ServiceError>;

    /// One allowance by id.
    async fn allowance(&self, allowance_id: &str) -> Result<Option<Allowance>, ServiceError>;

    /// Allowances, newest first.
    async fn allowances(&self, filter: &AllowanceFilter) -> Result<Vec<Allowance>, ServiceError>;

    /// The payee's claimable allowance at `now` that was granted first, if any.
    async fn claimable(&self, openid: &OpenId, now: i64)
    -> Result<Option<Allowance>, ServiceError>;

    /// The claim a transfer bill came from, if it came from one.
    async fn claim_of(&self, out_bill_no: &OutBillNo) -> Result<Option<ClaimLink>, ServiceError>;

    /// In one transaction: records the transfer bill, links it to the allowance and spends its
    /// amount with a guarded update (ACTIVE, not expired, enough left, same payee), writing
    /// `payout.claimed`. A bill number already recorded spends nothing and returns what is
    /// stored under it (`Recorded`).
    async fn claim(
        &self,
        allowance_id: &str,
        transfer: &TransferDraft,
    ) -> Result<ClaimAdmission, ServiceError>;

    /// Revokes an allowance (`payout.revoked` once); `None` if unknown.
    async fn revoke(&self, allowance_id: &str) -> Result<Option<Allowance>, ServiceError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowance(amount: i64, claimed: i64) -> Allowance {
        Allowance {
            allowance_id: "pa_1".into(),
            grant_no: None,
            openid: "o1".into(),
            amount,
            claimed,
            revoked: false,
            transfer_scene_id: "1000".into(),
            transfer_remark: "r".into(),
            transfer_scene_report_infos: json!([]),
            expires_at: Some(100),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn states_are_derived_revoked_then_expired_then_exhausted() {
        let a = allowance(100, 40);
        assert_eq!(a.state_at(99), AllowanceState::Active);
        assert_eq!(a.state_at(100), AllowanceState::Expired);
        assert_eq!(allowance(100, 100).state_at(0), AllowanceState::Exhausted);
        assert_eq!(allowance(100, 100).state_at(100), AllowanceState::Expired);
        let revoked = Allowance {
            revoked: true,
            ..allowance(100, 0)
        };
        assert_eq!(revoked.state_at(200), AllowanceState::Revoked);
        assert_eq!(a.remaining(), 60);
    }

    #[test]
    fn the_object_shows_times_in_rfc3339_and_what_is_left() {
        let v = allowance(100, 40).to_json(0);
        assert_eq!(v["remaining"], 60);
        assert_eq!(v["state"], "ACTIVE");
        assert_eq!(v["expires_at"], "1970-01-01T08:01:40+08:00");
        for s in AllowanceState::ALL {
            assert_eq!(AllowanceState::parse(s.as_str()), Some(s));
        }
        assert_eq!(AllowanceState::parse("active"), None);
    }
}
