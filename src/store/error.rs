//! The ledger's one error type. The ledger refuses nothing (refusals are decided in `pay`), so
//! every error becomes `ServiceError::storage` at the storage-port boundary.

use crate::pay::service::ServiceError;

/// The `error` code of a request refused because the ledger cannot be used (HTTP 503).
pub const STORE_UNAVAILABLE: &str = "STORE_UNAVAILABLE";

/// What can go wrong in the ledger.
#[derive(Debug)]
pub enum StoreError {
    /// The database URL's scheme is not sqlite, postgres or mysql.
    UnsupportedUrl(String),
    /// A query or connection failed.
    Database(sqlx::Error),
    /// A migration could not be applied.
    Migration {
        /// The migration's version number.
        version: i64,
        /// Why.
        source: sqlx::Error,
    },
    /// A stored value could not be read back (e.g. an unknown state name).
    Corrupt(String),
}

impl StoreError {
    /// Deadlocks, serialization failures and busy databases: the transaction may be retried.
    pub fn is_retryable(&self) -> bool {
        let Self::Database(sqlx::Error::Database(db)) = self else {
            return false;
        };
        let code = db.code().unwrap_or_default();
        // PostgreSQL serialization/deadlock, MySQL deadlock (SQLSTATE 40001) and lock wait
        // timeout (HY000 with "Lock wait"), SQLite BUSY/LOCKED and their extended codes.
        matches!(code.as_ref(), "40001" | "40P01" | "5" | "6" | "261" | "517")
            || db.message().contains("Lock wait timeout")
            || db.message().contains("Deadlock")
    }
}

impl StoreError {
    /// The database cannot be reached or written (lost connection, pool timeout, read-only
    /// file or replica), as opposed to a failing statement: callers get 503
    /// `STORE_UNAVAILABLE` and the ledger's supervisor is asked to check it.
    pub fn is_unavailable(&self) -> bool {
        use sqlx::Error as E;
        match self {
            Self::Database(
                E::Io(_) | E::Tls(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed,
            ) => true,
            Self::Database(E::Database(db)) => {
                let code = db.code().unwrap_or_default();
                // SQLite READONLY (8 and its extended codes), PostgreSQL read-only transaction,
                // shutdown and connection classes, MySQL --read-only (1290 / 1836).
                matches!(
                    code.as_ref(),
                    "8" | "264" | "520" | "776" | "1032" | "25006"
                ) || code.starts_with("08")
                    || code.starts_with("57P")
                    || db.message().contains("read-only")
                    || db.message().contains("read only")
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnsupportedUrl(s) => write!(
                f,
                "unsupported database URL scheme `{s}` (use sqlite, postgres or mysql)"
            ),
            Self::Database(e) => write!(f, "database error: {e}"),
            Self::Migration { version, source } => {
                write!(f, "migration {version:04} failed: {source}")
            }
            Self::Corrupt(s) => write!(f, "corrupt ledger row: {s}"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Database(e) | Self::Migration { source: e, .. } => Some(e),
            Self::UnsupportedUrl(_) | Self::Corrupt(_) => None,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Database(e)
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            other if other.is_unavailable() => {
                tracing::error!(error = %other, "ledger unavailable");
                ServiceError::new(
                    crate::pay::service::ServiceErrorKind::Unavailable,
                    STORE_UNAVAILABLE,
                    other.to_string(),
                )
            }
            other => {
                tracing::error!(error = %other, "ledger storage failure");
                ServiceError::storage(other)
            }
        }
    }
}

/// Runs an async transaction body again (a few times, with a short backoff) when the
/// database reports a deadlock or a busy lock.
macro_rules! retrying {
    ($body:expr) => {{
        let mut attempt: u32 = 0;
        loop {
            match $body.await {
                Err(e) if e.is_retryable() && attempt < 5 => {
                    attempt += 1;
                    tracing::debug!(error = %e, attempt, "retrying ledger transaction");
                    tokio::time::sleep(std::time::Duration::from_millis(5 << attempt)).await;
                }
                other => break other,
            }
        }
    }};
}
pub(crate) use retrying;

/// Runs a ledger call (retried as [`retrying!`] does) on a task of its own and waits for it:
/// a caller that gives up (a Mini Program that hung up, hyper dropping the request, a
/// callback's deadline) stops waiting, never the call. A statement or transaction cut off
/// half-way is where sqlx leaves a connection inside an open transaction (its writes lost with
/// it) or its MySQL protocol state out of step (the connection hangs), so no ledger call is
/// ever cut off; what it writes is all-or-nothing and a retry finds it. `$ledger` is cloned
/// into the task as `$l`; the call may use only owned values moved in.
macro_rules! to_completion {
    ($ledger:expr, |$l:ident| $call:expr) => {{
        let $l = $ledger.clone();
        match tokio::spawn(async move { $crate::store::error::retrying!($call) }).await {
            Ok(result) => Ok(result?),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Only at runtime shutdown.
            Err(_) => Err($crate::pay::service::ServiceError::from(
                $crate::store::StoreError::Database(sqlx::Error::PoolClosed),
            )),
        }
    }};
}
pub(crate) use to_completion;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pay::service::ServiceErrorKind;

    #[test]
    fn failures_become_storage_errors() {
        let failed = ServiceError::from(StoreError::Corrupt("state".into()));
        assert_eq!(
            (failed.kind, failed.code),
            (ServiceErrorKind::Unavailable, "STORAGE_ERROR")
        );
        assert!(!StoreError::Corrupt("x".into()).is_retryable());
        assert!(!StoreError::Database(sqlx::Error::PoolTimedOut).is_retryable());
        let lost = ServiceError::from(StoreError::Database(sqlx::Error::PoolTimedOut));
        assert_eq!(
            (lost.kind, lost.code),
            (ServiceErrorKind::Unavailable, STORE_UNAVAILABLE)
        );
    }
}
