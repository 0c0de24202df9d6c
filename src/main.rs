//! The `pay-common` binary: parse the subcommand (clap), load the configuration, run.

use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use pay_common::config::Config;
use pay_common::demo::DemoOptions;
use pay_common::simulator::cli::SimulateArgs;
use pay_common::startup::{Application, Parts, open_ledger, shutdown_signal};

/// WeChat Pay v3 backend for CloudBase HTTP cloud functions, with a local simulator.
#[derive(Debug, Parser)]
#[command(name = "pay-common", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP service (the default); configured by the environment and ./.env
    /// (listens on HOST:PORT, default 0.0.0.0:3000).
    Serve,
    /// Run the whole payment loop locally with simulated money: the service, the WeChat
    /// Pay simulator, fresh keys and a SQLite ledger recreated at start.
    Demo(DemoArgs),
    /// Run only the WeChat Pay v3 simulator on 127.0.0.1 and print what the service must
    /// be configured with; serves until Ctrl-C.
    // The flags live with the simulator (`crates/simulator/src/cli.rs`).
    Simulate(Box<SimulateArgs>),
    /// Validate the environment (and ./.env) and report; exits 1 when not ready.
    CheckConfig,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Port of the service.
    #[arg(long, value_name = "PORT", default_value_t = 3000)]
    port: u16,
    /// Port of the WeChat Pay simulator.
    #[arg(long, value_name = "PORT", default_value_t = 3100)]
    sim_port: u16,
    /// SQLite file for the ledger, recreated at start.
    #[arg(long, value_name = "PATH", default_value = "./data/demo.db")]
    database: String,
}

fn main() -> ExitCode {
    let started = Instant::now();
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::CheckConfig => check_config(),
        Command::Serve => runtime().block_on(serve(Phases::from(started))),
        Command::Demo(a) => finish(runtime().block_on(async {
            pay_common::telemetry::init_quiet();
            let opts = DemoOptions {
                port: a.port,
                sim_port: a.sim_port,
                database: a.database,
            };
            pay_common::demo::run(opts, shutdown_signal()).await
        })),
        Command::Simulate(a) => finish(runtime().block_on(async {
            pay_common::telemetry::init();
            pay_common::simulator::cli::run(*a).await
        })),
    }
}

fn finish(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn check_config() -> ExitCode {
    let config = Config::from_env();
    let url = config
        .database_url
        .clone()
        .unwrap_or_else(pay_common::store::default_url);
    let store = runtime().block_on(pay_common::store::open::check(&url));
    let (report, ready) = pay_common::report::render(
        &config,
        |v| std::env::var(v).is_ok_and(|s| !s.trim().is_empty()),
        &store,
    );
    print!("{report}");
    if ready {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn serve(mut phases: Phases) -> ExitCode {
    pay_common::telemetry::init();
    phases.done("runtime and logging");
    let config = Config::from_env();
    phases.done("configuration and keys");
    for p in &config.problems {
        tracing::warn!(var = p.var, problem = %p.message, "configuration");
    }
    let ledger = match open_ledger(&config) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "DATABASE_URL cannot be used");
            return ExitCode::FAILURE;
        }
    };
    phases.done("database open and migrations");
    let app = match Application::build(config, Parts::ledger(ledger)).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "could not listen");
            return ExitCode::FAILURE;
        }
    };
    phases.done("listener and clients");
    phases.total();
    warm_up_randomness();
    tracing::info!(addr = %app.local_addr(), "pay-common listening");
    match app.run_until(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "server error");
            ExitCode::FAILURE
        }
    }
}

/// Seeds aws-lc's random generator on a thread of its own as serving starts. Its first use in a
/// process collects jitter entropy for the root seed (about 25 ms of CPU); the first order or
/// callback (RSA blinding, nonces, ids) would otherwise pay it in full. It starts only once the
/// listener is ready because the collection, which hammers memory, slowed the start-up phases
/// it ran beside (measured: spawn → port accepting 5–6 ms without it, 8 ms with it), while
/// `/healthz` needs no randomness from aws-lc. Later threads seed from that root cheaply.
fn warm_up_randomness() {
    std::thread::spawn(|| {
        let mut seed = [0u8; 1];
        let _ = aws_lc_rs::rand::fill(&mut seed);
    });
}

/// Debug-level timing of the start-up phases, one line each
/// (`RUST_LOG=pay_common::startup=debug`); `cargo bench --bench load -- --cold-starts N` reads
/// them.
struct Phases {
    start: Instant,
    last: Instant,
}

impl From<Instant> for Phases {
    fn from(start: Instant) -> Self {
        Self { start, last: start }
    }
}

impl Phases {
    fn done(&mut self, phase: &'static str) {
        let now = Instant::now();
        let ms = (now - self.last).as_secs_f64() * 1000.0;
        tracing::debug!(target: "pay_common::startup", phase, ms, "start-up phase");
        self.last = now;
    }

    fn total(&self) {
        let ms = self.start.elapsed().as_secs_f64() * 1000.0;
        tracing::debug!(target: "pay_common::startup", phase = "main to serving", ms, "start-up phase");
    }
}
