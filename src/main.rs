//! The `pay-common` binary: parse the subcommand (clap), load the configuration, run.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use pay_common::config::Config;
use pay_common::demo::DemoOptions;
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

#[derive(Debug, Args)]
struct SimulateArgs {
    /// Port on 127.0.0.1.
    #[arg(long, value_name = "PORT", default_value_t = 3100)]
    port: u16,
    /// Merchant id the simulator accepts (default 1900000001).
    #[arg(long, value_name = "ID", env = "merchantId")]
    mchid: Option<String>,
    /// Serial number of the merchant's API certificate (default: random).
    #[arg(long, value_name = "HEX", env = "merchantSerialNumber")]
    merchant_serial: Option<String>,
    /// PEM file with the merchant's public key, to verify request signatures.
    #[arg(long, value_name = "PEM", conflicts_with = "merchant_private_key_file")]
    merchant_public_key_file: Option<PathBuf>,
    /// PEM file with the merchant's private key (its public half is trusted); falls back to
    /// the PEM text in `privateKey`; without either, a merchant key is generated and printed.
    #[arg(long, value_name = "PEM")]
    merchant_private_key_file: Option<PathBuf>,
    /// APIv3 key, 32 characters (default: generated and printed).
    #[arg(long, value_name = "KEY", env = "apiV3Key", hide_env_values = true)]
    api_v3_key: Option<String>,
    /// AppID bound to the merchant; repeat for several (falls back to `appId`).
    #[arg(long, value_name = "APPID")]
    appid: Vec<String>,
    /// SDK (direct) or gateway (Integration Center) callbacks [default: gateway].
    #[arg(long, value_name = "MODE", env = "signMode", value_parser = ["sdk", "gateway"])]
    callback_mode: Option<String>,
    /// Base URL that stands in for the notify_url host (the notify_url path is kept).
    #[arg(long, value_name = "URL")]
    callback_target: Option<String>,
    /// Multiplier on WeChat's callback retry schedule (1.0 = real time).
    #[arg(long, value_name = "F")]
    time_scale: Option<f64>,
    /// Pay every new order automatically after this many milliseconds.
    #[arg(long, value_name = "N")]
    auto_pay_ms: Option<u64>,
    /// Complete every new refund with SUCCESS after this many milliseconds.
    #[arg(long, value_name = "N")]
    auto_refund_ms: Option<u64>,
    /// Have the payee confirm every new transfer after this many milliseconds.
    #[arg(long, value_name = "N")]
    auto_confirm_ms: Option<u64>,
}

impl SimulateArgs {
    /// The simulator's own flag form (`--flag=value`), already resolved against the
    /// environment by clap.
    fn into_flags(self) -> Vec<String> {
        let mut out = vec![format!("--port={}", self.port)];
        let mut push = |name: &str, value: Option<String>| {
            // An empty environment variable counts as unset, as the service reads it.
            if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
                out.push(format!("--{name}={v}"));
            }
        };
        let path = |p: Option<PathBuf>| p.map(|p| p.display().to_string());
        push("mchid", self.mchid);
        push("merchant-serial", self.merchant_serial);
        push(
            "merchant-public-key-file",
            path(self.merchant_public_key_file),
        );
        push(
            "merchant-private-key-file",
            path(self.merchant_private_key_file),
        );
        push("api-v3-key", self.api_v3_key);
        push("callback-mode", self.callback_mode);
        push("callback-target", self.callback_target);
        push("time-scale", self.time_scale.map(|f| f.to_string()));
        push("auto-pay-ms", self.auto_pay_ms.map(|n| n.to_string()));
        push("auto-refund-ms", self.auto_refund_ms.map(|n| n.to_string()));
        push(
            "auto-confirm-ms",
            self.auto_confirm_ms.map(|n| n.to_string()),
        );
        for a in self.appid {
            push("appid", Some(a));
        }
        out
    }
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
            pay_common::simulator::cli::run_cli((*a).into_flags()).await
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
    let (report, ready) = pay_common::report::render(&config, |v| {
        std::env::var(v).is_ok_and(|s| !s.trim().is_empty())
    });
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
    let ledger = match open_ledger(&config).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "could not open the ledger (DATABASE_URL)");
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
