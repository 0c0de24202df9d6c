//! Cold start: exec the binary `n` times and time each run from spawn to the first `/healthz`
//! answer; the service's debug-level start-up log lines (target `pay_common::startup`) give
//! the phases. The first run creates the SQLite ledger (a first deployment), later runs open the
//! existing file (every other cold start).

use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use pay_common::simulator::SimulatorHandle;

use super::procfs::percentile;
use super::service::{Service, environment, free_port, wait_healthy};

/// Runs the cold starts and prints the report.
pub fn run(bin: &Path, sim: &SimulatorHandle, runs: usize, key_parse_ms: f64) {
    let db = std::env::temp_dir().join(format!("pay-common-cold-{}.db", std::process::id()));
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let mut totals = Vec::new();
    let mut listening = Vec::new();
    let mut first_answer = Vec::new();
    let mut fresh = None;
    let mut phases: Vec<(String, Vec<f64>)> = Vec::new();
    for i in 0..=runs {
        let port = free_port();
        let env = environment(port, &url, sim, "sdk", "warn,pay_common::startup=debug");
        let started = Instant::now();
        let mut service = Service::spawn(bin, &env, Stdio::piped());
        let (connected, answered) = wait_healthy(port, started, Duration::from_secs(10));
        let ms = answered.as_secs_f64() * 1000.0;
        let _ = service.0.kill();
        let mut log = String::new();
        let _ = service.0.stderr.take().unwrap().read_to_string(&mut log);
        drop(service);
        if i == 0 {
            fresh = Some(ms);
            continue;
        }
        totals.push(ms);
        listening.push(connected.as_secs_f64() * 1000.0);
        first_answer.push((answered - connected).as_secs_f64() * 1000.0);
        for (phase, v) in startup_phases(&log) {
            match phases.iter_mut().find(|(p, _)| *p == phase) {
                Some((_, list)) => list.push(v),
                None => phases.push((phase, vec![v])),
            }
        }
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    for v in [&mut totals, &mut listening, &mut first_answer] {
        v.sort_by(f64::total_cmp);
    }
    println!("pay-common cold start ({} runs, {})", runs, bin.display());
    println!(
        "  spawn -> first /healthz 200  median {:>6.1} ms  (min {:.1}, max {:.1}; first run on a new ledger file {:.1} ms)",
        percentile(&totals, 0.5),
        totals[0],
        totals[totals.len() - 1],
        fresh.unwrap_or_default()
    );
    println!(
        "  spawn -> port accepts        median {:>6.1} ms  (exec, loading, the phases below)",
        percentile(&listening, 0.5)
    );
    println!(
        "  port accepts -> 200          median {:>6.1} ms  (serving starts, the first request)",
        percentile(&first_answer, 0.5)
    );
    if phases.is_empty() {
        println!("  (no start-up phase lines: a binary without them)");
    }
    for (phase, mut v) in phases {
        v.sort_by(f64::total_cmp);
        println!("  phase {phase:<24} median {:>6.2} ms", percentile(&v, 0.5));
    }
    println!(
        "  of which parsing the two keys  {key_parse_ms:>6.2} ms  (measured in the bench process)"
    );
}

/// `(phase, ms)` from the JSON log lines `{"message":"start-up phase","phase":…,"ms":…}`.
fn startup_phases(log: &str) -> Vec<(String, f64)> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["message"] == "start-up phase")
        .filter_map(|v| Some((v["phase"].as_str()?.to_string(), v["ms"].as_f64()?)))
        .collect()
}
