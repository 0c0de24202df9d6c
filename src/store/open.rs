//! Opening the ledger without ever holding up the start. The pool is created lazily (no
//! connection is made), so the service listens at once whatever the database does; a
//! supervisor task then brings the ledger up (connect, migrate, prove it can write) and keeps
//! watching it, with backoff while it is down. Until it is up, [`Ledger::store_status`] says why
//! in words taken from the real failure ("connection refused", "file is not a database",
//! "attempt to write a readonly database"), the HTTP edge answers 503 `STORE_UNAVAILABLE`
//! (callbacks FAIL, so WeChat retries) and the background loops skip their passes.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, install_default_drivers};
use sqlx::{AnyConnection, ConnectOptions, Connection, Executor};
use tokio::sync::Notify;

use super::{Backend, Ledger, StoreError, migrate, system_clock};

/// First retry after a failed bring-up; doubles up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(500);
/// Longest wait between two attempts while the database is down.
const MAX_RETRY: Duration = Duration::from_secs(10);
/// Requests that find the ledger down may wake the supervisor, at most this often.
const MIN_GAP: Duration = Duration::from_secs(1);
/// How often a healthy ledger is checked (one rolled-back write).
const HEALTH_EVERY: Duration = Duration::from_secs(30);
/// One attempt (connect, migrate, write probe) gives up after this.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request waits for a pooled connection before failing with `STORE_UNAVAILABLE`.
pub(super) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether the ledger can be used now, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreStatus {
    /// Connected, migrated and writable.
    Ready,
    /// Not usable; the text is the real cause (no credentials: sqlx never prints passwords).
    Unavailable(String),
}

/// Shared between the ledger's clones: its status and the supervisor's wake-up call.
#[derive(Debug)]
pub(super) struct StoreHealth {
    status: Mutex<StoreStatus>,
    wake: Notify,
}

impl StoreHealth {
    pub(super) fn ready() -> Arc<Self> {
        Arc::new(Self {
            status: Mutex::new(StoreStatus::Ready),
            wake: Notify::new(),
        })
    }

    fn starting() -> Arc<Self> {
        Arc::new(Self {
            status: Mutex::new(StoreStatus::Unavailable("not connected yet".into())),
            wake: Notify::new(),
        })
    }

    fn get(&self) -> StoreStatus {
        self.status.lock().expect("store status lock").clone()
    }

    /// Sets the status; returns the previous one.
    fn set(&self, s: StoreStatus) -> StoreStatus {
        std::mem::replace(&mut *self.status.lock().expect("store status lock"), s)
    }
}

/// `mariadb://` is MySQL's wire protocol; sqlx knows it as `mysql://`.
fn normalise(url: &str) -> String {
    match url.strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None => url.to_string(),
    }
}

/// Why sqlx would not accept this database URL, if it would not (for `DATABASE_URL` checks).
pub fn url_problem(url: &str) -> Option<String> {
    let url = normalise(url);
    let parsed = match Backend::from_url(&url) {
        Err(e) => return Some(e.to_string()),
        Ok(Backend::Sqlite) => url.parse::<sqlx::sqlite::SqliteConnectOptions>().map(drop),
        Ok(Backend::Postgres) => url.parse::<sqlx::postgres::PgConnectOptions>().map(drop),
        Ok(Backend::MySql) => url.parse::<sqlx::mysql::MySqlConnectOptions>().map(drop),
    };
    parsed.err().map(|e| e.to_string())
}

/// The pool settings of each backend (see the module docs of `store`).
pub(super) fn pool_options(backend: Backend) -> AnyPoolOptions {
    let options = AnyPoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
    match backend {
        Backend::Sqlite => options
            .max_connections(1)
            .test_before_acquire(false)
            .after_connect(|conn, _| Box::pin(async move { sqlite_pragmas(conn).await })),
        Backend::Postgres | Backend::MySql => options.max_connections(10),
    }
}

