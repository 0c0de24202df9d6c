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
    /// A statement of SQLite's direct use cases (`super::direct`) failed.
    Sqlite(rusqlite::Error),
    /// A direct use case's thread ended without an answer (it panicked).
    Lost(String),
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
        if let Self::Sqlite(e) = self {
            return matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            );
        }
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
            // A read-only or vanished file, as for sqlx's SQLite codes below.
            Self::Sqlite(e) => matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen)
            ),
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
            Self::Sqlite(e) => write!(f, "database error: {e}"),
            Self::Lost(why) => write!(f, "database call lost: {why}"),
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
            Self::Sqlite(e) => Some(e),
            Self::UnsupportedUrl(_) | Self::Corrupt(_) | Self::Lost(_) => None,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Database(e)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sqlite(e)
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

/// Runs a ledger call (retried as [`retrying!`] does) to completion: a caller that gives up (a
/// Mini Program that hung up, hyper dropping the request, a callback's deadline) stops
/// waiting, never the call ([`Finish`]). A statement or transaction cut off half-way is where
/// sqlx leaves a connection inside an open transaction (its writes lost with it) or its MySQL
/// protocol state out of step (the connection hangs), so no ledger call is ever cut off; what
/// it writes is all-or-nothing and a retry finds it. `$ledger` is cloned into the call as `$l`;
/// the call may use only owned values moved in.
macro_rules! to_completion {
    ($ledger:expr, |$l:ident| $call:expr) => {{
        let $l = $ledger.clone();
        let call = async move { $crate::store::error::retrying!($call) };
        Ok($crate::store::error::Finish::new(call).await?)
    }};
}
pub(crate) use to_completion;

/// A future that is finished on a task of its own if it is dropped before it is done. Awaited
/// to the end, it costs one allocation and no task.
pub(crate) struct Finish<F: Future + Send + 'static>(Option<std::pin::Pin<Box<F>>>)
where
    F::Output: Send + 'static;

impl<F: Future + Send + 'static> Finish<F>
where
    F::Output: Send + 'static,
{
    pub(crate) fn new(future: F) -> Self {
        Self(Some(Box::pin(future)))
    }
}

impl<F: Future + Send + 'static> Future for Finish<F>
where
    F::Output: Send + 'static,
{
    type Output = F::Output;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let future = self.0.as_mut().expect("Finish polled after completion");
        let output = std::task::ready!(future.as_mut().poll(cx));
        self.0 = None;
        std::task::Poll::Ready(output)
    }
}

impl<F: Future + Send + 'static> Drop for Finish<F>
where
    F::Output: Send + 'static,
{
    fn drop(&mut self) {
        if let Some(rest) = self.0.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(rest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pay::service::ServiceErrorKind;

    #[tokio::test]
    async fn a_call_given_up_half_way_still_runs_to_its_end() {
        let (done, result) = tokio::sync::oneshot::channel();
        let gate = std::sync::Arc::new(tokio::sync::Notify::new());
        let opened = gate.clone();
        let call = Finish::new(async move {
            opened.notified().await;
            done.send("committed").unwrap();
        });
        let waited = tokio::time::timeout(std::time::Duration::from_millis(20), call).await;
        assert!(
            waited.is_err(),
            "the caller gave up while the call was waiting"
        );
        gate.notify_one();
        assert_eq!(result.await.unwrap(), "committed");
    }

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
