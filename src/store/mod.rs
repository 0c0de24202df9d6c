//! The persistent order ledger: [`Ledger`] implements the storage port
//! [`crate::pay::port::LedgerStore`] on sqlx's `any` driver for SQLite, PostgreSQL and
//! MySQL/MariaDB, chosen by the database URL. Every write is one atomic, idempotent SQL
//! transaction (status-guarded updates, unique keys); every state change writes an event row to
//! the outbox in the same transaction. It decides nothing: `pay::book` decides, this records.
//!
//! SQLite runs with WAL, `synchronous = FULL` and a busy timeout, every write transaction starts
//! with `BEGIN IMMEDIATE` (no read→write upgrade deadlocks between processes), and the ledger
//! holds a single connection (`Ledger::conn`): SQLite admits one writer at a time anyway, so
//! in-process use cases queue on it instead of spinning on `SQLITE_BUSY`. On a SQLite file the
//! hot use cases run on a second, direct connection behind the same lock (`direct`).

mod allowance_claims;
mod allowances;
mod claim;
mod console;
mod direct;
pub mod dispatch;
mod error;
mod events;
mod migrate;
pub mod open;
mod orders;
mod reads;
mod refunds;
mod rows;
mod service;
mod transfers;
mod unmatched;

use std::borrow::Cow;
use std::sync::Arc;

use sqlx::any::install_default_drivers;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Database, TransactionManager};

pub use dispatch::{DispatchSummary, EventDispatcher};
pub use error::{STORE_UNAVAILABLE, StoreError};
pub use events::{EventFilter, EventView};
pub use open::StoreStatus;
pub use transfers::TransferView;

/// Which SQL dialect a ledger speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite 3 (a local file).
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    MySql,
}

impl Backend {
    /// The backend a database URL names.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            "mysql" => Ok(Self::MySql),
            _ => Err(StoreError::UnsupportedUrl(scheme.to_string())),
        }
    }
}

/// The ledger's clock: the crate's one injectable clock, so tests control time.
pub type Clock = Arc<dyn crate::wechatpay::clock::Clock>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(crate::wechatpay::clock::SystemClock)
}

/// SQLite's connections, held by the ledger between use cases (see [`Ledger::conn`]).
type Held = Arc<tokio::sync::Mutex<Slot>>;

/// What [`Held`] holds: sqlx's connection and the direct one (`direct`), each opened on first
/// use. One lock guards both, so one use case at a time writes, whichever connection it uses.
#[derive(Default)]
pub(super) struct Slot {
    any: Option<AnyConnection>,
    direct: Option<rusqlite::Connection>,
}

/// The order ledger: a cheap-to-clone handle on a connection pool.
#[derive(Clone)]
pub struct Ledger {
    pool: AnyPool,
    /// SQLite only: the one connection, taken out of the pool once and kept. sqlx's pool pings
    /// every connection it gets back (a round trip to SQLite's worker thread) and wakes the
    /// next waiter through a spawned task; with one connection that cost 15–35 µs of CPU per
    /// use case (a probe: 30–47 µs per pooled query, 8–15 µs on a held one) and bought nothing.
    held: Option<Held>,
    /// SQLite files only: where the direct use cases open their connection (`direct`).
    direct: Option<Arc<direct::Target>>,
    backend: Backend,
    clock: Clock,
    /// Whether the ledger is usable now (see `open`).
    health: Arc<open::StoreHealth>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// Connects to `url` (`sqlite://…`, `postgres://…`, `mysql://…`) and applies migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        install_default_drivers();
        let backend = Backend::from_url(url)?;
        if backend == Backend::Sqlite {
            warn_if_ephemeral();
        }
        let pool = open::pool_options(backend).connect(url).await?;
        let ledger = Self {
            pool,
            held: held_for(backend),
            direct: direct::Target::from_url(url).map(Arc::new),
            backend,
            clock: system_clock(),
            health: open::StoreHealth::ready(),
        };
        migrate::run(&ledger).await?;
        Ok(ledger)
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The dialect in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the held connection and the pool (waits for connections to be returned).
    pub async fn close(&self) {
        self.drop_held().await;
        self.pool.close().await;
    }

    /// Closes SQLite's held connections (if open); the next use case opens new ones.
    pub(super) async fn drop_held(&self) {
        if let Some(held) = &self.held {
            let mut slot = held.lock().await;
            drop(slot.direct.take());
            if let Some(conn) = slot.any.take() {
                let _ = sqlx::Connection::close(conn).await;
            }
        }
    }