/// WAL, a busy timeout and FULL sync on every SQLite connection, sqlx's and the direct one
/// (`super::direct`): in WAL mode `NORMAL` does not sync a commit (only checkpoints), so a
/// payment acknowledged to WeChat could vanish with a power cut; `FULL` syncs the WAL before
/// `COMMIT` returns, i.e. before SUCCESS is answered.
pub(super) const SQLITE_PRAGMAS: [&str; 3] = [
    "PRAGMA journal_mode = WAL",
    "PRAGMA busy_timeout = 5000",
    "PRAGMA synchronous = FULL",
];

/// Runs [`SQLITE_PRAGMAS`] on a sqlx connection.
async fn sqlite_pragmas(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    for pragma in SQLITE_PRAGMAS {
        conn.execute(pragma).await?;
    }
    Ok(())
}

impl Ledger {
    /// A ledger on `url` that has not connected yet: fails only when the URL is unusable.
    /// Run [`Ledger::supervise`] to bring it up; until then it reports itself unavailable.
    pub fn open_lazy(url: &str) -> Result<Self, StoreError> {
        install_default_drivers();
        let url = normalise(url);
        let backend = Backend::from_url(&url)?;
        if backend == Backend::Sqlite {
            super::warn_if_ephemeral();
        }
        let pool = pool_options(backend).connect_lazy(&url)?;
        Ok(Self {
            pool,
            held: super::held_for(backend),
            direct: super::direct::Target::from_url(&url).map(Arc::new),
            backend,
            clock: system_clock(),
            health: StoreHealth::starting(),
        })
    }

    /// Whether the ledger can be used now.
    pub fn store_status(&self) -> StoreStatus {
        self.health.get()
    }

    /// Shorthand for `store_status() == Ready`.
    pub fn is_ready(&self) -> bool {
        self.store_status() == StoreStatus::Ready
    }

    /// A request found the ledger failing or down: have the supervisor check now (it never
    /// tries more often than once a second, however many requests call this).
    pub fn suspect(&self) {
        self.health.wake.notify_one();
    }

    /// Brings the ledger up and watches it until `shutdown`: on failure the cause is logged at
    /// once and the attempt repeated after 0.5 s, 1 s, 2 s … up to 10 s (sooner when a request
    /// calls [`Ledger::suspect`]); once up, one rolled-back write every 30 s proves it still works.
    pub fn supervise(
        &self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let ledger = self.clone();
        tokio::spawn(async move {
            tokio::pin!(shutdown);
            let mut retry = FIRST_RETRY;
            let mut failures: u32 = 0;
            loop {
                let started = Instant::now();
                let was_ready = ledger.is_ready();
                let attempt = if was_ready {
                    ledger.probe_write().await
                } else {
                    ledger.bring_up().await
                };
                let wait = match attempt {
                    Ok(()) => {
                        if !was_ready {
                            tracing::info!(backend = ?ledger.backend, "ledger ready");
                        }
                        ledger.health.set(StoreStatus::Ready);
                        (retry, failures) = (FIRST_RETRY, 0);
                        HEALTH_EVERY
                    }
                    Err(cause) => {
                        failures += 1;
                        // SQLite's held connection may be the broken part (or opened read-only
                        // while the file was): the next attempt opens a new one.
                        ledger.drop_held().await;
                        let previous = ledger.health.set(StoreStatus::Unavailable(cause.clone()));
                        if previous != StoreStatus::Unavailable(cause.clone()) || failures == 1 {
                            tracing::error!(alert = true, backend = ?ledger.backend, cause = %cause, "ledger unavailable (DATABASE_URL); requests answer 503 STORE_UNAVAILABLE, retrying in the background");
                        } else {
                            tracing::debug!(cause = %cause, failures, "ledger still unavailable");
                        }
                        let wait = retry;
                        retry = (retry * 2).min(MAX_RETRY);
                        wait
                    }
                };
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(wait) => {}
                    () = ledger.health.wake.notified() => {
                        tokio::time::sleep_until((started + MIN_GAP).into()).await;
                    }
                }
            }
        })
    }

    /// Connect (on a connection of its own, for the real error instead of a pool timeout),
    /// migrate, and prove a write goes through.
    async fn bring_up(&self) -> Result<(), String> {
        let work = async {
            let options: Arc<AnyConnectOptions> = self.pool.connect_options();
            let mut conn = options
                .connect()
                .await
                .map_err(|e| format!("cannot connect: {e}"))?;
            if self.backend == Backend::Sqlite {
                sqlite_pragmas(&mut conn)
                    .await
                    .map_err(|e| format!("cannot open: {e}"))?;
            }
            let _ = conn.close().await;
            migrate::run(self).await.map_err(|e| e.to_string())?;
            self.probe_write().await
        };
        tokio::time::timeout(ATTEMPT_TIMEOUT, work)
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {ATTEMPT_TIMEOUT:?}")))
    }

    /// A write that changes nothing, rolled back: fails on a read-only file, a read-only
    /// replica or a lost connection.
    async fn probe_write(&self) -> Result<(), String> {
        let work = async {
            let mut tx = self.begin().await?;
            let update =
                "UPDATE pay_common_migrations SET applied_at = applied_at WHERE version < 0";
            sqlx::query(update).execute(&mut *tx).await?;
            tx.rollback().await?;
            Ok::<(), StoreError>(())
        };
        match tokio::time::timeout(ATTEMPT_TIMEOUT, work).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("cannot write: {e}")),
            Err(_) => Err(format!("no answer within {ATTEMPT_TIMEOUT:?}")),
        }
    }
}

