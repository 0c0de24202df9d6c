//! The `pay-common` binary: parse the subcommand, load the configuration, run.

use std::process::ExitCode;

use pay_common::config::Config;
use pay_common::startup::{Application, Parts, open_ledger, shutdown_signal};

const USAGE: &str = "usage: pay-common [serve | demo | simulate | check-config | help]

  serve          run the HTTP service (default); PORT (3000), HOST (0.0.0.0)
  demo           the whole payment loop locally, simulated money: service on 3000,
                 WeChat Pay simulator on 3100, fresh keys, SQLite in ./data/demo.db
                 (--port N, --sim-port N, --database PATH)
  simulate       run only the WeChat Pay v3 simulator (see `pay-common simulate --help`)
  check-config   validate the environment (and ./.env) and report; exit 1 when not ready
";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let command = if args.is_empty() {
        "serve".to_string()
    } else {
        args.remove(0)
    };
    match command.as_str() {
        "check-config" => check_config(),
        "serve" => runtime().block_on(serve()),
        "demo" => finish(runtime().block_on(async {
            pay_common::telemetry::init_quiet();
            pay_common::demo::main(args).await
        })),
        "simulate" => finish(runtime().block_on(async {
            pay_common::telemetry::init();
            pay_common::simulator::cli::run_cli(args).await
        })),
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

async fn serve() -> ExitCode {
    pay_common::telemetry::init();
    let config = Config::from_env();
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
    let app = match Application::build(config, Parts::ledger(ledger)).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "could not listen");
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
