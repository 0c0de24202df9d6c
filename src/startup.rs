//! `Application`: binds its own listener (port 0 in tests), builds the state and the router,
//! starts the background work (platform-certificate refresh), and serves until a shutdown signal.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::config::Config;
use crate::http::{AppState, router};
use crate::pay::payments::Payments;
use crate::pay::service::OrderService;
use crate::wechatpay::crypto::{Clock, SystemClock};

/// A built, bound, not yet serving application.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("addr", &self.listener.local_addr().ok())
            .finish()
    }
}

/// What the application runs on, besides its configuration.
pub struct Parts {
    /// The order service.
    pub orders: Arc<dyn OrderService>,
    /// Its name for `/healthz`.
    pub store_kind: &'static str,
    /// The clock (tests inject one).
    pub clock: Arc<dyn Clock>,
}

impl Parts {
    /// An order service on the system clock.
    pub fn new(orders: Arc<dyn OrderService>, store_kind: &'static str) -> Self {
        Self {
            orders,
            store_kind,
            clock: Arc::new(SystemClock),
        }
    }
}

impl Application {
    /// Binds `config.host:config.port` (port 0 picks a free one).
    pub async fn build(config: Config, parts: Parts) -> std::io::Result<Self> {
        let addr = format!("{}:{}", config.host, config.port);
        let listener = TcpListener::bind(&addr).await?;
        Ok(Self::from_listener(listener, config, parts))
    }

    /// Uses an already bound listener (tests bind first so the simulator knows where to call back).
    pub fn from_listener(listener: TcpListener, config: Config, parts: Parts) -> Self {
        let pay = Payments::new(Arc::new(config), parts.orders, parts.clock);
        let state = AppState {
            pay,
            store_kind: parts.store_kind,
        };
        Self { listener, state }
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// The orchestration handle (tests and the demo use it directly).
    pub fn payments(&self) -> Payments {
        self.state.pay.clone()
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let refresher = self.start_certificate_refresh();
        let app = router(self.state);
        let result = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        if let Some(task) = refresher {
            task.abort();
        }
        result
    }

    /// In platform-certificate mode: download now, then on `certRefreshMinutes`.
    fn start_certificate_refresh(&self) -> Option<tokio::task::JoinHandle<()>> {
        let client = self
            .state
            .pay
            .client
            .clone()
            .filter(|c| c.certificates_enabled())?;
        let every = self.state.pay.config.cert_refresh;
        Some(tokio::spawn(async move {
            loop {
                match client.refresh_certificates().await {
                    Ok(n) => tracing::info!(certificates = n, "platform certificates refreshed"),
                    Err(e) => tracing::warn!(error = %e, "platform certificate download failed"),
                }
                tokio::time::sleep(every).await;
            }
        }))
    }
}

/// Completes on Ctrl-C or SIGTERM (what SCF and container platforms send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
