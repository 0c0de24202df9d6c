//! Merchant transfers (the 2025 transfer-bills API): create, the two queries and cancel, with
//! ACCEPTED → WAIT_USER_CONFIRM → SUCCESS / FAIL, and cancel before confirmation →
//! CANCELING → CANCELLED. A `user_name` (required from 200000 fen) must be RSA-OAEP(SHA-1)
//! encrypted to the key the request's `Wechatpay-Serial` names.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::{Value, json};

use super::api::{self, Reply, SimError, ok, opt_str, req_fen, req_str, respond};
use super::records::Transfer;
use super::state::{Shared, Sim, later};
use super::verify::Authed;
use super::verify::check_appid;
use super::{callbacks, ids};
use wechatpay::crypto::{HEADER_SERIAL, random_alphanumeric};
use wechatpay::model::TransferBill;

/// Transfers from this amount (fen) up need the payee's real name.
pub const USER_NAME_THRESHOLD: i64 = 200_000;

fn not_found() -> SimError {
    SimError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "记录不存在")
}

impl Sim {
    fn create_transfer(self: &Shared, authed: &Authed, body: &[u8]) -> Reply {
        let v = api::parse_body(body)?;
        let appid = req_str(&v, "/appid", 32)?;
        check_appid(self, appid)?;
        let out_bill_no = req_str(&v, "/out_bill_no", 32)?;
        if !out_bill_no.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(SimError::param(
                "/out_bill_no",
                "must be letters and digits only",
            ));
        }
        req_str(&v, "/transfer_scene_id", 36)?;
        let openid = req_str(&v, "/openid", 64)?;
        let amount = req_fen(&v, "/transfer_amount")?;
        let remark = req_str(&v, "/transfer_remark", 32)?;
        match v.pointer("/transfer_scene_report_infos") {
            Some(Value::Array(a)) if !a.is_empty() => {}
            _ => {
                return Err(SimError::param(
                    "/transfer_scene_report_infos",
                    "is required",
                ));
            }
        }
        let notify_url = opt_str(&v, "/notify_url", 256)?;
        if let Some(url) = notify_url {
            api::check_notify_url(url, "/notify_url", 256)?;
        }
        match opt_str(&v, "/user_name", 1024)? {
            Some(cipher) => self.check_user_name(authed, cipher)?,
            None if amount >= USER_NAME_THRESHOLD => {
                return Err(SimError::param("/user_name", "is required from 200000 fen"));
            }
            None => {}
        }
        let mut store = self.store();
        if let Some(existing) = store.transfers.get(out_bill_no) {
            return ok(existing.created_json());
        }
        let now = self.now();
        // ACCEPTED is passed through at once: the answer already waits for the payee.
        let bill = Transfer {
            out_bill_no: out_bill_no.to_string(),
            transfer_bill_no: format!("1330{}", ids::digits(28)),
            appid: appid.to_string(),
            openid: openid.to_string(),
            amount,
            remark: remark.to_string(),
            state: "WAIT_USER_CONFIRM",
            package_info: format!("ABBQO+oYAAABAAAAAAAk{}", random_alphanumeric(40)),
            fail_reason: None,
            notify_url: notify_url.map(str::to_string),
            create_time: now,
            update_time: now,
        };
        let answer = bill.created_json();
        store.transfers.insert(out_bill_no.to_string(), bill);
        drop(store);
        let no = out_bill_no.to_string();
        later(self, self.cfg.auto_confirm_after, move |sim| {
            let _ = sim.finish_transfer(&no, None);
        });
        ok(answer)
    }

    fn check_user_name(&self, authed: &Authed, cipher: &str) -> Result<(), SimError> {
        let serial = authed.wechatpay_serial.as_deref().ok_or_else(|| {
            SimError::param_at("header", HEADER_SERIAL, "is required with user_name")
        })?;
        let key = self
            .keys
            .private_for(serial)
            .ok_or_else(|| SimError::param_at("header", HEADER_SERIAL, "names no key we hold"))?;
        match key.decrypt_oaep(cipher) {
            Ok(name) if !name.trim().is_empty() => Ok(()),
            _ => Err(SimError::param(
                "/user_name",
                format!("is not RSA-OAEP encrypted to the key {serial}"),
            )),
        }
    }

    /// Ends a bill awaiting the payee: SUCCESS (`reason` = None) or FAIL, then
    /// `MCHTRANSFER.BILL.FINISHED`.
    pub fn finish_transfer(
        self: &Shared,
        out_bill_no: &str,
        reason: Option<&str>,
    ) -> Result<TransferBill, SimError> {
        let mut store = self.store();
        let bill = store.transfers.get_mut(out_bill_no).ok_or_else(not_found)?;
        if !matches!(
            bill.state,
            "ACCEPTED" | "PROCESSING" | "WAIT_USER_CONFIRM" | "TRANSFERING"
        ) {
            let msg = format!("transfer is {}", bill.state);
            return Err(SimError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                msg,
            ));
        }
        let stale = bill.to_json(&self.cfg.mchid);
        bill.state = if reason.is_some() { "FAIL" } else { "SUCCESS" };
        bill.fail_reason = reason.map(str::to_string);
        bill.update_time = self.now();
        let bill = bill.clone();
        drop(store);
        Ok(self.transfer_finished(&bill, stale))
    }

    fn transfer_finished(self: &Shared, bill: &Transfer, stale: Value) -> TransferBill {
        let now = bill.to_json(&self.cfg.mchid);
        if let Some(url) = &bill.notify_url {
            let n = callbacks::Notice::new(
                "MCHTRANSFER.BILL.FINISHED",
                "商家转账单据终态通知",
                "mch_payment",
                now.clone(),
            );
            callbacks::spawn(self, url, n.with_stale(stale));
        }
        serde_json::from_value(now).unwrap_or_default()
    }

    fn cancel_transfer(self: &Shared, out_bill_no: &str) -> Reply {
        let mut store = self.store();
        let bill = store.transfers.get_mut(out_bill_no).ok_or_else(not_found)?;
        if !matches!(bill.state, "ACCEPTED" | "WAIT_USER_CONFIRM") {
            let msg = format!(
                "transfer is {}, only unconfirmed bills can be cancelled",
                bill.state
            );
            return Err(SimError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                msg,
            ));
        }
        let stale = bill.to_json(&self.cfg.mchid);
        bill.update_time = self.now();
        let answer = json!({
            "out_bill_no": bill.out_bill_no, "transfer_bill_no": bill.transfer_bill_no,
            "state": "CANCELING", "update_time": ids::rfc3339(bill.update_time),
        });
        // CANCELING is answered; the bill settles as CANCELLED before the next query.
        bill.state = "CANCELLED";
        let bill = bill.clone();
        drop(store);
        self.transfer_finished(&bill, stale);
        ok(answer)
    }
}

