//! The `pay-common` binary: parse the subcommand, load the configuration, run.

use std::process::ExitCode;
use std::sync::Arc;

use pay_common::config::Config;
use pay_common::pay::memory::MemoryOrderService;
use pay_common::startup::{Application, Parts, shutdown_signal};

const USAGE: &str = "usage: pay-common [serve | check-config | help]

  serve          run the HTTP service (default; PORT, default 3000)
  check-config   validate the environment (and ./.env) and report; exit 1 when not ready
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map(String::as_str).unwrap_or("serve");
    match command {
        "check-config" => check_config(),
        "serve" => runtime().block_on(serve()),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        other => {
            eprintln!("unknown command {other:?}\n\n{USAGE}");
            ExitCode::from(2)
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

async fn serve() -> ExitCode {
    pay_common::telemetry::init();
    let config = Config::from_env();
    for p in &config.problems {
        tracing::warn!(var = p.var, problem = %p.message, "configuration");
    }
    let parts = Parts::new(Arc::new(MemoryOrderService::new()), "memory");
    let app = match Application::build(config, parts).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "could not start");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(addr = %app.local_addr(), "pay-common listening");
    match app.run_until(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "server error");
            ExitCode::FAILURE
        }
    }
}