    /// Locks SQLite's held connections for one use case, waiting at most
    /// [`open::ACQUIRE_TIMEOUT`], like the pool.
    async fn lock_held(
        &self,
        held: &Held,
    ) -> Result<tokio::sync::OwnedMutexGuard<Slot>, StoreError> {
        Ok(
            tokio::time::timeout(open::ACQUIRE_TIMEOUT, held.clone().lock_owned())
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)?,
        )
    }

    /// The connection for one use case: SQLite's held connection (locked until the `Conn` is
    /// dropped; opened on first use), or one from the pool. Waits at most
    /// [`open::ACQUIRE_TIMEOUT`], like the pool.
    pub(super) async fn conn(&self) -> Result<Conn, StoreError> {
        let Some(held) = &self.held else {
            return Ok(Conn::Pooled(self.pool.acquire().await?));
        };
        let mut guard = self.lock_held(held).await?;
        if guard.any.is_none() {
            // The pool opens it (lazily, with the connection pragmas); detached, it is ours.
            guard.any = Some(self.pool.acquire().await?.detach());
        }
        Ok(Conn::Held(guard))
    }

    /// The ledger's clock (the application's one clock: `Parts::ledger` hands it on).
    pub fn clock(&self) -> Clock {
        self.clock.clone()
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Rewrites `?` placeholders to `$1..$n` for PostgreSQL; SQL is written once with `?`.
    fn sql<'a>(&self, query: &'a str) -> Cow<'a, str> {
        match self.backend {
            Backend::Postgres => Cow::Owned(numbered_placeholders(query)),
            Backend::Sqlite | Backend::MySql => Cow::Borrowed(query),
        }
    }

    /// `INSERT … ` that silently skips a row whose key exists, in this backend's dialect
    /// (placeholders already rewritten). `rest` is `table (cols) VALUES (…)`.
    fn insert_ignore(&self, rest: &str) -> String {
        insert_ignore(self.backend, rest)
    }

    /// Starts a write transaction on a connection of its own; on SQLite it takes the write
    /// lock up front.
    ///
    /// Abandoned while `BEGIN` is on its way (the caller gone, a deadline passed), the
    /// connection is closed rather than reused: sqlx 0.8 counts a transaction only once the
    /// server has answered, so its drop-time rollback does nothing there, and on PostgreSQL
    /// and MySQL the pool took the connection back inside a transaction that no one would
    /// commit; the next use case's writes were silently lost with it (the conformance case
    /// `payments_abandoned_at_any_point_are_all_or_nothing` lost orders that way).
    async fn begin(&self) -> Result<Tx, StoreError> {
        let statement = match self.backend {
            Backend::Sqlite => Some(Cow::Borrowed("BEGIN IMMEDIATE")),
            Backend::Postgres | Backend::MySql => None,
        };
        let mut beginning = Beginning(Some(self.conn().await?));
        let conn = beginning.0.as_mut().expect("set above");
        let begun = <Any as Database>::TransactionManager::begin(conn, statement).await;
        let conn = beginning.0.take().expect("set above");
        begun?;
        Ok(Tx { conn, open: true })
    }
}

/// A connection whose `BEGIN` has not been answered yet; dropped in that state (the future
/// abandoned), the connection is discarded.
struct Beginning(Option<Conn>);

impl Drop for Beginning {
    fn drop(&mut self) {
        match self.0.take() {
            Some(Conn::Pooled(mut c)) => c.close_on_drop(),
            Some(Conn::Held(mut held)) => drop(held.any.take()),
            None => {}
        }
    }
}

/// An empty holder for SQLite's one connection; `None` for the pooled backends.
fn held_for(backend: Backend) -> Option<Held> {
    (backend == Backend::Sqlite).then(|| Arc::new(tokio::sync::Mutex::new(Slot::default())))
}

/// One use case's connection (see [`Ledger::conn`]); derefs to the connection.
pub(super) enum Conn {
    /// From the pool (PostgreSQL, MySQL), returned when dropped.
    Pooled(PoolConnection<Any>),
    /// SQLite's held connection, locked for this use case.
    Held(tokio::sync::OwnedMutexGuard<Slot>),
}

impl std::ops::Deref for Conn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            Conn::Pooled(c) => c,
            Conn::Held(g) => g
                .any
                .as_ref()
                .expect("Ledger::conn fills the held connection"),
        }
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Conn::Pooled(c) => c,
            Conn::Held(g) => g
                .any
                .as_mut()
                .expect("Ledger::conn fills the held connection"),
        }
    }
}

/// A transaction on a connection of its own: like sqlx's `Transaction`, but over a [`Conn`].
/// Dropped without `commit`, it rolls back (queued, run before the connection's next use).
pub(super) struct Tx {
    conn: Conn,
    open: bool,
}

