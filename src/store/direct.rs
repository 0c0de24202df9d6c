//! SQLite's hot use cases (placing an order, storing its prepay, reading an order, recording a
//! payment), each run whole as one closure on a blocking thread, on a connection of its own.
//!
//! sqlx runs a SQLite connection on a worker thread and sends it every statement, answer and
//! row across a channel: a pay callback made eleven round trips (22 `futex` calls, as many
//! context switches), which `perf` put at about a third of the callback's CPU. Here a use case
//! is one hand-off to tokio's blocking pool and back, whatever its statements; the commit's
//! `fsync` still runs off the runtime's thread. The SQL is the same text the sqlx path runs
//! (constants shared with `orders`, `reads`, `events`), the rows are read by the same decoders
//! ([`super::rows::Cols`]), and the decisions by the same functions (`orders::payment_change`,
//! `orders::payment_event`); the conformance suite covers this path on SQLite.
//!
//! The direct connection sits in the ledger's [`super::Slot`] beside sqlx's one, behind the
//! same lock, so at most one of them is in a use case at a time. It is opened on first use
//! with the URL's file and mode; in-memory databases and URLs with other options keep the
//! sqlx path. A call whose caller gives up still runs to its end (a started blocking closure
//! is never cancelled), so what it writes is all-or-nothing. A sqlx transaction dropped
//! unfinished is rolled back by sqlx's worker thread as soon as it is dropped, not at the sqlx
//! connection's next use, so it never keeps the write lock from this connection for longer
//! than that rollback (which the busy timeout waits out).

use std::sync::Arc;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::events::INSERT_EVENT;
use super::open::SQLITE_PRAGMAS;
use super::orders::{
    Change, EXISTING_ORDER, INSERT_ORDER, INSERT_SIGHTING, MARK_USERPAYING, SETTLE, STORE_PREPAY,
    payment_change, payment_event, stored_order,
};
use super::reads::{ORDER_BY_NO, REFUNDS_OF_ORDER};
use super::rows::{order_view, refund_record};
use super::{Backend, Held, Ledger, StoreError, insert_ignore, random_id};
use crate::pay::port::{Inserted, PayStep, Sighting, StoredOrder, Written};
use crate::pay::service::{OrderDraft, OrderView, Prepay};
use crate::wechatpay::model::Transaction;

/// Where the direct connection opens: a SQLite file and the URL's `mode`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Target {
    path: String,
    flags: OpenFlags,
}

impl Target {
    /// The file of a `sqlite:` URL whose only option is `mode=ro|rw|rwc` (as sqlx reads it:
    /// no `mode` is `rw`); `None` for other URLs, in-memory databases, percent-encoded paths
    /// and other options, which keep the sqlx path.
    pub(super) fn from_url(url: &str) -> Option<Self> {
        let path = super::open::sqlite_path(url)?;
        if path.contains('%') {
            return None;
        }
        let query = url.split_once('?').map_or("", |(_, q)| q);
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE;
        for option in query.split('&').filter(|o| !o.is_empty()) {
            flags = match option {
                "mode=ro" => OpenFlags::SQLITE_OPEN_READ_ONLY,
                "mode=rw" => OpenFlags::SQLITE_OPEN_READ_WRITE,
                "mode=rwc" => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
                _ => return None,
            };
        }
        Some(Self {
            path,
            // One thread at a time uses it, under the slot's lock.
            flags: flags | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        })
    }

    /// Opens it with the pragmas sqlx's connections get ([`SQLITE_PRAGMAS`]).
    fn open(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(&self.path, self.flags)?;
        for pragma in SQLITE_PRAGMAS {
            conn.execute_batch(pragma)?;
        }
        Ok(conn)
    }
}

/// A direct call about to be made (see [`Ledger::direct_call`]).
pub(super) struct Call<'a> {
    ledger: &'a Ledger,
    held: &'a Held,
    target: &'a Arc<Target>,
}

impl Ledger {
    /// The direct path for this ledger, if it has one (a SQLite file).
    pub(super) fn direct_call(&self) -> Option<Call<'_>> {
        Some(Call {
            ledger: self,
            held: self.held.as_ref()?,
            target: self.direct.as_ref()?,
        })
    }
}

