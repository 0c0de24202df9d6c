//! The persistent order ledger: [`Ledger`] implements the storage port
//! [`crate::pay::port::LedgerStore`] on sqlx's `any` driver for SQLite, PostgreSQL and
//! MySQL/MariaDB, chosen by the database URL. Every write is one atomic, idempotent SQL
//! transaction (status-guarded updates, unique keys); every state change writes an event row to
//! the outbox in the same transaction. It decides nothing: `pay::book` decides, this records.
//!
//! SQLite runs with WAL and a busy timeout, every write transaction starts with
//! `BEGIN IMMEDIATE` (no read→write upgrade deadlocks between processes), and the pool holds a
//! single connection: SQLite admits one writer at a time anyway, so in-process writers queue on
//! the pool instead of spinning on `SQLITE_BUSY`.

mod allowance_claims;
mod allowances;
mod claim;
mod console;
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
use sqlx::{Any, AnyPool, Transaction};

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

/// The order ledger: a cheap-to-clone handle on a connection pool.
#[derive(Clone)]
pub struct Ledger {
    pool: AnyPool,
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

    /// Closes the pool (waits for connections to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
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
        let q = match self.backend {
            Backend::MySql => format!("INSERT IGNORE INTO {rest}"),
            Backend::Sqlite | Backend::Postgres => {
                format!("INSERT INTO {rest} ON CONFLICT DO NOTHING")
            }
        };
        self.sql(&q).into_owned()
    }

    /// Starts a write transaction; on SQLite it takes the write lock up front.
    async fn begin(&self) -> Result<Transaction<'static, Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres | Backend::MySql => self.pool.begin().await?,
        })
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