impl Tx {
    /// Commits.
    pub(super) async fn commit(mut self) -> Result<(), sqlx::Error> {
        <Any as Database>::TransactionManager::commit(&mut self.conn).await?;
        self.open = false;
        Ok(())
    }

    /// Rolls back now.
    pub(super) async fn rollback(mut self) -> Result<(), sqlx::Error> {
        <Any as Database>::TransactionManager::rollback(&mut self.conn).await?;
        self.open = false;
        Ok(())
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if self.open {
            <Any as Database>::TransactionManager::start_rollback(&mut self.conn);
        }
    }
}

impl std::ops::Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

/// [`Ledger::insert_ignore`] for `backend` (the direct SQLite path has no `Ledger` at hand).
fn insert_ignore(backend: Backend, rest: &str) -> String {
    match backend {
        Backend::MySql => format!("INSERT IGNORE INTO {rest}"),
        Backend::Sqlite => format!("INSERT INTO {rest} ON CONFLICT DO NOTHING"),
        Backend::Postgres => {
            numbered_placeholders(&format!("INSERT INTO {rest} ON CONFLICT DO NOTHING"))
        }
    }
}

/// `?` → `$n`, leaving quoted strings alone.
fn numbered_placeholders(query: &str) -> String {
    let mut out = String::with_capacity(query.len() + 8);
    let mut n = 0;
    let mut in_quote = false;
    for c in query.chars() {
        match c {
            '\'' => {
                in_quote = !in_quote;
                out.push(c);
            }
            '?' if !in_quote => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

/// A fresh random identifier: `prefix` + 24 hex characters.
fn random_id(prefix: &str) -> String {
    let mut bytes = [0u8; 12];
    aws_lc_rs::rand::fill(&mut bytes).expect("system randomness");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

/// Whether the process runs inside a Tencent SCF cloud function.
fn in_cloud_function() -> bool {
    ["SCF_FUNCTIONNAME", "TENCENTCLOUD_RUNENV"]
        .iter()
        .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
}

/// The database URL used when `DATABASE_URL` is unset: a SQLite file under `./data`
/// locally (the directory is created), or under `/tmp` in a cloud function (the only writable
/// place there; [`Ledger::connect`] then warns that it is not durable).
pub fn default_database_url() -> String {
    let url = default_url();
    if url.starts_with("sqlite://./data/")
        && let Err(e) = std::fs::create_dir_all("./data")
    {
        tracing::warn!(error = %e, "could not create ./data for the SQLite ledger");
    }
    url
}

/// The default database URL, without creating its directory (`check-config` creates nothing).
pub fn default_url() -> String {
    default_url_for(in_cloud_function()).to_string()
}

fn default_url_for(in_cloud: bool) -> &'static str {
    if in_cloud {
        "sqlite:///tmp/pay-common.db?mode=rwc"
    } else {
        "sqlite://./data/pay-common.db?mode=rwc"
    }
}

/// Warns loudly when a cloud function keeps its ledger in SQLite: each instance has its own
/// `/tmp`, which disappears when the instance is recycled.
fn warn_if_ephemeral() {
    if in_cloud_function() {
        tracing::warn!(
            "SQLite ledger inside a cloud function: it is per-instance and NOT durable; orders, \
             refunds and events are lost when the instance is recycled. Set DATABASE_URL to a \
             MySQL or PostgreSQL database."
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres_outside_quotes() {
        assert_eq!(
            numbered_placeholders("UPDATE t SET a = ?, b = '?' WHERE c = ? AND d IN (?, ?)"),
            "UPDATE t SET a = $1, b = '?' WHERE c = $2 AND d IN ($3, $4)"
        );
    }

    #[test]
    fn backends_are_chosen_by_url_scheme() {
        assert_eq!(Backend::from_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::from_url("postgresql://h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(Backend::from_url("mysql://h/db").unwrap(), Backend::MySql);
        assert!(Backend::from_url("redis://h").is_err());
    }

    #[test]
    fn the_default_ledger_is_a_local_file_or_tmp_in_a_cloud_function() {
        assert_eq!(
            default_url_for(false),
            "sqlite://./data/pay-common.db?mode=rwc"
        );
        assert_eq!(
            default_url_for(true),
            "sqlite:///tmp/pay-common.db?mode=rwc"
        );
    }

    #[test]
    fn random_ids_differ() {
        assert_ne!(random_id("evt_"), random_id("evt_"));
        assert_eq!(random_id("evt_").len(), 28);
    }
}