/// `check-config`'s view of the ledger at `url`: can it be opened and written, right now?
/// Creates nothing: a SQLite file that does not exist yet is reported as such.
pub async fn check(url: &str) -> Result<String, String> {
    let url = normalise(url);
    if let Some(problem) = url_problem(&url) {
        return Err(problem);
    }
    let backend = Backend::from_url(&url).map_err(|e| e.to_string())?;
    if backend == Backend::Sqlite
        && let Some(path) = sqlite_path(&url)
        && !std::path::Path::new(&path).exists()
    {
        return Ok("the SQLite file does not exist yet; it is created at start".into());
    }
    let ledger = Ledger::open_lazy(&url).map_err(|e| e.to_string())?;
    let work = async {
        let mut conn = ledger
            .pool
            .connect_options()
            .connect()
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        if backend == Backend::Sqlite {
            sqlite_pragmas(&mut conn)
                .await
                .map_err(|e| format!("cannot open: {e}"))?;
        }
        let migrated = sqlx::query("SELECT version FROM pay_common_migrations")
            .fetch_all(&mut conn)
            .await
            .is_ok();
        let _ = conn.close().await;
        if !migrated {
            return Ok("reachable; its tables are created at start".to_string());
        }
        ledger.probe_write().await?;
        Ok("reachable and writable".to_string())
    };
    let result = tokio::time::timeout(ATTEMPT_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {ATTEMPT_TIMEOUT:?}")));
    ledger.close().await;
    result
}

/// The file of a `sqlite:` URL (`None` for in-memory databases).
pub(super) fn sqlite_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:")).then(|| path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mariadb_urls_are_mysql_and_bad_urls_are_named() {
        assert_eq!(normalise("mariadb://u@h/db"), "mysql://u@h/db");
        assert_eq!(url_problem("postgres://u@127.0.0.1:5432/db"), None);
        assert_eq!(url_problem("sqlite://./data/x.db?mode=rwc"), None);
        assert!(url_problem("redis://h").is_some());
        assert!(url_problem("sqlite://x.db?mode=sometimes").is_some());
    }

    #[test]
    fn sqlite_paths_come_out_of_their_urls() {
        assert_eq!(
            sqlite_path("sqlite://./data/a.db?mode=rwc").as_deref(),
            Some("./data/a.db")
        );
        assert_eq!(
            sqlite_path("sqlite:///tmp/a.db").as_deref(),
            Some("/tmp/a.db")
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }

    #[tokio::test]
    async fn a_lazily_opened_ledger_is_unavailable_until_supervised() {
        let ledger = Ledger::open_lazy("postgres://postgres@127.0.0.1:1/none").unwrap();
        assert!(matches!(ledger.store_status(), StoreStatus::Unavailable(_)));
        let cause = ledger.bring_up().await.unwrap_err();
        assert!(cause.starts_with("cannot connect"), "{cause}");
    }
}
