//! Leases: a reconciler or dispatcher claims due rows by writing its token and a lease end
//! into `claimed_by` / `claim_until`, so two instances never work on the same row at once.
//! PostgreSQL and MySQL/MariaDB pick rows with `FOR UPDATE SKIP LOCKED`; SQLite claims in one
//! guarded `UPDATE … WHERE key IN (SELECT …)` under its single write lock.

use super::{Backend, Ledger, StoreError, random_id};
use crate::pay::port::{Claimed, Due, Lease};

/// What to claim.
pub(super) struct Claim<'a> {
    /// Table name.
    pub table: &'static str,
    /// Its primary key column.
    pub key: &'static str,
    /// SQL condition with `?` placeholders for `params`.
    pub condition: &'a str,
    /// Values for the condition's placeholders.
    pub params: &'a [i64],
    /// Claim time (Unix seconds): expired leases are free.
    pub now: i64,
    /// Lease end (Unix seconds).
    pub until: i64,
    /// At most this many rows.
    pub limit: i64,
}

impl Ledger {
    /// Claims due rows; returns the claim token and the claimed keys.
    pub(super) async fn claim(&self, c: &Claim<'_>) -> Result<(String, Vec<String>), StoreError> {
        let token = random_id("claim_");
        let free = "(claim_until IS NULL OR claim_until <= ?)";
        let (table, key, cond) = (c.table, c.key, c.condition);
        if self.backend == Backend::Sqlite {
            let sql = format!(
                "UPDATE {table} SET claimed_by = ?, claim_until = ? WHERE {key} IN \
                 (SELECT {key} FROM {table} WHERE ({cond}) AND {free} \
                 ORDER BY created_at LIMIT ?)"
            );
            let mut q = sqlx::query(&sql).bind(token.clone()).bind(c.until);
            for p in c.params {
                q = q.bind(*p);
            }
            q.bind(c.now)
                .bind(c.limit)
                .execute(&mut *self.conn().await?)
                .await?;
            let keys =
                sqlx::query_scalar(&format!("SELECT {key} FROM {table} WHERE claimed_by = ?"))
                    .bind(token.clone())
                    .fetch_all(&mut *self.conn().await?)
                    .await?;
            return Ok((token, keys));
        }
        let mut db = self.begin().await?;
        let select = format!(
            "SELECT {key} FROM {table} WHERE ({cond}) AND {free} \
             ORDER BY created_at LIMIT ? FOR UPDATE SKIP LOCKED"
        );
        let select = self.sql(&select);
        let mut q = sqlx::query_scalar(&select);
        for p in c.params {
            q = q.bind(*p);
        }
        let keys: Vec<String> = q.bind(c.now).bind(c.limit).fetch_all(&mut *db).await?;
        if !keys.is_empty() {
            let marks = vec!["?"; keys.len()].join(", ");
            let update = format!(
                "UPDATE {table} SET claimed_by = ?, claim_until = ? WHERE {key} IN ({marks})"
            );
            let update = self.sql(&update);
            let mut q = sqlx::query(&update).bind(token.clone()).bind(c.until);
            for k in &keys {
                q = q.bind(k.clone());
            }
            q.execute(&mut *db).await?;
        }
        db.commit().await?;
        Ok((token, keys))
    }
}

/// The table, key and due condition (its one `?` is the grace cut-off) of each kind of row
/// reconciliation leases.
fn sweep(due: Due) -> (&'static str, &'static str, &'static str) {
    match due {
        Due::Orders => (
            "pay_orders",
            "out_trade_no",
            "state IN ('NOTPAY', 'USERPAYING') AND created_at <= ?",
        ),
        Due::Refunds => (
            "pay_refunds",
            "out_refund_no",
            "state IN ('RESERVED', 'PROCESSING', 'ABNORMAL') AND created_at <= ?",
        ),
        Due::Transfers => (
            "pay_transfers",
            "out_bill_no",
            "state NOT IN ('SUCCESS', 'FAIL', 'CANCELLED', 'REJECTED') AND created_at <= ?",
        ),
    }
}

impl Ledger {
    /// Leases the due rows of one kind for reconciliation.
    pub(super) async fn claim_due(&self, due: Due, lease: Lease) -> Result<Claimed, StoreError> {
        let (table, key, condition) = sweep(due);
        let params = [lease.created_before];
        let (token, keys) = self
            .claim(&Claim {
                table,
                key,
                condition,
                params: &params,
                now: lease.now,
                until: lease.until,
                limit: lease.limit,
            })
            .await?;
        Ok(Claimed { token, keys })
    }

    /// Frees this claim's leases on `keys`.
    pub(super) async fn release(
        &self,
        due: Due,
        claim: &Claimed,
        keys: &[String],
    ) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let (table, key, _) = sweep(due);
        let marks = vec!["?"; keys.len()].join(", ");
        let sql = format!(
            "UPDATE {table} SET claimed_by = NULL, claim_until = NULL \
             WHERE claimed_by = ? AND {key} IN ({marks})"
        );
        let sql = self.sql(&sql);
        let mut q = sqlx::query(&sql).bind(claim.token.clone());
        for k in keys {
            q = q.bind(k.clone());
        }
        q.execute(&mut *self.conn().await?).await?;
        Ok(())
    }
}