impl Call<'_> {
    /// Runs the write `f` on the direct connection, on a blocking thread (its commit's `fsync`
    /// does not hold up the runtime), with the ledger's `now`.
    pub(super) async fn run<T: Send + 'static>(
        self,
        f: impl FnOnce(&mut Direct<'_>, i64) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let mut slot = self.ledger.lock_held(self.held).await?;
        let now = self.ledger.now();
        let target = self.target.clone();
        tokio::task::spawn_blocking(move || with_direct(&mut slot, &target, |c| f(c, now)))
            .await
            .map_err(|e| StoreError::Lost(e.to_string()))?
    }

    /// Runs the read `f` on the direct connection, on the caller's thread: a read of a few
    /// pages, which WAL mode never makes wait for a writer, costs less than a hand-off.
    pub(super) async fn read<T>(
        self,
        f: impl FnOnce(&mut Direct<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut slot = self.ledger.lock_held(self.held).await?;
        with_direct(&mut slot, self.target, f)
    }
}

/// Runs `f` on the slot's direct connection, opening it first if needed, and closing it again
/// if it turned out unusable (a read-only or vanished file) so the next use case reopens it.
fn with_direct<T>(
    slot: &mut super::Slot,
    target: &Target,
    f: impl FnOnce(&mut Direct<'_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let conn = match &mut slot.direct {
        Some(conn) => conn,
        empty => empty.insert(target.open()?),
    };
    let done = f(&mut Direct(conn));
    if done.as_ref().is_err_and(StoreError::is_unavailable) {
        slot.direct = None;
    }
    done
}

/// The direct connection, for one use case.
pub(super) struct Direct<'c>(&'c mut Connection);

