//! Read-only listings for the local web console (`/console/`): the newest orders, refunds and
//! transfers with their states. Nothing here writes; each list is bounded by `limit`.

use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Ledger, StoreError};

/// What one column holds, to read it from an `any` row.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int,
}

const ORDERS: &[(&str, Kind)] = &[
    ("out_trade_no", Kind::Text),
    ("owner", Kind::Text),
    ("trade_type", Kind::Text),
    ("amount", Kind::Int),
    ("description", Kind::Text),
    ("state", Kind::Text),
    ("transaction_id", Kind::Text),
    ("refunded", Kind::Int),
    ("refund_pending", Kind::Int),
    ("mismatch", Kind::Text),
    ("created_at", Kind::Int),
    ("updated_at", Kind::Int),
    ("paid_at", Kind::Int),
];

const REFUNDS: &[(&str, Kind)] = &[
    ("out_refund_no", Kind::Text),
    ("out_trade_no", Kind::Text),
    ("amount", Kind::Int),
    ("order_total", Kind::Int),
    ("state", Kind::Text),
    ("refund_id", Kind::Text),
    ("reason", Kind::Text),
    ("created_at", Kind::Int),
    ("updated_at", Kind::Int),
];

const TRANSFERS: &[(&str, Kind)] = &[
    ("out_bill_no", Kind::Text),
    ("openid", Kind::Text),
    ("amount", Kind::Int),
    ("state", Kind::Text),
    ("transfer_bill_no", Kind::Text),
    ("fail_reason", Kind::Text),
    ("created_at", Kind::Int),
    ("updated_at", Kind::Int),
];

fn to_json(row: &AnyRow, columns: &[(&str, Kind)]) -> Result<Value, StoreError> {
    let mut out = Map::new();
    for (name, kind) in columns {
        let v = match kind {
            Kind::Text => row
                .try_get::<Option<String>, _>(*name)?
                .map_or(Value::Null, Value::String),
            Kind::Int => row
                .try_get::<Option<i64>, _>(*name)?
                .map_or(Value::Null, Value::from),
        };
        out.insert((*name).to_string(), v);
    }
    Ok(Value::Object(out))
}

impl Ledger {
    async fn console_list(
        &self,
        table: &str,
        columns: &[(&str, Kind)],
        limit: i64,
    ) -> Result<Vec<Value>, StoreError> {
        let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
        let sql = format!(
            "SELECT {} FROM {table} ORDER BY created_at DESC LIMIT ?",
            names.join(", ")
        );
        let rows = sqlx::query(&self.sql(&sql))
            .bind(limit.clamp(1, 1000))
            .fetch_all(&mut *self.conn().await?)
            .await?;
        rows.iter().map(|r| to_json(r, columns)).collect()
    }

    /// The newest orders, newest first.
    pub async fn console_orders(&self, limit: i64) -> Result<Vec<Value>, StoreError> {
        self.console_list("pay_orders", ORDERS, limit).await
    }

    /// The newest refunds, newest first.
    pub async fn console_refunds(&self, limit: i64) -> Result<Vec<Value>, StoreError> {
        self.console_list("pay_refunds", REFUNDS, limit).await
    }

    /// The newest transfers, newest first.
    pub async fn console_transfers(&self, limit: i64) -> Result<Vec<Value>, StoreError> {
        self.console_list("pay_transfers", TRANSFERS, limit).await
    }
}
