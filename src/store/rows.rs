//! Reading ledger rows back: column lists, and decoders over [`Cols`] (sqlx's `any` rows, which
//! report MySQL's TEXT as a blob, and rusqlite's for SQLite's direct use cases).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::StoreError;
use crate::pay::service::{OrderState, OrderView, Prepay, RefundRecord, RefundState};

/// The columns [`order_view`] reads, in a SELECT list.
pub(super) const ORDER_COLUMNS: &str = "out_trade_no, owner, appid, mchid, trade_type, amount, \
    currency, description, state, transaction_id, refunded, refund_pending, created_at, \
    paid_at, expires_at";

/// The columns [`refund_record`] reads.
/// (`unmatched_id`: the unmatched record a refund gives back, linked by its `out_refund_no`.)
pub(super) const REFUND_COLUMNS: &str = "out_refund_no, out_trade_no, transaction_id, amount, order_total, state, refund_id, \
    (SELECT u.id FROM pay_unmatched u WHERE u.out_refund_no = pay_refunds.out_refund_no) \
    AS unmatched_id";

/// A row of either driver, read by column name: sqlx's `any` rows and, for SQLite's direct
/// use cases (`super::direct`), rusqlite's.
pub(super) trait Cols {
    /// An optional text column.
    fn text(&self, col: &str) -> Result<Option<String>, StoreError>;
    /// An optional integer column.
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError>;
}

impl Cols for AnyRow {
    fn text(&self, col: &str) -> Result<Option<String>, StoreError> {
        match self.try_get::<Option<String>, _>(col) {
            Ok(v) => Ok(v),
            Err(_) => {
                let bytes: Option<Vec<u8>> = self.try_get(col)?;
                bytes
                    .map(|b| String::from_utf8(b).map_err(|_| corrupt(col, "is not UTF-8")))
                    .transpose()
            }
        }
    }

    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.try_get::<Option<i64>, _>(col)?)
    }
}

impl Cols for rusqlite::Row<'_> {
    fn text(&self, col: &str) -> Result<Option<String>, StoreError> {
        Ok(self.get::<_, Option<String>>(col)?)
    }

    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.get::<_, Option<i64>>(col)?)
    }
}

/// An optional text column.
pub(super) fn text(row: &impl Cols, col: &str) -> Result<Option<String>, StoreError> {
    row.text(col)
}

/// A required text column.
pub(super) fn req_text(row: &impl Cols, col: &str) -> Result<String, StoreError> {
    row.text(col)?.ok_or_else(|| corrupt(col, "is NULL"))
}

/// A required integer column.
pub(super) fn int(row: &impl Cols, col: &str) -> Result<i64, StoreError> {
    row.opt_int(col)?.ok_or_else(|| corrupt(col, "is NULL"))
}

/// An optional integer column.
pub(super) fn opt_int(row: &impl Cols, col: &str) -> Result<Option<i64>, StoreError> {
    row.opt_int(col)
}

fn corrupt(col: &str, what: &str) -> StoreError {
    StoreError::Corrupt(format!("column {col} {what}"))
}

/// An order row (without its refunds).
pub(super) fn order_view(row: &impl Cols) -> Result<OrderView, StoreError> {
    let state = req_text(row, "state")?;
    Ok(OrderView {
        out_trade_no: req_text(row, "out_trade_no")?,
        owner: text(row, "owner")?,
        appid: req_text(row, "appid")?,
        mchid: req_text(row, "mchid")?,
        trade_type: req_text(row, "trade_type")?,
        amount: int(row, "amount")?,
        currency: req_text(row, "currency")?,
        description: req_text(row, "description")?,
        state: OrderState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown order state {state}")))?,
        transaction_id: text(row, "transaction_id")?,
        refunded: int(row, "refunded")?,
        refund_pending: int(row, "refund_pending")?,
        created_at: int(row, "created_at")?,
        paid_at: opt_int(row, "paid_at")?,
        expires_at: int(row, "expires_at")?,
        refunds: Vec::new(),
    })
}

/// The stored prepay of an order row selected with prepay columns, if WeChat answered.
pub(super) fn prepay(row: &impl Cols) -> Result<Option<Prepay>, StoreError> {
    let Some(created_at) = opt_int(row, "prepay_created_at")? else {
        return Ok(None);
    };
    Ok(Some(Prepay {
        prepay_id: text(row, "prepay_id")?,
        code_url: text(row, "code_url")?,
        h5_url: text(row, "h5_url")?,
        created_at,
    }))
}

/// A refund row.
pub(super) fn refund_record(row: &impl Cols) -> Result<RefundRecord, StoreError> {
    Ok(RefundRecord {
        out_refund_no: req_text(row, "out_refund_no")?,
        out_trade_no: req_text(row, "out_trade_no")?,
        transaction_id: text(row, "transaction_id")?,
        amount: int(row, "amount")?,
        order_total: int(row, "order_total")?,
        state: {
            let state = req_text(row, "state")?;
            RefundState::parse(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown refund state {state}")))?
        },
        refund_id: text(row, "refund_id")?,
        unmatched_id: text(row, "unmatched_id")?,
    })
}