impl Direct<'_> {
    /// [`Ledger::insert_order`]: records a new order, or returns the one with its number.
    pub(super) fn insert_order(
        &mut self,
        d: &OrderDraft,
        now: i64,
    ) -> Result<Inserted<StoredOrder>, StoreError> {
        let inserted = self
            .0
            .prepare_cached(&insert_ignore(Backend::Sqlite, INSERT_ORDER))?
            .execute(params![
                d.out_trade_no.to_string(),
                d.owner.as_ref().map(ToString::to_string),
                d.appid,
                d.mchid,
                d.trade_type.as_str(),
                d.amount.fen(),
                d.currency,
                d.description,
                d.fingerprint,
                d.request_body,
                now,
                now,
                d.expires_at,
            ])?;
        if inserted == 1 {
            return Ok(Inserted::New);
        }
        let mut existing = self.0.prepare_cached(EXISTING_ORDER)?;
        let mut rows = existing.query(params![d.out_trade_no.to_string()])?;
        let row = rows
            .next()?
            .ok_or_else(|| StoreError::Corrupt(format!("order {} vanished", d.out_trade_no)))?;
        Ok(Inserted::Existing(stored_order(row)?))
    }

    /// [`Ledger::store_prepay`]: `false` if the order is unknown.
    ///
    /// Committed without its own `fsync` (`synchronous = NORMAL` for this one statement): the
    /// order it belongs to is already on disk, the next synced commit takes this one with it
    /// (the WAL is written in order), and a prepay lost with the machine costs one more
    /// request to WeChat: the retried order resends its stored body, and WeChat answers
    /// identical parameters with a new `prepay_id`.
    pub(super) fn store_prepay(
        &mut self,
        no: &str,
        p: &Prepay,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.0.pragma_update(None, "synchronous", "NORMAL")?;
        let stored = self.0.prepare_cached(STORE_PREPAY).and_then(|mut update| {
            update.execute(params![
                p.prepay_id,
                p.code_url,
                p.h5_url,
                p.created_at,
                now,
                no
            ])
        });
        let restored = self.0.pragma_update(None, "synchronous", "FULL");
        let n = stored?;
        restored?;
        Ok(n == 1)
    }

    /// The connection's `synchronous` setting (2 = FULL).
    #[cfg(test)]
    fn synchronous(&self) -> i64 {
        self.0
            .pragma_query_value(None, "synchronous", |row| row.get(0))
            .unwrap()
    }

    /// [`Ledger::order_with_refunds`]: the order and its refunds, in one read transaction.
    pub(super) fn order_with_refunds(&mut self, no: &str) -> Result<Option<OrderView>, StoreError> {
        let read = self
            .0
            .transaction_with_behavior(TransactionBehavior::Deferred)?;
        let order = read
            .prepare_cached(&ORDER_BY_NO)?
            .query_row(params![no], |row| Ok(order_view(row)))
            .optional()?
            .transpose()?;
        let Some(mut view) = order else {
            return Ok(None);
        };
        let mut refunds = read.prepare_cached(&REFUNDS_OF_ORDER)?;
        let mut rows = refunds.query(params![no])?;
        while let Some(row) = rows.next()? {
            view.refunds.push(refund_record(row)?);
        }
        Ok(Some(view))
    }

    /// [`Ledger::apply_payment`]: records the sighting and persists `step` on a still-pending
    /// order, with its event, in one `BEGIN IMMEDIATE` transaction.
    pub(super) fn apply_payment(
        &mut self,
        seen: Sighting<'_>,
        order: &OrderView,
        tx: &Transaction,
        step: &PayStep,
        now: i64,
    ) -> Result<Written<OrderView>, StoreError> {
        let db = self
            .0
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(id) = seen.notification_id {
            let first = db
                .prepare_cached(&insert_ignore(Backend::Sqlite, INSERT_SIGHTING))?
                .execute(params![id, seen.event_type, now])?;
            if first != 1 {
                return Ok(Written::Replay);
            }
        }
        let (change, view) = payment_change(order, tx, step, now);
        let changed = match change {
            Change::None => 0,
            Change::UserPaying => db
                .prepare_cached(MARK_USERPAYING)?
                .execute(params![now, tx.out_trade_no])?,
            Change::Settle {
                state,
                mismatch,
                paid_at,
            } => db.prepare_cached(SETTLE)?.execute(params![
                state.as_str(),
                mismatch,
                tx.transaction_id,
                paid_at,
                now,
                tx.out_trade_no
            ])?,
        };
        if changed != 1 {
            db.commit()?;
            return Ok(Written::Unchanged);
        }
        if let Some((event_type, data)) = payment_event(step, &view, tx) {
            db.prepare_cached(INSERT_EVENT)?.execute(params![
                random_id("evt_"),
                event_type,
                now,
                data.to_string(),
                now
            ])?;
        }
        db.commit()?;
        Ok(Written::Changed(view))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn after_a_prepay_every_commit_syncs_again() {
        let file = std::env::temp_dir().join(format!("{}.db", random_id("pay-common-direct-")));
        let ledger = Ledger::connect(&format!("sqlite://{}?mode=rwc", file.display()))
            .await
            .unwrap();
        let prepay = Prepay {
            prepay_id: Some("wx_prepay".into()),
            code_url: None,
            h5_url: None,
            created_at: 1,
        };
        let (stored, sync_after) = ledger
            .direct_call()
            .expect("a SQLite file takes the direct path")
            .run(move |c, now| {
                let stored = c.store_prepay("no-such-order", &prepay, now)?;
                Ok((stored, c.synchronous()))
            })
            .await
            .unwrap();
        assert!(!stored, "an unknown order has no prepay to store");
        assert_eq!(sync_after, 2, "synchronous is FULL again after the prepay");
        ledger.close().await;
        for end in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{end}", file.display()));
        }
    }

    #[test]
    fn only_plain_sqlite_files_take_the_direct_path() {
        let rwc = Target::from_url("sqlite://./data/a.db?mode=rwc").unwrap();
        assert_eq!(rwc.path, "./data/a.db");
        assert!(rwc.flags.contains(OpenFlags::SQLITE_OPEN_CREATE));
        let ro = Target::from_url("sqlite:///tmp/a.db?mode=ro").unwrap();
        assert_eq!(ro.path, "/tmp/a.db");
        assert!(ro.flags.contains(OpenFlags::SQLITE_OPEN_READ_ONLY));
        let rw = Target::from_url("sqlite:///tmp/a.db").unwrap();
        assert!(rw.flags.contains(OpenFlags::SQLITE_OPEN_READ_WRITE));
        assert!(!rw.flags.contains(OpenFlags::SQLITE_OPEN_CREATE));
        for other in [
            "sqlite::memory:",
            "sqlite://a.db?mode=memory",
            "sqlite://a.db?mode=rwc&cache=shared",
            "sqlite://a%20b.db",
            "postgres://localhost/test",
        ] {
            assert_eq!(Target::from_url(other), None, "{other}");
        }
    }
}
