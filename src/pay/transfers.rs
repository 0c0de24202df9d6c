//! Merchant transfers (the 2025 transfer-bills API): by the admin, or by the payee claiming a
//! payout allowance (`payouts`). `user_name` is encrypted with RSA-OAEP to the WeChat Pay key we
//! name in `Wechatpay-Serial`, so transfers of 2000 CNY and more work (the old function refused
//! them). Recorded before the call; a retry with the same
//! `out_bill_no` resends the same body.

use serde_json::{Value, json};

use super::error::PayError;
use super::input::object;
use super::payments::{Caller, Payments};
use super::rules::sha256_hex;
use super::service::{TransferAdmission, TransferDraft};
use super::types::{AmountFen, FieldError, OpenId, OutBillNo, TransferBillNo};
use crate::wechatpay::api;
use crate::wechatpay::client::WechatError;
use crate::wechatpay::model::{TransferBody, TransferSceneReportInfo};

/// From this amount (fen) WeChat requires the payee's real name: 2000 CNY.
pub const USER_NAME_REQUIRED_FROM_FEN: i64 = 200_000;

impl Payments {
    /// Creates (or idempotently repeats) a transfer; adds `mchId` and `appId` for
    /// `wx.requestMerchantTransfer`.
    pub async fn transfer(&self, caller: &Caller, body: &Value) -> Result<Value, PayError> {
        self.ready()?;
        // Payout allowances: without the admin credential this is the payee's own claim.
        if !caller.admin {
            return self.claim_payout(caller, body).await;
        }
        let draft = self.transfer_draft(caller, body)?;
        let admission = self.book.record_transfer(&draft).await?;
        self.send_transfer(&draft, admission).await
    }

    /// Sends a recorded transfer to WeChat (the new body, or the stored one of a repeat) and
    /// records what WeChat said; adds `mchId` and `appId`.
    pub(super) async fn send_transfer(
        &self,
        draft: &TransferDraft,
        admission: TransferAdmission,
    ) -> Result<Value, PayError> {
        let (client, creds) = self.ready()?;
        let request_body = match admission {
            TransferAdmission::New => draft.request_body.clone(),
            TransferAdmission::Existing { request_body } => request_body,
        };
        let request = api::CreateTransfer {
            body: request_body.into_bytes(),
        };
        match client.execute(&request).await {
            Ok(answer) => {
                self.book.transfer_accepted(&answer.data).await?;
                tracing::info!(out_bill_no = %draft.out_bill_no, amount = draft.amount.fen(), state = %answer.data.state, "transfer accepted");
                let mut data = answer.json();
                if !data.is_object() {
                    data = serde_json::to_value(&answer.data).unwrap_or_else(|_| json!({}));
                }
                data["mchId"] = creds.mchid.clone().into();
                data["appId"] = draft.appid.clone().into();
                Ok(data)
            }
            Err(e) => {
                if super::refunds::is_definitive_refusal(&e) {
                    self.book
                        .transfer_rejected(&draft.out_bill_no, &e.to_string())
                        .await?;
                }
                Err(e.into())
            }
        }
    }

