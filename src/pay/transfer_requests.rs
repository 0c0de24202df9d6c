//! The typed request bodies of the transfer routes and the admin payout routes, the sibling of
//! `requests.rs` (orders and refunds). The HTTP edge parses the caller's JSON into these
//! (`http/routes.rs::dispatch`, `http/admin.rs`) after the checks that come first (WeChat
//! credentials, the admin role, the payee's identity), so below the edge nothing reads raw
//! JSON; every error names the field and the rule. What needs the configuration, the caller
//! or the clock (the configured AppID, the payee, an expiry in the future) is checked by `pay`
//! on the typed value.

use serde_json::{Value, json};

use super::allowance::AllowanceState;
use super::input::{Input, object};
use super::requests::{Repeated, TIME_EXPIRE_RULE};
use super::types::{AmountFen, FieldError, OpenId, OutBillNo, TransferBillNo};
use crate::wechatpay::model::TransferSceneReportInfo;

/// From this amount (fen) WeChat requires the payee's real name: 2000 CNY.
pub const USER_NAME_REQUIRED_FROM_FEN: i64 = 200_000;

/// The `transfer_scene_report_infos` rule, in its one wording.
pub const REPORTS_RULE: &str = "must be a non-empty array of {info_type, info_content} strings";

/// Transfer scene of a grant that names none: 1000, 现金营销 (cash marketing).
pub const DEFAULT_SCENE: &str = "1000";
/// Remark of a grant that names none (shown to the payee; at most 32 characters).
pub const DEFAULT_REMARK: &str = "现金奖励";

/// Listing size when `limit` is not given, and its ceiling.
pub const LIST_DEFAULT: i64 = 100;
/// The largest `limit` of `admin/payouts`.
pub const LIST_MAX: i64 = 1000;

/// `wxpay_transfer` with the admin credential: the whole transfer bill, named by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferRequest {
    /// Our bill number (the idempotency key).
    pub out_bill_no: OutBillNo,
    /// WeChat's transfer scene (at most 36 characters).
    pub transfer_scene_id: String,
    /// The payee; `None`: the caller's own identity (`pay` requires one).
    pub openid: Option<OpenId>,
    /// `transfer_amount`.
    pub amount: AmountFen,
    /// Shown to the payee (at most 32 characters).
    pub transfer_remark: String,
    /// The scene's report infos (at least one).
    pub transfer_scene_report_infos: Vec<TransferSceneReportInfo>,
    /// The payee's real name, in clear (encrypted by `pay` before it is sent); required from
    /// [`USER_NAME_REQUIRED_FROM_FEN`].
    pub user_name: Option<String>,
    /// `user_recv_perception`, passed through.
    pub user_recv_perception: Option<String>,
    /// `useServiceAccount`: transfer under `service_app_id`.
    pub use_service_account: bool,
    /// `appid` as sent (only the configured value is allowed).
    pub appid: Repeated,
}

impl TransferRequest {
    /// Parses an admin transfer body.
    pub fn parse(body: &Value) -> Result<Self, FieldError> {
        let input = object(body)?;
        let out_bill_no = OutBillNo::parse(input.req_str("out_bill_no", 64)?)?;
        let transfer_scene_id = input.req_str("transfer_scene_id", 36)?.to_string();
        let openid = input
            .opt_str("openid", 128)?
            .map(OpenId::parse)
            .transpose()?;
        let amount = AmountFen::from_json(
            "transfer_amount",
            input.get("transfer_amount").unwrap_or(&Value::Null),
        )?;
        let transfer_remark = input.req_str("transfer_remark", 32)?.to_string();
        let transfer_scene_report_infos = input
            .get("transfer_scene_report_infos")
            .and_then(|r| serde_json::from_value::<Vec<TransferSceneReportInfo>>(r.clone()).ok())
            .filter(|r| !r.is_empty())
            .ok_or_else(|| FieldError::new("transfer_scene_report_infos", REPORTS_RULE))?;
        let user_name = present(input.opt_str("user_name", 64)?);
        user_name_rule(amount, user_name.as_deref())?;
        let user_recv_perception = input
            .opt_str("user_recv_perception", 64)?
            .map(str::to_string);
        Ok(Self {
            out_bill_no,
            transfer_scene_id,
            openid,
            amount,
            transfer_remark,
            transfer_scene_report_infos,
            user_name,
            user_recv_perception,
            use_service_account: input.opt_bool("useServiceAccount")?,
            appid: Repeated::read(input, "appid"),
        })
    }
}

