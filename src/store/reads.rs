//! Reads: an order with its refunds, by our number or WeChat's transaction id, and refunds.
//! Each takes a connection so the same code serves plain reads and reads inside a write
//! transaction.

use std::sync::LazyLock;

use sqlx::AnyConnection;

use super::rows::{ORDER_COLUMNS, REFUND_COLUMNS, order_view, refund_record};
use super::{Ledger, StoreError};
use crate::pay::service::{OrderView, RefundRecord};

/// An order by its number (both drivers).
pub(super) static ORDER_BY_NO: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {ORDER_COLUMNS} FROM pay_orders WHERE out_trade_no = ?"));

/// An order's refunds, oldest first (both drivers).
pub(super) static REFUNDS_OF_ORDER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {REFUND_COLUMNS} FROM pay_refunds WHERE out_trade_no = ? \
         ORDER BY created_at, out_refund_no"
    )
});

impl Ledger {
    /// The order with its refunds, read on its own connection.
    pub(super) async fn order_with_refunds(
        &self,
        no: &str,
    ) -> Result<Option<OrderView>, StoreError> {
        if let Some(direct) = self.direct_call() {
            return direct.read(|c| c.order_with_refunds(no)).await;
        }
        let mut conn = self.conn().await?;
        let Some(mut view) = self.load_order_opt(&mut conn, no).await? else {
            return Ok(None);
        };
        let rows = sqlx::query(&self.sql(&REFUNDS_OF_ORDER))
            .bind(no.to_string())
            .fetch_all(&mut *conn)
            .await?;
        view.refunds = rows.iter().map(refund_record).collect::<Result<_, _>>()?;
        Ok(Some(view))
    }

    pub(super) async fn order_by_transaction(
        &self,
        transaction_id: &str,
    ) -> Result<Option<OrderView>, StoreError> {
        let no: Option<String> = sqlx::query_scalar(
            &self.sql("SELECT out_trade_no FROM pay_orders WHERE transaction_id = ?"),
        )
        .bind(transaction_id.to_string())
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        match no {
            Some(no) => self.order_with_refunds(&no).await,
            None => Ok(None),
        }
    }

    pub(super) async fn load_order_opt(
        &self,
        conn: &mut AnyConnection,
        no: &str,
    ) -> Result<Option<OrderView>, StoreError> {
        let row = sqlx::query(&self.sql(&ORDER_BY_NO))
            .bind(no.to_string())
            .fetch_optional(&mut *conn)
            .await?;
        row.as_ref().map(order_view).transpose()
    }

    pub(super) async fn load_order(
        &self,
        conn: &mut AnyConnection,
        no: &str,
    ) -> Result<OrderView, StoreError> {
        self.load_order_opt(conn, no)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("order {no} vanished")))
    }

    pub(super) async fn refund_by_no(&self, no: &str) -> Result<Option<RefundRecord>, StoreError> {
        let row = sqlx::query(&self.sql(&format!(
            "SELECT {REFUND_COLUMNS} FROM pay_refunds WHERE out_refund_no = ?"
        )))
        .bind(no.to_string())
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        row.as_ref().map(refund_record).transpose()
    }

    pub(super) async fn load_refund(
        &self,
        db: &mut sqlx::AnyConnection,
        no: &str,
    ) -> Result<RefundRecord, StoreError> {
        let row = sqlx::query(&self.sql(&format!(
            "SELECT {REFUND_COLUMNS} FROM pay_refunds WHERE out_refund_no = ?"
        )))
        .bind(no.to_string())
        .fetch_one(&mut *db)
        .await?;
        refund_record(&row)
    }
}
