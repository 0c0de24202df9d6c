//! One way to run background work: a pass at once, then one every `interval`, until `shutdown`
//! resolves (a pass in progress finishes first). Used by the webhook dispatcher, the reconciler
//! and the platform-certificate refresh.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;

/// Spawns the loop.
pub fn every<F, Fut>(
    interval: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
    mut pass: F,
) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = ticker.tick() => pass().await,
            }
        }
    })
}