/// WeChat wants the payee's real name from 2000 CNY: refuses `amount` without one.
pub fn user_name_rule(amount: AmountFen, user_name: Option<&str>) -> Result<(), FieldError> {
    if amount.fen() >= USER_NAME_REQUIRED_FROM_FEN && user_name.is_none() {
        return Err(FieldError::new(
            "user_name",
            "is required for transfers of 2000 CNY (200000 fen) or more",
        ));
    }
    Ok(())
}

/// A text that is there and not blank.
fn present(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty()).map(str::to_string)
}

/// `wxpay_transfer` without the admin credential: the payee claims from a payout allowance.
/// Everything is optional; the allowance says the scene, the amount left and the remark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRequest {
    /// An `openid` the caller sent (only their own identity is accepted; `pay` checks).
    pub openid: Option<String>,
    /// Our bill number; generated when absent (a retry repeats it).
    pub out_bill_no: Option<OutBillNo>,
    /// Which allowance; the caller's claimable one when absent.
    pub allowance_id: Option<String>,
    /// `transfer_amount`; what is left when absent.
    pub amount: Option<AmountFen>,
    /// Shown to the payee instead of the allowance's remark (not blank, at most 32 characters).
    pub transfer_remark: Option<String>,
    /// The payee's real name, in clear (blank counts as absent).
    pub user_name: Option<String>,
    /// `user_recv_perception`, passed through.
    pub user_recv_perception: Option<String>,
}

impl ClaimRequest {
    /// Parses a claim body (`{}` is a claim of everything left).
    pub fn parse(body: &Value) -> Result<Self, FieldError> {
        let input = object(body)?;
        Ok(Self {
            openid: input.opt_str("openid", 128)?.map(str::to_string),
            out_bill_no: input
                .opt_str("out_bill_no", 64)?
                .map(OutBillNo::parse)
                .transpose()?,
            allowance_id: input.opt_str("allowance_id", 64)?.map(str::to_string),
            amount: input
                .get("transfer_amount")
                .map(|v| AmountFen::from_json("transfer_amount", v))
                .transpose()?,
            transfer_remark: present(input.opt_str("transfer_remark", 32)?),
            user_name: present(input.opt_str("user_name", 64)?),
            user_recv_perception: input
                .opt_str("user_recv_perception", 64)?
                .map(str::to_string),
        })
    }
}

/// `wxpay_transfer_bill_query`, `wxpay_transfer_batch_query`, `wxpay_transfer_cancel`: a
/// transfer by our bill number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferLookup {
    /// Our bill number.
    pub out_bill_no: OutBillNo,
}

impl TransferLookup {
    /// Parses `{out_bill_no}`.
    pub fn parse(body: &Value) -> Result<Self, FieldError> {
        let input = object(body)?;
        Ok(Self {
            out_bill_no: OutBillNo::parse(input.req_str("out_bill_no", 64)?)?,
        })
    }
}

/// `wxpay_transfer_bill_query_by_no`: a transfer by WeChat's bill number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillLookup {
    /// WeChat's bill number.
    pub transfer_bill_no: TransferBillNo,
}

impl BillLookup {
    /// Parses `{transfer_bill_no}`.
    pub fn parse(body: &Value) -> Result<Self, FieldError> {
        let input = object(body)?;
        Ok(Self {
            transfer_bill_no: TransferBillNo::parse(input.req_str("transfer_bill_no", 64)?)?,
        })
    }
}

