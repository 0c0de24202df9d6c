//! Merchant transfers (the 2025 transfer-bills API): by the admin, or by the payee claiming a
//! payout allowance (`payouts`). `user_name` is encrypted with RSA-OAEP to the WeChat Pay key we
//! name in `Wechatpay-Serial`, so transfers of 2000 CNY and more work (the old function refused
//! them). Recorded before the call; a retry with the same
//! `out_bill_no` resends the same body.

use serde_json::{Value, json};

use super::error::PayError;
use super::payments::{Caller, Payments};
use super::rules::sha256_hex;
use super::service::{TransferAdmission, TransferDraft};
use super::transfer_requests::{BillLookup, TransferLookup, TransferRequest};
use super::types::FieldError;
use crate::wechatpay::api;
use crate::wechatpay::client::WechatError;
use crate::wechatpay::model::TransferBody;

impl Payments {
    /// Creates (or idempotently repeats) the transfer the admin names; adds `mchId` and
    /// `appId` for `wx.requestMerchantTransfer`. (The payee's own claim is `claim_payout`.)
    pub async fn transfer(
        &self,
        caller: &Caller,
        req: &TransferRequest,
    ) -> Result<Value, PayError> {
        self.ready()?;
        self.require_admin(caller, "merchant transfers")?;
        let draft = self.transfer_draft(caller, req)?;
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

    /// The recorded form of `req`: the payee (the caller's identity when `req` names none),
    /// the configured AppID, the fingerprint of what the caller chose and the exact WeChat body,
    /// with `user_name` encrypted to the WeChat Pay key we name.
    pub(super) fn transfer_draft(
        &self,
        caller: &Caller,
        req: &TransferRequest,
    ) -> Result<TransferDraft, PayError> {
        let openid = match &req.openid {
            Some(o) => o.clone(),
            None => caller
                .openid
                .clone()
                .ok_or_else(|| FieldError::new("openid", "is required (the payee)"))?,
        };
        let appid = self.appid_for(req.use_service_account, &req.appid)?;
        let (out_bill_no, scene, amount, remark, reports) = (
            &req.out_bill_no,
            req.transfer_scene_id.as_str(),
            req.amount,
            req.transfer_remark.as_str(),
            &req.transfer_scene_report_infos,
        );
        let user_name = req.user_name.as_deref();
        let perception = req.user_recv_perception.as_deref();
        let fingerprint = sha256_hex(
            json!([
                appid,
                out_bill_no.as_str(),
                scene,
                openid.as_str(),
                amount.fen(),
                remark,
                reports,
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
            transfer_scene_report_infos: reports.clone(),
        };
        if let Some(name) = user_name {
            let (_, key) = self.keys.preferred().ok_or_else(|| {
                WechatError::Request("no WeChat Pay key to encrypt user_name".into())
            })?;
            wx.encrypt_user_name(name, &key)
                .map_err(|e| FieldError::new("user_name", e.to_string()))?;
        }
        Ok(TransferDraft {
            out_bill_no: out_bill_no.clone(),
            appid: appid.into(),
            openid,
            amount,
            fingerprint,
            request_body: serde_json::to_string(&wx).expect("request bodies serialise"),
            actor: caller.actor(),
        })
    }

    /// Queries a transfer by our bill number (admin, or the payee).
    pub async fn transfer_query(
        &self,
        caller: &Caller,
        req: &TransferLookup,
    ) -> Result<Value, PayError> {
        let (client, _) = self.ready()?;
        let no = &req.out_bill_no;
        if !caller.admin {
            let Some(me) = &caller.openid else {
                return Err(self
                    .require_admin(caller, "querying a transfer without identity")
                    .unwrap_err());
            };
            match self.book.transfer_payee(no).await? {
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

    /// Who may query transfers by WeChat's bill number: the admin.
    pub fn may_query_by_bill_no(&self, caller: &Caller) -> Result<(), PayError> {
        self.require_admin(caller, "querying transfers by transfer_bill_no")
    }

    /// Queries a transfer by WeChat's bill number (admin).
    pub async fn transfer_query_by_no(
        &self,
        caller: &Caller,
        req: &BillLookup,
    ) -> Result<Value, PayError> {
        let (client, _) = self.ready()?;
        self.may_query_by_bill_no(caller)?;
        let answer = client
            .execute(&api::QueryTransferByBillNo {
                transfer_bill_no: req.transfer_bill_no.to_string(),
            })
            .await?;
        Ok(answer.json())
    }

    /// Who may cancel transfers: the admin.
    pub fn may_cancel_transfer(&self, caller: &Caller) -> Result<(), PayError> {
        self.require_admin(caller, "cancelling transfers")
    }

    /// Cancels a transfer the user has not confirmed yet (admin).
    pub async fn transfer_cancel(
        &self,
        caller: &Caller,
        req: &TransferLookup,
    ) -> Result<Value, PayError> {
        let (client, _) = self.ready()?;
        self.may_cancel_transfer(caller)?;
        let answer = client
            .execute(&api::CancelTransfer {
                out_bill_no: req.out_bill_no.to_string(),
            })
            .await?;
        Ok(answer.json())
    }
}