/// The transfer routes.
pub fn router() -> Router<Shared> {
    const BASE: &str = "/v3/fund-app/mch-transfer/transfer-bills";
    Router::new()
        .route(BASE, post(create))
        .route(&format!("{BASE}/out-bill-no/{{out_bill_no}}"), get(query))
        .route(
            &format!("{BASE}/transfer-bill-no/{{transfer_bill_no}}"),
            get(query_by_no),
        )
        .route(
            &format!("{BASE}/out-bill-no/{{out_bill_no}}/cancel"),
            post(cancel),
        )
}

/// 发起转账 — <https://pay.weixin.qq.com/doc/v3/merchant/4012716434>.
async fn create(
    State(sim): State<Shared>,
    Extension(authed): Extension<Authed>,
    body: Bytes,
) -> Response {
    respond(sim.create_transfer(&authed, &body))
}

/// 商户单号查询转账单 — <https://pay.weixin.qq.com/doc/v3/merchant/4012716437>
/// (page id not re-checked; same doc family as 4012716434).
async fn query(State(sim): State<Shared>, Path(no): Path<String>) -> Response {
    let store = sim.store();
    let found = store.transfers.get(&no).map(|b| b.to_json(&sim.cfg.mchid));
    respond(found.ok_or_else(not_found).and_then(ok))
}

/// 微信单号查询转账单 — <https://pay.weixin.qq.com/doc/v3/merchant/4012716457>
/// (page id not re-checked; same doc family as 4012716434).
async fn query_by_no(State(sim): State<Shared>, Path(no): Path<String>) -> Response {
    let store = sim.store();
    let found = store.transfers.values().find(|b| b.transfer_bill_no == no);
    respond(
        found
            .map(|b| b.to_json(&sim.cfg.mchid))
            .ok_or_else(not_found)
            .and_then(ok),
    )
}

/// 撤销转账 — <https://pay.weixin.qq.com/doc/v3/merchant/4012716458>
/// (page id not re-checked; same doc family as 4012716434).
async fn cancel(State(sim): State<Shared>, Path(no): Path<String>) -> Response {
    respond(sim.cancel_transfer(&no))
}