/// `admin/payout_grant`: the payee, the amount, the transfer scene and its report infos
/// (defaults for scene 1000), the remark, the expiry and the idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRequest {
    /// The payee.
    pub openid: OpenId,
    /// Granted amount.
    pub amount: AmountFen,
    /// Transfer scene of the bills claims create ([`DEFAULT_SCENE`] when not given).
    pub transfer_scene_id: String,
    /// Remark of those bills ([`DEFAULT_REMARK`] when not given).
    pub transfer_remark: String,
    /// Their report infos, as sent (a non-empty array of `{info_type, info_content}` strings),
    /// or the defaults of scene 1000.
    pub transfer_scene_report_infos: Value,
    /// `expires_at` as Unix seconds (`pay` requires it to be in the future).
    pub expires_at: Option<i64>,
    /// The idempotency key: 1-64 letters, digits, `_` or `-`.
    pub grant_no: Option<String>,
}

impl GrantRequest {
    /// Parses a grant body.
    pub fn parse(body: &Value) -> Result<Self, FieldError> {
        let input = object(body)?;
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
        let reports = grant_reports(input, scene, remark)?;
        let expires_at = match input.opt_str("expires_at", 64)? {
            None => None,
            Some(s) => Some(
                time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| FieldError::new("expires_at", TIME_EXPIRE_RULE))?
                    .unix_timestamp(),
            ),
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
        Ok(Self {
            openid,
            amount,
            transfer_scene_id: scene.to_string(),
            transfer_remark: remark.to_string(),
            transfer_scene_report_infos: reports,
            expires_at,
            grant_no: grant_no.map(str::to_string),
        })
    }

    /// Refuses an `expires_at` that is not after `now`.
    pub fn check_expiry(&self, now: i64) -> Result<(), FieldError> {
        match self.expires_at {
            Some(t) if t <= now => Err(FieldError::new("expires_at", TIME_EXPIRE_RULE)),
            _ => Ok(()),
        }
    }
}

/// The report infos of a grant: as sent, or the defaults of scene 1000.
fn grant_reports(input: Input<'_>, scene: &str, remark: &str) -> Result<Value, FieldError> {
    match input.get("transfer_scene_report_infos") {
        Some(r) if valid_reports(r) => Ok(r.clone()),
        Some(_) => Err(FieldError::new("transfer_scene_report_infos", REPORTS_RULE)),
        None if scene == DEFAULT_SCENE => Ok(json!([
            { "info_type": "活动名称", "info_content": remark },
            { "info_type": "奖励说明", "info_content": remark },
        ])),
        None => Err(FieldError::new(
            "transfer_scene_report_infos",
            "is required for a transfer_scene_id other than 1000",
        )),
    }
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

/// `admin/payouts`: which allowances to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutFilter {
    /// Only this payee.
    pub openid: Option<String>,
    /// Only this state.
    pub state: Option<AllowanceState>,
    /// At most this many (1 to [`LIST_MAX`], [`LIST_DEFAULT`] when not given).
    pub limit: i64,
}

impl PayoutFilter {
    /// Parses `{openid?, state?, limit?}`.
    pub fn parse(body: &Value) -> Result<Self, FieldError> {
        let input = object(body)?;
        let state = match input.opt_str("state", 16)? {
            None => None,
            Some(s) => Some(AllowanceState::parse(s).ok_or_else(|| {
                FieldError::new("state", "must be ACTIVE, EXHAUSTED, REVOKED or EXPIRED")
            })?),
        };
        let limit = input.list_limit(LIST_DEFAULT, LIST_MAX)?;
        Ok(Self {
            openid: input.opt_str("openid", 128)?.map(str::to_string),
            state,
            limit,
        })
    }
}

/// `admin/payout_revoke`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokeRequest {
    /// The allowance (`pa_…`).
    pub allowance_id: String,
}

