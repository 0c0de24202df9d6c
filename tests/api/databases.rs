//! Real databases for the API tests: a fresh PostgreSQL database per test on the local server
//! (`postgres://postgres@127.0.0.1:5432`, or `LEDGER_TEST_POSTGRES`), dropped afterwards, and a
//! TCP port that refuses connections until told to forward them to that server.

use std::time::Duration;

use sqlx::{Connection, Executor};
use tokio::net::TcpListener;

fn server() -> String {
    std::env::var("LEDGER_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A PostgreSQL database that is dropped when this is.
pub struct PgDatabase {
    pub name: String,
}

impl PgDatabase {
    /// `postgres://…/<name>` on the real server.
    pub fn url(&self) -> String {
        format!("{}/{}", server(), self.name)
    }

    /// The same database reached through `127.0.0.1:<port>`.
    pub fn url_via(&self, port: u16) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/{}", self.name)
    }

    /// Creates one; `None` (after a visible notice) when the server is unreachable outside CI.
    pub async fn create() -> Option<Self> {
        sqlx::any::install_default_drivers();
        let admin = format!("{}/test", server());
        let conn =
            tokio::time::timeout(Duration::from_secs(5), sqlx::AnyConnection::connect(&admin))
                .await;
        let mut conn = match conn {
            Ok(Ok(c)) => c,
            other => {
                let why = match other {
                    Ok(Err(e)) => e.to_string(),
                    _ => "timed out".into(),
                };
                if std::env::var("CI").as_deref() == Ok("true") {
                    panic!("PostgreSQL at {admin} is unreachable in CI: {why}");
                }
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED: PostgreSQL test, server at {admin} unreachable: {why}"
                );
                return None;
            }
        };
        let mut b = [0u8; 6];
        aws_lc_rs::rand::fill(&mut b).unwrap();
        let name = format!(
            "pc_edge_{}",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        );
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create test database");
        let _ = conn.close().await;
        Some(Self { name })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin, name) = (format!("{}/test", server()), self.name.clone());
        // Dropped from a plain thread: the test's runtime may be shutting down.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::AnyConnection::connect(&admin).await {
                    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = conn.execute(drop.as_str()).await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// A local port that refuses connections (nothing listens on it) until
/// [`ClosedPort::open_to_postgres`] starts relaying it to the PostgreSQL server;
/// [`ClosedPort::close`] cuts every relayed connection and refuses again.
pub struct ClosedPort {
    pub port: u16,
    stop: tokio::sync::watch::Sender<bool>,
}

impl ClosedPort {
    /// A port that was free a moment ago and is closed now.
    pub async fn new() -> Self {
        let probe = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        Self {
            port,
            stop: tokio::sync::watch::channel(false).0,
        }
    }

    /// From now on, every connection to the port is relayed to the PostgreSQL server.
    pub async fn open_to_postgres(&self) {
        self.stop.send_replace(false);
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        let upstream = server()
            .rsplit('@')
            .next()
            .unwrap_or("127.0.0.1:5432")
            .to_string();
        let mut stop = self.stop.subscribe();
        tokio::spawn(async move {
            loop {
                let (mut client, _) = tokio::select! {
                    _ = stop.wait_for(|s| *s) => return,
                    accepted = listener.accept() => match accepted {
                        Ok(a) => a,
                        Err(_) => return,
                    },
                };
                let (upstream, mut stop) = (upstream.clone(), stop.clone());
                tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await {
                        tokio::select! {
                            _ = stop.wait_for(|s| *s) => {}
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        }
                    }
                });
            }
        });
    }

    /// Cuts every relayed connection and stops listening: the database is "down" again.
    pub fn close(&self) {
        self.stop.send_replace(true);
    }
}