    pub(super) fn transfer_draft(
        &self,
        caller: &Caller,
        body: &Value,
    ) -> Result<TransferDraft, PayError> {
        let input = object(body)?;
        let out_bill_no = OutBillNo::parse(input.req_str("out_bill_no", 64)?)?;
        let scene = input.req_str("transfer_scene_id", 36)?;
        let openid = match input.opt_str("openid", 128)? {
            Some(o) => OpenId::parse(o)?,
            None => caller
                .openid
                .clone()
                .ok_or_else(|| FieldError::new("openid", "is required (the payee)"))?,
        };
        let amount = AmountFen::from_json(
            "transfer_amount",
            input.get("transfer_amount").unwrap_or(&Value::Null),
        )?;
        let remark = input.req_str("transfer_remark", 32)?;
        let reports = input.get("transfer_scene_report_infos");
        let reports: Vec<TransferSceneReportInfo> = reports
            .and_then(|r| serde_json::from_value(r.clone()).ok())
            .filter(|r: &Vec<TransferSceneReportInfo>| !r.is_empty())
            .ok_or_else(|| {
                FieldError::new(
                    "transfer_scene_report_infos",
                    "must be a non-empty array of {info_type, info_content} strings",
                )
            })?;
        let user_name = input
            .opt_str("user_name", 64)?
            .filter(|n| !n.trim().is_empty());
        if amount.fen() >= USER_NAME_REQUIRED_FROM_FEN && user_name.is_none() {
            return Err(FieldError::new(
                "user_name",
                "is required for transfers of 2000 CNY (200000 fen) or more",
            )
            .into());
        }
        let perception = input.opt_str("user_recv_perception", 64)?;
        let appid = self.request_appid(input)?;
        let fingerprint = sha256_hex(
            json!([
                appid,
                out_bill_no.as_str(),
                scene,
                openid.as_str(),
                amount.fen(),
                remark,
                &reports,
                user_name.map(|n| sha256_hex(n.as_bytes())),
                perception
            ])
            .to_string()
            .as_bytes(),
        );
        let mut wx = TransferBody {
            appid: appid.into(),
            out_bill_no: out_bill_no.to_string(),
            transfer_scene_id: scene.into(),
            openid: openid.to_string(),
            transfer_amount: amount.fen(),
            transfer_remark: remark.into(),
            user_name: None,
            notify_url: self.config.notify_transfer_url.clone(),
            user_recv_perception: perception.map(str::to_string),
            transfer_scene_report_infos: reports,
        };
        if let Some(name) = user_name {
            let (_, key) = self.keys.preferred().ok_or_else(|| {
                WechatError::Request("no WeChat Pay key to encrypt user_name".into())
            })?;
            wx.encrypt_user_name(name, &key)
                .map_err(|e| FieldError::new("user_name", e.to_string()))?;
        }
        Ok(TransferDraft {
            out_bill_no,
            appid: appid.into(),
            openid,
            amount,
            fingerprint,
            request_body: serde_json::to_string(&wx).expect("request bodies serialise"),
            actor: caller.actor(),
        })
    }

    /// Queries a transfer by our bill number (admin, or the payee).
    pub async fn transfer_query(&self, caller: &Caller, body: &Value) -> Result<Value, PayError> {
        let (client, _) = self.ready()?;
        let no = OutBillNo::parse(object(body)?.req_str("out_bill_no", 64)?)?;
        if !caller.admin {
            let Some(me) = &caller.openid else {
                return Err(self
                    .require_admin(caller, "querying a transfer without identity")
                    .unwrap_err());
            };
            match self.book.transfer_payee(&no).await? {
                None => {
                    return Err(PayError::NotFound(format!(
                        "transfer {no} is not recorded; check out_bill_no"
                    )));
                }
                Some(p) if p == me.as_str() => {}
                Some(_) => {
                    return Err(PayError::forbidden(
                        "NOT_OWNER",
                        format!("transfer {no} belongs to another user"),
                    ));
                }
            }
        }
        let answer = client
            .execute(&api::QueryTransferByOutBillNo {
                out_bill_no: no.to_string(),
            })
            .await?;
        Ok(answer.json())
    }

    /// Queries a transfer by WeChat's bill number (admin).
    pub async fn transfer_query_by_no(
        &self,
        caller: &Caller,
        body: &Value,
    ) -> Result<Value, PayError> {
        let (client, _) = self.ready()?;
        self.require_admin(caller, "querying transfers by transfer_bill_no")?;
        let no = TransferBillNo::parse(object(body)?.req_str("transfer_bill_no", 64)?)?;
        let answer = client
            .execute(&api::QueryTransferByBillNo {
                transfer_bill_no: no.to_string(),
            })
            .await?;
        Ok(answer.json())
    }

    /// Cancels a transfer the user has not confirmed yet (admin).
    pub async fn transfer_cancel(&self, caller: &Caller, body: &Value) -> Result<Value, PayError> {
        let (client, _) = self.ready()?;
        self.require_admin(caller, "cancelling transfers")?;
        let no = OutBillNo::parse(object(body)?.req_str("out_bill_no", 64)?)?;
        let answer = client
            .execute(&api::CancelTransfer {
                out_bill_no: no.to_string(),
            })
            .await?;
        Ok(answer.json())
    }
}