impl RevokeRequest {
    /// Parses `{allowance_id}`.
    pub fn parse(body: &Value) -> Result<Self, FieldError> {
        let input = object(body)?;
        Ok(Self {
            allowance_id: input.req_str("allowance_id", 64)?.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error `parse` gives, as `field rule`.
    fn refusal<T: std::fmt::Debug>(r: Result<T, FieldError>) -> String {
        r.unwrap_err().to_string()
    }

    fn with(base: &Value, patch: Value) -> Value {
        let mut b = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                b.as_object_mut().unwrap().remove(k);
            } else {
                b[k] = v.clone();
            }
        }
        b
    }

    fn transfer() -> Value {
        json!({
            "out_bill_no": "BILL0001", "transfer_scene_id": "1000", "openid": "oAlice_1",
            "transfer_amount": 100, "transfer_remark": "cash prize",
            "transfer_scene_report_infos": [{ "info_type": "活动名称", "info_content": "新会员有礼" }],
        })
    }

    #[test]
    fn an_admin_transfer_reads_every_field() {
        let t = TransferRequest::parse(&with(
            &transfer(),
            json!({ "user_recv_perception": "现金奖励", "appid": "wx1", "useServiceAccount": true }),
        ))
        .unwrap();
        assert_eq!(t.out_bill_no.as_str(), "BILL0001");
        assert_eq!(t.openid.as_ref().map(OpenId::as_str), Some("oAlice_1"));
        assert_eq!(
            (t.amount.fen(), t.transfer_remark.as_str()),
            (100, "cash prize")
        );
        assert_eq!(t.transfer_scene_report_infos[0].info_content, "新会员有礼");
        assert_eq!(t.user_recv_perception.as_deref(), Some("现金奖励"));
        assert!(t.use_service_account && t.user_name.is_none());
        assert_eq!(
            t.appid
                .must_equal("wx2", "the AppID comes from the configuration")
                .unwrap_err()
                .field,
            "appid"
        );
        let own = TransferRequest::parse(&with(&transfer(), json!({ "openid": null }))).unwrap();
        assert_eq!(own.openid, None, "the payee may be the caller's identity");
    }

    #[test]
    fn an_admin_transfer_names_the_field_and_the_rule() {
        let cases = [
            (json!({ "out_bill_no": null }), "out_bill_no is required"),
            (
                json!({ "out_bill_no": "BILL_1" }),
                "out_bill_no must be 1-32 letters and digits (no _ or -)",
            ),
            (json!({ "out_bill_no": 7 }), "out_bill_no must be a string"),
            (
                json!({ "transfer_scene_id": "x".repeat(37) }),
                "transfer_scene_id must be at most 36 characters",
            ),
            (
                json!({ "openid": "o 1" }),
                "openid must be 1-128 characters of letters, digits, _ or -",
            ),
            (
                json!({ "transfer_amount": "100" }),
                "transfer_amount must be a positive integer (fen)",
            ),
            (
                json!({ "transfer_amount": null }),
                "transfer_amount must be a positive integer (fen)",
            ),
            (
                json!({ "transfer_remark": "  " }),
                "transfer_remark is required",
            ),
            (
                json!({ "transfer_remark": "备".repeat(33) }),
                "transfer_remark must be at most 32 characters",
            ),
            (
                json!({ "transfer_scene_report_infos": [] }),
                "transfer_scene_report_infos must be a non-empty array of {info_type, info_content} strings",
            ),
            (
                json!({ "transfer_scene_report_infos": [{ "info_type": 1, "info_content": "x" }] }),
                "transfer_scene_report_infos must be a non-empty array of {info_type, info_content} strings",
            ),
            (
                json!({ "transfer_amount": 200_000 }),
                "user_name is required for transfers of 2000 CNY (200000 fen) or more",
            ),
            (
                json!({ "transfer_amount": 200_000, "user_name": " " }),
                "user_name is required for transfers of 2000 CNY (200000 fen) or more",
            ),
            (
                json!({ "user_name": "名".repeat(65) }),
                "user_name must be at most 64 characters",
            ),
            (
                json!({ "user_recv_perception": false }),
                "user_recv_perception must be a string",
            ),
            (
                json!({ "useServiceAccount": "yes" }),
                "useServiceAccount must be true or false",
            ),
        ];
        for (patch, expected) in cases {
            let body = with(&transfer(), patch.clone());
            assert_eq!(refusal(TransferRequest::parse(&body)), expected, "{patch}");
        }
        assert_eq!(
            refusal(TransferRequest::parse(&json!([]))),
            "body must be a JSON object"
        );
        let big = with(
            &transfer(),
            json!({ "transfer_amount": 200_000, "user_name": "张三" }),
        );
        assert_eq!(
            TransferRequest::parse(&big).unwrap().user_name.as_deref(),
            Some("张三")
        );
    }

    #[test]
    fn a_claim_may_be_empty_and_reads_only_what_it_names() {
        assert_eq!(
            ClaimRequest::parse(&json!({})).unwrap(),
            ClaimRequest {
                openid: None,
                out_bill_no: None,
                allowance_id: None,
                amount: None,
                transfer_remark: None,
                user_name: None,
                user_recv_perception: None,
            }
        );
        let c = ClaimRequest::parse(&json!({
            "openid": "oAlice_1", "out_bill_no": "PO1", "allowance_id": "pa_1",
            "transfer_amount": 20, "transfer_remark": " ", "user_name": "", "user_recv_perception": "奖励",
            "transfer_scene_id": "ignored: the allowance names the scene",
        }))
        .unwrap();
        assert_eq!(c.out_bill_no.as_ref().map(OutBillNo::as_str), Some("PO1"));
        assert_eq!(
            (c.allowance_id.as_deref(), c.amount.map(AmountFen::fen)),
            (Some("pa_1"), Some(20))
        );
        assert_eq!(
            (c.transfer_remark, c.user_name),
            (None, None),
            "blank counts as absent"
        );
        assert_eq!(c.openid.as_deref(), Some("oAlice_1"));
        assert_eq!(c.user_recv_perception.as_deref(), Some("奖励"));
    }

    #[test]
    fn a_claim_names_the_field_and_the_rule() {
        let cases = [
            (json!({ "openid": 1 }), "openid must be a string"),
            (
                json!({ "out_bill_no": "PO-1" }),
                "out_bill_no must be 1-32 letters and digits (no _ or -)",
            ),
            (
                json!({ "allowance_id": "p".repeat(65) }),
                "allowance_id must be at most 64 characters",
            ),
            (
                json!({ "transfer_amount": 0 }),
                "transfer_amount must be a positive integer (fen)",
            ),
            (
                json!({ "transfer_amount": 1.5 }),
                "transfer_amount must be a positive integer (fen)",
            ),
            (
                json!({ "transfer_remark": "x".repeat(33) }),
                "transfer_remark must be at most 32 characters",
            ),
            (
                json!({ "user_name": ["张三"] }),
                "user_name must be a string",
            ),
            (
                json!({ "user_recv_perception": "x".repeat(65) }),
                "user_recv_perception must be at most 64 characters",
            ),
            (json!("claim"), "body must be a JSON object"),
        ];
        for (body, expected) in cases {
            assert_eq!(refusal(ClaimRequest::parse(&body)), expected, "{body}");
        }
    }

    #[test]
    fn lookups_need_their_number() {
        let t = TransferLookup::parse(&json!({ "out_bill_no": "BILL0001" })).unwrap();
        assert_eq!(t.out_bill_no.as_str(), "BILL0001");
        let b = BillLookup::parse(
            &json!({ "transfer_bill_no": "1330000071100999991182020050700019480001" }),
        )
        .unwrap();
        assert_eq!(b.transfer_bill_no.as_str().len(), 40);
        for (r, expected) in [
            (
                refusal(TransferLookup::parse(&json!({}))),
                "out_bill_no is required",
            ),
            (
                refusal(TransferLookup::parse(&json!({ "out_bill_no": {} }))),
                "out_bill_no must be a string",
            ),
            (
                refusal(TransferLookup::parse(
                    &json!({ "out_bill_no": "B".repeat(33) }),
                )),
                "out_bill_no must be 1-32 letters and digits (no _ or -)",
            ),
            (
                refusal(TransferLookup::parse(
                    &json!({ "out_bill_no": "B".repeat(65) }),
                )),
                "out_bill_no must be at most 64 characters",
            ),
            (
                // Control characters are refused for every body by the edge (`http/text.rs`)
                // before any parser runs; a bill number refuses them by its own rule too.
                refusal(TransferLookup::parse(&json!({ "out_bill_no": "B\u{0}1" }))),
                "out_bill_no must be 1-32 letters and digits (no _ or -)",
            ),
            (
                refusal(BillLookup::parse(&json!({}))),
                "transfer_bill_no is required",
            ),
            (
                refusal(BillLookup::parse(&json!({ "transfer_bill_no": 1 }))),
                "transfer_bill_no must be a string",
            ),
            (
                refusal(BillLookup::parse(&json!({ "transfer_bill_no": "13-30" }))),
                "transfer_bill_no must be 1-64 letters and digits",
            ),
            (
                refusal(BillLookup::parse(
                    &json!({ "transfer_bill_no": "1".repeat(65) }),
                )),
                "transfer_bill_no must be at most 64 characters",
            ),
        ] {
            assert_eq!(r, expected);
        }
    }

    fn grant() -> Value {
        json!({ "openid": "oAlice_1", "amount": 100 })
    }

    #[test]
    fn a_grant_fills_scene_1000_defaults() {
        let g = GrantRequest::parse(&grant()).unwrap();
        assert_eq!(
            (
                g.openid.as_str(),
                g.amount.fen(),
                g.transfer_scene_id.as_str()
            ),
            ("oAlice_1", 100, DEFAULT_SCENE)
        );
        assert_eq!(g.transfer_remark, DEFAULT_REMARK);
        assert_eq!(
            g.transfer_scene_report_infos,
            json!([
                { "info_type": "活动名称", "info_content": DEFAULT_REMARK },
                { "info_type": "奖励说明", "info_content": DEFAULT_REMARK },
            ])
        );
        assert_eq!((g.expires_at, g.grant_no), (None, None));
        let reports = json!([{ "info_type": "岗位类型", "info_content": "兼职", "extra": 1 }]);
        let g = GrantRequest::parse(&with(
            &grant(),
            json!({
                "transfer_scene_id": "1005", "transfer_remark": "劳务报酬",
                "transfer_scene_report_infos": reports, "grant_no": "campaign-7_a",
                "expires_at": "2026-01-01T12:00:00+08:00",
            }),
        ))
        .unwrap();
        assert_eq!(g.transfer_scene_report_infos, reports, "kept as sent");
        assert_eq!(g.expires_at, Some(1_767_240_000));
        assert_eq!(g.grant_no.as_deref(), Some("campaign-7_a"));
        assert_eq!(g.check_expiry(1_767_239_999), Ok(()));
        assert_eq!(
            g.check_expiry(1_767_240_000).unwrap_err().to_string(),
            "expires_at must be an RFC 3339 time in the future, e.g. 2026-01-01T12:00:00+08:00"
        );
    }

    #[test]
    fn a_grant_names_the_field_and_the_rule() {
        let cases = [
            (json!({ "openid": null }), "openid is required"),
            (
                json!({ "openid": "o".repeat(129) }),
                "openid must be at most 128 characters",
            ),
            (
                json!({ "amount": null }),
                "amount must be a positive integer (fen)",
            ),
            (
                json!({ "amount": "100" }),
                "amount must be a positive integer (fen)",
            ),
            (
                json!({ "amount": 10_000_000_001_i64 }),
                "amount must be at most 10000000000 fen",
            ),
            (
                json!({ "transfer_scene_id": 1000 }),
                "transfer_scene_id must be a string",
            ),
            (
                json!({ "transfer_remark": "x".repeat(33) }),
                "transfer_remark must be at most 32 characters",
            ),
            (
                json!({ "transfer_scene_id": "1005" }),
                "transfer_scene_report_infos is required for a transfer_scene_id other than 1000",
            ),
            (
                json!({ "transfer_scene_report_infos": [] }),
                "transfer_scene_report_infos must be a non-empty array of {info_type, info_content} strings",
            ),
            (
                json!({ "transfer_scene_report_infos": { "info_type": "a", "info_content": "b" } }),
                "transfer_scene_report_infos must be a non-empty array of {info_type, info_content} strings",
            ),
            (
                json!({ "expires_at": "tomorrow" }),
                "expires_at must be an RFC 3339 time in the future, e.g. 2026-01-01T12:00:00+08:00",
            ),
            (
                json!({ "grant_no": "has space" }),
                "grant_no must be 1-64 characters of letters, digits, _ or -",
            ),
            (
                json!({ "grant_no": "" }),
                "grant_no must be 1-64 characters of letters, digits, _ or -",
            ),
            (
                json!({ "grant_no": "g".repeat(65) }),
                "grant_no must be at most 64 characters",
            ),
        ];
        for (patch, expected) in cases {
            let body = with(&grant(), patch.clone());
            assert_eq!(refusal(GrantRequest::parse(&body)), expected, "{patch}");
        }
    }

    #[test]
    fn a_payout_filter_has_defaults_and_bounds() {
        assert_eq!(
            PayoutFilter::parse(&json!({})).unwrap(),
            PayoutFilter {
                openid: None,
                state: None,
                limit: LIST_DEFAULT
            }
        );
        let f =
            PayoutFilter::parse(&json!({ "openid": "oBob", "state": "REVOKED", "limit": 1000 }))
                .unwrap();
        assert_eq!(
            (f.openid.as_deref(), f.state, f.limit),
            (Some("oBob"), Some(AllowanceState::Revoked), 1000)
        );
        for (body, expected) in [
            (
                json!({ "state": "active" }),
                "state must be ACTIVE, EXHAUSTED, REVOKED or EXPIRED",
            ),
            (
                json!({ "state": "x".repeat(17) }),
                "state must be at most 16 characters",
            ),
            (
                json!({ "limit": 0 }),
                "limit must be an integer from 1 to 1000",
            ),
            (
                json!({ "limit": 1001 }),
                "limit must be an integer from 1 to 1000",
            ),
            (
                json!({ "limit": "9" }),
                "limit must be an integer from 1 to 1000",
            ),
            (json!({ "openid": 5 }), "openid must be a string"),
            (json!(null), "body must be a JSON object"),
        ] {
            assert_eq!(refusal(PayoutFilter::parse(&body)), expected, "{body}");
        }
    }

    #[test]
    fn a_revoke_names_its_allowance() {
        let r = RevokeRequest::parse(&json!({ "allowance_id": "pa_abc" })).unwrap();
        assert_eq!(r.allowance_id, "pa_abc");
        for (body, expected) in [
            (json!({}), "allowance_id is required"),
            (json!({ "allowance_id": "" }), "allowance_id is required"),
            (
                json!({ "allowance_id": 7 }),
                "allowance_id must be a string",
            ),
            (
                json!({ "allowance_id": "p".repeat(65) }),
                "allowance_id must be at most 64 characters",
            ),
        ] {
            assert_eq!(refusal(RevokeRequest::parse(&body)), expected, "{body}");
        }
    }
}
