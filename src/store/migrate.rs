//! A small migration runner: versioned SQL files per backend, embedded at build time, applied
//! in order and recorded in `pay_common_migrations`. Safe when two processes start together:
//! PostgreSQL and MySQL take a named lock for the run, SQLite takes its write lock; every
//! statement is `IF NOT EXISTS` and the version insert ignores duplicates.

use sqlx::{AnyConnection, Executor};

use super::{Backend, Ledger, StoreError};

/// `(version, sql)` pairs, oldest first.
type Migrations = &'static [(i64, &'static str)];

const SQLITE: Migrations = &[
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/sqlite/0002_payout_allowances.sql"),
    ),
    (
        3,
        include_str!("../../migrations/sqlite/0003_unmatched.sql"),
    ),
];
const POSTGRES: Migrations = &[
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/postgres/0002_payout_allowances.sql"),
    ),
    (
        3,
        include_str!("../../migrations/postgres/0003_unmatched.sql"),
    ),
];
const MYSQL: Migrations = &[
    (1, include_str!("../../migrations/mysql/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/mysql/0002_payout_allowances.sql"),
    ),
    (3, include_str!("../../migrations/mysql/0003_unmatched.sql")),
];

/// Arbitrary but fixed key for `pg_advisory_lock` / `GET_LOCK`.
const LOCK_KEY: i64 = 0x7061_795f_636f_6d6d;

/// Applies every migration not yet recorded.
pub(super) async fn run(ledger: &Ledger) -> Result<(), StoreError> {
    let migrations = match ledger.backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
        Backend::MySql => MYSQL,
    };
    let mut conn = ledger.conn().await?;
    lock(ledger.backend, &mut conn).await?;
    let result = apply(ledger, &mut conn, migrations).await;
    let unlocked = unlock(ledger.backend, &mut conn).await;
    result?;
    unlocked
}

async fn apply(
    ledger: &Ledger,
    conn: &mut AnyConnection,
    migrations: Migrations,
) -> Result<(), StoreError> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS pay_common_migrations \
         (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .await?;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM pay_common_migrations")
        .fetch_all(&mut *conn)
        .await?;
    for &(version, sql) in migrations {
        if applied.contains(&version) {
            continue;
        }
        let fail = |source| StoreError::Migration { version, source };
        for statement in statements(sql) {
            conn.execute(statement).await.map_err(fail)?;
        }
        let insert = match ledger.backend {
            Backend::MySql => "INSERT IGNORE INTO pay_common_migrations VALUES (?, ?)",
            Backend::Sqlite | Backend::Postgres => {
                "INSERT INTO pay_common_migrations VALUES (?, ?) ON CONFLICT DO NOTHING"
            }
        };
        sqlx::query(&ledger.sql(insert))
            .bind(version)
            .bind(ledger.now())
            .execute(&mut *conn)
            .await
            .map_err(fail)?;
        tracing::info!(version, "applied ledger migration");
    }
    Ok(())
}

/// Splits a migration file into statements (our files keep `;` out of strings and comments).
fn statements(sql: &str) -> impl Iterator<Item = &str> {
    sql.split(';').map(str::trim).filter(|s| {
        s.lines()
            .any(|l| !l.trim().is_empty() && !l.trim().starts_with("--"))
    })
}

async fn lock(backend: Backend, conn: &mut AnyConnection) -> Result<(), StoreError> {
    match backend {
        Backend::Postgres => {
            // Wrapped: the any driver cannot describe a `void` column.
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_lock($1)) AS l")
                .bind(LOCK_KEY)
                .execute(&mut *conn)
                .await?;
        }
        Backend::MySql => {
            sqlx::query("SELECT GET_LOCK(?, 60)")
                .bind(LOCK_KEY.to_string())
                .execute(&mut *conn)
                .await?;
        }
        // Two processes creating the same tables: `IF NOT EXISTS` plus SQLite's own write
        // lock (with busy_timeout) serialise them.
        Backend::Sqlite => {}
    }
    Ok(())
}

async fn unlock(backend: Backend, conn: &mut AnyConnection) -> Result<(), StoreError> {
    match backend {
        Backend::Postgres => {
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_unlock($1)) AS l")
                .bind(LOCK_KEY)
                .execute(&mut *conn)
                .await?;
        }
        Backend::MySql => {
            sqlx::query("SELECT RELEASE_LOCK(?)")
                .bind(LOCK_KEY.to_string())
                .execute(&mut *conn)
                .await?;
        }
        Backend::Sqlite => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_backend_has_the_same_versions() {
        let versions = |m: Migrations| m.iter().map(|(v, _)| *v).collect::<Vec<_>>();
        assert_eq!(versions(SQLITE), versions(POSTGRES));
        assert_eq!(versions(SQLITE), versions(MYSQL));
    }

    #[test]
    fn migration_comments_hold_no_semicolon() {
        for (v, sql) in SQLITE.iter().chain(POSTGRES).chain(MYSQL) {
            for line in sql.lines().filter(|l| l.trim_start().starts_with("--")) {
                assert!(
                    !line.contains(';'),
                    "migration {v}: a `;` in a comment splits the statement: {line}"
                );
            }
        }
    }

    #[test]
    fn statements_skip_comments_and_blanks() {
        let s: Vec<_> =
            statements("-- c\nCREATE TABLE a (x INT);\n\n;CREATE INDEX i ON a (x);\n").collect();
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(s[1], "CREATE INDEX i ON a (x)");
    }
}
