//! `Payments`: the orchestration handle the routes call. It holds the configuration, the WeChat
//! Pay client (absent while credentials are missing) and the money use cases ([`Book`], which
//! carries the storage port, the business hooks and the one clock).

use std::sync::Arc;

use super::allowance::AllowanceStore;
use super::book::Book;
use super::error::PayError;
use super::requests::Repeated;
use super::service::{Actor, OrderView, WechatQueries};
use super::types::FieldError;
use super::types::{OpenId, OutBillNo, OutRefundNo, OutTradeNo};
use crate::config::{Config, Credentials};
use crate::wechatpay::api;
use crate::wechatpay::client::{Client, Signer, WechatError};
use crate::wechatpay::keyring::KeyRing;
use crate::wechatpay::model::{Refund, Transaction, TransferBill};

/// Who is calling a route, as established by the HTTP edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The caller's openid: `x-wx-openid` or the CloudBase Auth token's `provider_sub`.
    pub openid: Option<OpenId>,
    /// Presented the admin credential.
    pub admin: bool,
}

impl Caller {
    /// The actor for the order service.
    pub fn actor(&self) -> Actor {
        match (&self.admin, &self.openid) {
            (true, _) => Actor::Admin,
            (false, Some(o)) => Actor::User(o.clone()),
            (false, None) => Actor::System,
        }
    }
}

/// The orchestration handle. Cheap to clone.
#[derive(Clone)]
pub struct Payments {
    /// Configuration as validated at start-up.
    pub config: Arc<Config>,
    /// The money use cases.
    pub book: Book,
    /// The WeChat client, when credentials are complete.
    pub client: Option<Client>,
    /// Verification keys (shared with the client).
    pub keys: Arc<KeyRing>,
    /// What unauthenticated gateway forwards may cost in WeChat queries.
    pub forward_budget: Arc<super::forward_budget::ForwardBudget>,
    /// Payout allowances (the shipped ledger); `None`: claims are refused, transfers admin only.
    pub allowances: Option<Arc<dyn AllowanceStore>>,
}

impl std::fmt::Debug for Payments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payments")
            .field("client", &self.client.is_some())
            .finish_non_exhaustive()
    }
}

impl Payments {
    /// Builds the handle; the client exists only when the credentials parsed.
    pub fn new(config: Arc<Config>, book: Book) -> Self {
        let clock = book.clock();
        let creds = config.credentials.clone();
        let keys = Arc::new(KeyRing::new(
            creds.as_ref().and_then(|c| c.wechatpay_public_key.clone()),
        ));
        let client = creds.filter(|_| config.can_take_payments()).map(|c| {
            let signer = Arc::new(Signer {
                mchid: c.mchid.clone(),
                serial: c.merchant_serial.clone(),
                key: c.private_key.clone(),
            });
            let v3 = c.api_v3_key.expose().as_bytes().to_vec();
            Client::new(
                &config.wechatpay_base_url,
                config.wechatpay_timeout,
                signer,
                keys.clone(),
                Some(v3),
                clock.clone(),
            )
        });
        let forward_budget = Arc::new(super::forward_budget::ForwardBudget::new(
            config.gateway_query_budget,
        ));
        Self {
            config,
            book,
            client,
            keys,
            forward_budget,
            allowances: None,
        }
    }

    /// Enables payout allowances, persisted in `store`.
    pub fn with_allowances(mut self, store: Arc<dyn AllowanceStore>) -> Self {
        self.allowances = Some(store);
        self
    }

    /// The client and credentials, or `MISSING_CREDENTIALS` naming what is wrong.
    pub fn ready(&self) -> Result<(&Client, &Credentials), PayError> {
        match (&self.client, &self.config.credentials) {
            (Some(client), Some(creds)) => Ok((client, creds)),
            _ => {
                let mut vars: Vec<String> = self
                    .config
                    .blocking_problems()
                    .iter()
                    .map(|p| p.var.to_string())
                    .collect();
                vars.dedup();
                Err(PayError::MissingCredentials(vars))
            }
        }
    }

    /// The stored order if the caller may see it: admins see all, users their own.
    pub async fn owned_order(
        &self,
        caller: &Caller,
        out_trade_no: &OutTradeNo,
    ) -> Result<Option<OrderView>, PayError> {
        let order = self.book.find_order(out_trade_no).await?;
        self.check_owner(caller, order, &format!("order {out_trade_no}"))
    }

