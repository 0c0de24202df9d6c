//! Structured logs through `tracing`: JSON lines by default (what CloudBase's log search reads),
//! plain text with `LOG_FORMAT=text`; level from `RUST_LOG` (default `info`). Keys, signatures
//! and full openids are never logged by this crate.

/// Installs the global subscriber once; later calls do nothing.
pub fn init() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let text = std::env::var("LOG_FORMAT").is_ok_and(|v| v == "text");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if text {
        builder.try_init()
    } else {
        builder.json().flatten_event(true).try_init()
    };
}

/// Text logs at `warn` unless `RUST_LOG` says otherwise: the demo's terminal is for its
/// instructions.
pub fn init_quiet() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
