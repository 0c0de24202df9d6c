//! Test harness: a fresh database per test on each backend and a controllable clock.

use pay_common::wechatpay::clock::{Clock as _, FixedClock};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use pay_common::pay::book::Book;
use pay_common::store::{EventFilter, EventView, Ledger};
use sqlx::{Connection, Executor};

/// The test clock starts here (Unix seconds).
pub const T0: i64 = 1_700_000_000;

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Sqlite,
    Postgres,
    MySql,
}

/// One test's database, its ledger (the storage port under test) and the money use cases over it.
#[derive(Clone)]
pub struct TestDb {
    pub ledger: Ledger,
    pub book: Book,
    pub url: String,
    clock: Arc<FixedClock>,
}

impl TestDb {
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
    pub fn set_now(&self, t: i64) {
        self.clock.set(t);
    }
    /// The money use cases over another ledger handle, on the test's clock.
    pub fn book_on(&self, ledger: &Ledger) -> Book {
        Book::without_hooks(Arc::new(ledger.clone()), self.clock.clone())
    }
    /// A second, independent ledger on the same database (another process).
    pub async fn another_instance(&self) -> Ledger {
        let clock = self.clock.clone();
        Ledger::connect(&self.url)
            .await
            .expect("second instance connects")
            .with_clock(clock)
    }
    pub async fn events(&self, ty: &str) -> Vec<EventView> {
        let filter = EventFilter {
            event_type: Some(ty.into()),
            ..Default::default()
        };
        self.ledger.events(&filter).await.expect("events")
    }
}

fn random_name() -> String {
    let mut b = [0u8; 6];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("pc_{hex}")
}

/// The server (without database) for a backend; `LEDGER_TEST_POSTGRES` / `LEDGER_TEST_MYSQL`
/// override the defaults.
fn server_url(kind: Kind) -> Option<String> {
    let (var, default) = match kind {
        Kind::Sqlite => return None,
        Kind::Postgres => ("LEDGER_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432"),
        Kind::MySql => ("LEDGER_TEST_MYSQL", "mysql://root@127.0.0.1:3306"),
    };
    Some(std::env::var(var).unwrap_or_else(|_| default.to_string()))
}

/// Creates the test's database; `None` (after a visible notice) if the server is unreachable.
async fn create(kind: Kind) -> Option<(String, Option<String>)> {
    sqlx::any::install_default_drivers();
    let name = random_name();
    let Some(server) = server_url(kind) else {
        let path = std::env::temp_dir().join(format!("{name}.db"));
        return Some((format!("sqlite://{}?mode=rwc", path.display()), None));
    };
    let admin = format!("{server}/test");
    let conn =
        tokio::time::timeout(Duration::from_secs(5), sqlx::AnyConnection::connect(&admin)).await;
    let mut conn = match conn {
        Ok(Ok(c)) => c,
        other => {
            let why = match other {
                Ok(Err(e)) => e.to_string(),
                _ => "timed out".into(),
            };
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{kind:?} server at {admin} is unreachable in CI: {why}");
            }
            // Written to the real stderr, past libtest's capture, so the skip is visible.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {kind:?} conformance test, server at {admin} unreachable: {why}"
            );
            return None;
        }
    };
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create test database");
    conn.close().await.ok();
    Some((format!("{server}/{name}"), Some(name)))
}

async fn drop_db(kind: Kind, url: &str, name: Option<String>) {
    match (kind, name) {
        (Kind::Sqlite, _) | (_, None) => {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_end_matches("?mode=rwc");
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        }
        (kind, Some(name)) => {
            let admin = format!("{}/test", server_url(kind).unwrap_or_default());
            if let Ok(mut conn) = sqlx::AnyConnection::connect(&admin).await {
                let force = if matches!(kind, Kind::Postgres) {
                    " WITH (FORCE)"
                } else {
                    ""
                };
                let _ = conn
                    .execute(format!("DROP DATABASE IF EXISTS {name}{force}").as_str())
                    .await;
                let _ = conn.close().await;
            }
        }
    }
}

/// Runs one conformance case against `kind` on a fresh database, dropping it afterwards
/// (also when the case panics, whose panic is then re-raised).
pub async fn run<F, Fut>(kind: Kind, case: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    // Warnings and alerts go to the test's captured output, shown when it fails.
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "pay_common=warn".into()),
        )
        .try_init();
    let Some((url, name)) = create(kind).await else {
        return;
    };
    let clock = Arc::new(FixedClock::new(T0));
    let c = clock.clone();
    let ledger = match Ledger::connect(&url).await {
        Ok(l) => l.with_clock(c),
        Err(e) => {
            drop_db(kind, &url, name).await;
            panic!("ledger connects and migrates: {e}");
        }
    };
    let db = TestDb {
        book: Book::without_hooks(Arc::new(ledger.clone()), clock.clone()),
        ledger: ledger.clone(),
        url: url.clone(),
        clock,
    };
    let result = tokio::spawn(case(db)).await;
    ledger.close().await;
    drop_db(kind, &url, name).await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}