    /// The one ownership rule: admin → anything (even unrecorded); user → only recorded orders
    /// they own; nobody else → nothing.
    pub fn check_owner(
        &self,
        caller: &Caller,
        order: Option<OrderView>,
        what: &str,
    ) -> Result<Option<OrderView>, PayError> {
        if caller.admin {
            return Ok(order);
        }
        let Some(openid) = &caller.openid else {
            return Err(PayError::Unauthenticated(
                "this needs an identity: the x-wx-openid header (wx.cloud.callHTTPFunction), Authorization: Bearer <CloudBase access token>, the order_token returned with the order (orders only), or the admin credential".into(),
            ));
        };
        match order {
            None => Err(PayError::NotFound(format!("{what} is not recorded"))),
            Some(o) if o.owner.as_deref() == Some(openid.as_str()) => Ok(Some(o)),
            Some(_) => Err(PayError::forbidden(
                "NOT_OWNER",
                format!("{what} belongs to another user"),
            )),
        }
    }

    /// The configured AppID for `useServiceAccount` (`service_app_id` when true; never
    /// forwarded), refusing any other `appid` the caller sent: a caller may repeat the
    /// configured `appid` but not change it.
    pub fn appid_for(&self, use_service: bool, sent: &Repeated) -> Result<&str, FieldError> {
        let appid = self.config.app_id_for(use_service).ok_or_else(|| {
            FieldError::new(
                "useServiceAccount",
                "is true but service_app_id is not configured",
            )
        })?;
        sent.must_equal(appid, "the AppID comes from the configuration")?;
        Ok(appid)
    }

    /// Requires the admin credential.
    pub fn require_admin(&self, caller: &Caller, what: &str) -> Result<(), PayError> {
        if caller.admin {
            Ok(())
        } else {
            Err(self.admin_required(what))
        }
    }

    /// The one refusal for a caller without the admin credential: `ADMIN_REQUIRED`, saying
    /// whether the credential is configured at all.
    pub fn admin_required(&self, what: &str) -> PayError {
        let unset = if self.config.admin_token.is_none() {
            ", and PAY_COMMON_ADMIN_TOKEN is not configured"
        } else {
            ""
        };
        PayError::forbidden(
            "ADMIN_REQUIRED",
            format!("{what} needs the admin credential{unset}"),
        )
    }

    /// Unix seconds now, on the application's one clock (the book's).
    pub fn now(&self) -> i64 {
        self.book.now()
    }
}

fn not_found(e: &WechatError) -> bool {
    matches!(e, WechatError::Api(a) if a.status == 404)
}

fn lift<T>(r: Result<T, WechatError>) -> Result<Option<T>, String> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

#[async_trait::async_trait]
impl WechatQueries for Payments {
    async fn query_order(&self, out_trade_no: &OutTradeNo) -> Result<Option<Transaction>, String> {
        let (client, _) = self.ready().map_err(|e| e.to_string())?;
        let q = api::QueryByOutTradeNo {
            out_trade_no: out_trade_no.to_string(),
            mchid: client.mchid().into(),
        };
        lift(client.execute(&q).await.map(|v| v.data))
    }

    async fn close_order(&self, out_trade_no: &OutTradeNo) -> Result<(), String> {
        let (client, _) = self.ready().map_err(|e| e.to_string())?;
        let close = api::CloseOrder::new(out_trade_no.as_str(), client.mchid());
        client
            .execute(&close)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn query_refund(&self, out_refund_no: &OutRefundNo) -> Result<Option<Refund>, String> {
        let (client, _) = self.ready().map_err(|e| e.to_string())?;
        lift(
            client
                .execute(&api::QueryRefund {
                    out_refund_no: out_refund_no.to_string(),
                })
                .await
                .map(|v| v.data),
        )
    }

    async fn query_transfer(
        &self,
        out_bill_no: &OutBillNo,
    ) -> Result<Option<TransferBill>, String> {
        let (client, _) = self.ready().map_err(|e| e.to_string())?;
        let q = api::QueryTransferByOutBillNo {
            out_bill_no: out_bill_no.to_string(),
        };
        lift(client.execute(&q).await.map(|v| v.data))
    }
}
