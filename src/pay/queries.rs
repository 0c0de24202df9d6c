//! Reading and closing orders: WeChat's answers for the owner or the admin (a verified query
//! also updates the ledger through the same use case as a callback, the fallback for a late
//! callback), the ledger's own view, and close.

use serde_json::Value;

use super::error::PayError;
use super::orders::refused_state;
use super::payments::{Caller, Payments};
use super::requests::{OrderLookup, TransactionLookup};
use super::service::Notice;
use crate::wechatpay::api;

impl Payments {
    /// `wxpay_query_order_by_out_trade_no`: queries WeChat by our number (owner or admin). A
    /// verified answer also goes to [`super::book::Book::payment_notified`]: it is the
    /// authenticated fallback when a callback is late.
    pub async fn order_query(
        &self,
        caller: &Caller,
        lookup: &OrderLookup,
    ) -> Result<Value, PayError> {
        let (client, creds) = self.ready()?;
        let no = &lookup.out_trade_no;
        let (_, redact) = self.order_access(caller, lookup).await?;
        let q = api::QueryByOutTradeNo {
            out_trade_no: no.to_string(),
            mchid: creds.mchid.clone(),
        };
        let answer = client.execute(&q).await?;
        // Every verified answer goes to the use case: it applies a payment to a recorded order,
        // and records money for an order the ledger never saw (only the admin can query one) or
        // had closed, as unmatched.
        let notice = Notice {
            notification_id: None,
            event_type: "QUERY".into(),
            object: answer.data.clone(),
        };
        self.book.payment_notified(&notice).await?;
        let mut json = answer.json();
        if redact {
            super::order_token::redact_payer(&mut json);
        }
        Ok(json)
    }

    /// Queries WeChat by transaction id (owner of the recorded order, or admin).
    pub async fn query_by_transaction_id(
        &self,
        caller: &Caller,
        lookup: &TransactionLookup,
    ) -> Result<Value, PayError> {
        let (client, creds) = self.ready()?;
        let id = &lookup.transaction_id;
        let known = self.book.find_by_transaction_id(id.as_str()).await?;
        self.check_owner(caller, known, &format!("transaction {id}"))?;
        let q = api::QueryByTransactionId {
            transaction_id: id.to_string(),
            mchid: creds.mchid.clone(),
        };
        let answer = client.execute(&q).await?;
        Ok(answer.json())
    }

    /// `wxpay_close_order`: closes an unpaid order (owner or admin); WeChat answers 204.
    pub async fn order_close(&self, caller: &Caller, lookup: &OrderLookup) -> Result<(), PayError> {
        let (client, creds) = self.ready()?;
        let no = &lookup.out_trade_no;
        if let (Some(order), _) = self.order_access(caller, lookup).await?
            && !order.state.is_pending()
        {
            return Err(refused_state(no, order.state));
        }
        client
            .execute(&api::CloseOrder::new(no.as_str(), &creds.mchid))
            .await?;
        self.book.order_closed(no).await?;
        Ok(())
    }

    /// The ledger's view of an order (owner or admin); no WeChat call.
    pub async fn order_view(
        &self,
        caller: &Caller,
        lookup: &OrderLookup,
    ) -> Result<Value, PayError> {
        let no = &lookup.out_trade_no;
        let (view, redact) = self.order_access(caller, lookup).await?;
        let mut view =
            view.ok_or_else(|| PayError::NotFound(format!("order {no} is not recorded")))?;
        if redact {
            view.owner = None;
        }
        Ok(serde_json::to_value(view).unwrap_or_default())
    }
}
