//! `Application`: binds its own listener (port 0 in tests), builds the state and the router,
//! starts the background work (platform-certificate refresh, reconciliation, webhook delivery),
//! and serves until a shutdown signal.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::http::{AppState, router};
use crate::pay::book::Book;
use crate::pay::hooks::{BusinessHooks, NoHooks};
use crate::pay::payments::Payments;
use crate::pay::port::LedgerStore;
use crate::pay::reconcile::{ReconcileSettings, Reconciler};
use crate::store::{Backend, Ledger};
use crate::wechatpay::clock::{Clock, SystemClock};

/// How often the business-webhook dispatcher looks for due events.
pub const DISPATCH_EVERY: Duration = Duration::from_secs(5);

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
    /// The storage port.
    pub store: Arc<dyn LedgerStore>,
    /// The business hooks (none by default).
    pub hooks: Arc<dyn BusinessHooks>,
    /// The store's name for `/healthz`.
    pub store_kind: &'static str,
    /// The ledger, when the store is the shipped one (the events routes and webhook need it).
    pub ledger: Option<Ledger>,
    /// The one clock (the ledger's, when it is the store).
    pub clock: Arc<dyn Clock>,
}

impl Parts {
    /// Another implementation of the storage port, on the system clock (no ledger: the events
    /// routes answer 501).
    pub fn new(store: Arc<dyn LedgerStore>, store_kind: &'static str) -> Self {
        Self {
            store,
            hooks: Arc::new(NoHooks),
            store_kind,
            ledger: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// The business's hooks on the money moments.
    pub fn with_hooks(mut self, hooks: Arc<dyn BusinessHooks>) -> Self {
        self.hooks = hooks;
        self
    }

    /// The shipped ledger as the store.
    pub fn ledger(ledger: Ledger) -> Self {
        let kind = match ledger.backend() {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        };
        Self {
            store: Arc::new(ledger.clone()),
            hooks: Arc::new(NoHooks),
            store_kind: kind,
            clock: ledger.clock(),
            ledger: Some(ledger),
        }
    }
}

/// The ledger at `DATABASE_URL` (or the embedded SQLite default), opened lazily: this never
/// waits for the database. [`Application::run_until`] brings it up in the background; until
/// then `/healthz` names the cause and WeChat-bound routes answer 503 `STORE_UNAVAILABLE`.
/// Fails only when the URL itself is unusable.
pub fn open_ledger(config: &Config) -> Result<Ledger, crate::store::StoreError> {
    let url = config
        .database_url
        .clone()
        .unwrap_or_else(crate::store::default_database_url);
    Ledger::open_lazy(&url)
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
        let in_flight = crate::http::limit::InFlight::new(config.max_in_flight);
        let book = Book::new(parts.store, parts.hooks, parts.clock);
        let mut pay = Payments::new(Arc::new(config), book);
        if let Some(ledger) = &parts.ledger {
            pay = pay.with_allowances(Arc::new(ledger.clone()));
        }
        let state = AppState {
            pay,
            store_kind: parts.store_kind,
            ledger: parts.ledger,
            trigger_gate: Default::default(),
            in_flight,
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
        let mut tasks: Vec<JoinHandle<()>> = Vec::new();
        if let Some(ledger) = &self.state.ledger {
            tasks.push(ledger.supervise(std::future::pending()));
        }
        tasks.extend(self.start_certificate_refresh());
        tasks.extend(self.start_reconciler());
        if let Some(d) = self.state.dispatcher() {
            tasks.push(d.spawn(DISPATCH_EVERY, std::future::pending()));
        }
        let limits = crate::http::serve::ConnectionLimits::from_config(&self.state.pay.config);
        let app = router(self.state);
        let result = crate::http::serve::serve(self.listener, app, limits, shutdown).await;
        for task in tasks {
            task.abort();
        }
        result
    }

    /// In platform-certificate mode: download now, then on `certRefreshMinutes`; a failed
    /// download is retried after 0.5 s, doubling up to 30 s, until one succeeds.
    fn start_certificate_refresh(&self) -> Option<JoinHandle<()>> {
        let client = self
            .state
            .pay
            .client
            .clone()
            .filter(|c| c.certificates_enabled())?;
        let every = self.state.pay.config.cert_refresh;
        Some(crate::periodic::every(
            every,
            std::future::pending(),
            move || {
                let client = client.clone();
                async move {
                    let n = client.refresh_certificates_with_retry().await;
                    tracing::info!(certificates = n, "platform certificates refreshed");
                }
            },
        ))
    }

    /// In a long-lived process: a reconcile pass every `reconcileIntervalSeconds` (0 = off).
    fn start_reconciler(&self) -> Option<JoinHandle<()>> {
        let pay = self.state.pay.clone();
        pay.client.as_ref()?;
        let every = pay.config.reconcile_interval;
        if every.is_zero() {
            return None;
        }
        let settings = ReconcileSettings {
            grace_secs: pay.config.reconcile_grace.as_secs() as i64,
            ..Default::default()
        };
        let book = pay.book.clone();
        let wechat: Arc<dyn crate::pay::service::WechatQueries> = Arc::new(pay);
        Some(Reconciler::spawn(
            book,
            wechat,
            every,
            settings,
            std::future::pending(),
        ))
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
