//! Load benchmark: the release binary as its own process against the in-process simulator.
//!
//! It first measures the crypto floor in the same run (an RSA-2048 signature and a verification
//! with aws-lc-rs, best of several rounds of the bench thread's CPU time), then places N JSAPI
//! orders, has the simulator pay them so that the service applies N pay callbacks, then sends a
//! burst of callers at once. It prints the service's own CPU per order as a multiple of the
//! order floor (two signatures + one verification) and per applied callback as a multiple of one
//! signature, next to the absolute figures, so that results from different machines compare.
//! Beside the crypto floor it measures the durability floor: one synced SQLite commit of one
//! row (WAL, `synchronous = FULL`), which every order and every callback makes at least once.
//! Service CPU and memory come from `/proc` (the simulator's and the load generator's work is not
//! counted). Linux only.
//!
//!     cargo bench --bench load -- [--orders 2000] [--repeat 3] [--concurrency 64] [--rate R]
//!         [--callbacks sdk|gateway] [--burst 200] [--pin] [--database-url URL] [--bin PATH]
//!     cargo bench --bench load -- --cold-starts 30
//!
//! The orders and their callbacks run `--repeat` times (rounds, default 3, at most 10), each
//! round set against a floor measured just before it; the printout gives every round and the
//! medians, because a shared machine's speed drifts. `--pin` runs the service alone on CPU 0
//! and the bench (simulator, callers, floor) on the other CPUs, as in a deployment where
//! WeChat and the Mini Programs do not share the function's CPU.
//!
//! Without `--rate` the callers are a closed loop: `concurrency` callers each send the next order
//! as soon as the last one is answered, so the machine runs saturated. With `--rate R` orders
//! arrive at R per second (open loop), at most `concurrency` in flight. `--callbacks sdk` (the
//! default) has the simulator post signed, encrypted notifications as WeChat does; `gateway`
//! posts Integration Center forwards. `--burst B` ends with B callers at once (half place orders,
//! half are callbacks) and reports the peak RSS. `--log LEVEL` is the service's `RUST_LOG`
//! (default `info`, what a deployment runs); its log goes to a pipe, as on CloudBase.
//! `--workers N` sets the service's `TOKIO_WORKER_THREADS`: 1 by default, as `scf_bootstrap` deploys it;
//! `--workers 0` leaves it unset (tokio's default, one per core). `--cold-starts N` instead execs the binary N
//! times and reports the time to the first `/healthz` answer and its phases. `--bin` measures
//! another build of the service (for before/after comparisons). `--phase-hook CMD` runs
//! `sh -c "CMD <phase> <service pid>"` and waits for it before each phase (`ordering`, `paying`, `burst`,
//! `end`), e.g. `--bin` a script that execs the service under `valgrind --tool=callgrind` and
//! a hook that runs `callgrind_control --dump=<phase> <pid>` to get one profile per phase.

#[path = "load/coldstart.rs"]
mod coldstart;
#[path = "load/crypto.rs"]
mod crypto;
#[path = "load/drive.rs"]
mod drive;
#[path = "load/procfs.rs"]
mod procfs;
#[path = "load/report.rs"]
mod report;
#[path = "load/service.rs"]
mod service;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pay_common::simulator::{CallbackMode, Simulator, SimulatorConfig, SimulatorHandle};
use pay_common::wechatpay::keys::MerchantKey;

use crypto::Floor;
use drive::{closed_loop, open_loop, order_fn};
use procfs::{mem_mib, process_cpu};
use report::{Burst, Report, Round};
use service::{MCHID, SERIAL, Service, V3, merchant_pem};

struct Args {
    orders: usize,
    concurrency: usize,
    rate: Option<f64>,
    callbacks: CallbackMode,
    burst: usize,
    database_url: Option<String>,
    bin: Option<PathBuf>,
    cold_starts: Option<usize>,
    rounds: usize,
    repeat: usize,
    pin: bool,
    phase_hook: Option<String>,
    log: String,
    workers: Option<usize>,
}

fn args() -> Args {
    let mut a = Args {
        orders: 2000,
        concurrency: 64,
        rate: None,
        callbacks: CallbackMode::Sdk,
        burst: 200,
        database_url: None,
        bin: None,
        cold_starts: None,
        rounds: 7,
        repeat: 3,
        pin: false,
        phase_hook: None,
        log: "info".into(),
        workers: Some(1),
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        let flag = flag.as_str();
        let mut value = || {
            it.next()
                .cloned()
                .unwrap_or_else(|| panic!("{flag} needs a value"))
        };
        let number = |v: String| -> usize { v.parse().unwrap_or_else(|_| panic!("{flag} N")) };
        match flag {
            "--orders" => a.orders = number(value()),
            "--concurrency" => a.concurrency = number(value()),
            "--burst" => a.burst = number(value()),
            "--cold-starts" => a.cold_starts = Some(number(value())),
            "--rounds" => a.rounds = number(value()).max(1),
            "--repeat" => a.repeat = number(value()).clamp(1, ROUND_PHASES.len()),
            "--pin" => a.pin = true,
            "--rate" => a.rate = Some(value().parse().expect("--rate R")),
            "--database-url" => a.database_url = Some(value()),
            "--bin" => a.bin = Some(value().into()),
            "--phase-hook" => a.phase_hook = Some(value()),
            "--log" => a.log = value(),
            "--workers" => a.workers = Some(number(value())).filter(|n| *n > 0),
            "--callbacks" => {
                a.callbacks = match value().as_str() {
                    "sdk" => CallbackMode::Sdk,
                    "gateway" => CallbackMode::Gateway,
                    other => panic!("--callbacks sdk|gateway, not {other:?}"),
                }
            }
            _ => {} // cargo bench passes --bench
        }
    }
    a
}

/// The machine's cores, read before `--pin` narrows what this process may use.
static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

fn main() {
    let a = args();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    CORES.set(cores).unwrap();
    if a.pin {
        assert!(cores >= 2, "--pin needs at least two cores");
        // The service alone on CPU 0, the simulator, the callers and the floor on the others:
        // as deployed, where WeChat and the Mini Programs do not share the function's CPU.
        service::SERVICE_CPU.set(0).unwrap();
        let others: Vec<usize> = (1..cores).collect();
        service::pin_current_process(&others).expect("sched_setaffinity");
    }
    // Before the runtime and the simulator start: the process is otherwise idle.
    let floor = Floor::measure(&merchant_pem(), a.rounds);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(run(a, floor));
}

async fn run(a: Args, floor: Floor) {
    let port = service::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let merchant = MerchantKey::from_pem(&merchant_pem()).unwrap();
    let mut cfg = SimulatorConfig::new(MCHID, SERIAL, merchant.public_key(), V3.into());
    cfg.callback_mode = a.callbacks;
    cfg.callback_target = Some(base.clone());
    cfg.time_scale = 0.001;
    let sim = Arc::new(
        Simulator::start(cfg, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap(),
    );
    let bin = service::binary(a.bin.as_deref());
    if let Some(runs) = a.cold_starts {
        let sim2 = sim.clone();
        tokio::task::spawn_blocking(move || {
            coldstart::run(&bin, &sim2, runs.max(1), floor.key_parse_ms)
        })
        .await
        .unwrap();
        sim.shutdown().await;
        return;
    }
    let db = std::env::temp_dir().join(format!("pay-common-bench-{}.db", std::process::id()));
    let database_url = a
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", db.display()));
    let mode = match a.callbacks {
        CallbackMode::Sdk => "sdk",
        CallbackMode::Gateway => "gateway",
    };
    let mut env = service::environment(port, &database_url, &sim, mode, &a.log);
    if let Some(n) = a.workers {
        env.push(("TOKIO_WORKER_THREADS", n.to_string()));
    }
    let started = Instant::now();
    let mut service = Service::spawn(&bin, &env, Stdio::piped());
    let log_lines = service::drain_log(&mut service);
    tokio::task::spawn_blocking(move || {
        service::wait_healthy(port, started, Duration::from_secs(120));
    })
    .await
    .unwrap();
    let ready_ms = started.elapsed().as_secs_f64() * 1000.0;
    let report = load(&a, &sim, &service, &base).await;
    println!(
        "pay-common load benchmark ({} cores{}, TOKIO_WORKER_THREADS {}, database {}, callbacks {mode}, {})",
        CORES.get().copied().unwrap_or(0),
        if a.pin {
            ", service pinned to CPU 0"
        } else {
            ""
        },
        a.workers.map_or("unset".to_string(), |n| n.to_string()),
        database_url.split(':').next().unwrap_or("?"),
        bin.display()
    );
    report.print(&a, ready_ms);
    drop(service);
    let (lines, warnings) = log_lines.join().unwrap();
    println!(
        "  service log (RUST_LOG={}): {lines} JSON lines, {warnings} at WARN or ERROR",
        a.log
    );
    sim.shutdown().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}

/// Runs `--phase-hook` (if any) with the name of the phase about to start and the service's
/// pid, and waits for it.
fn hook(a: &Args, phase: &str, pid: u32) {
    if let Some(cmd) = &a.phase_hook {
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{cmd} {phase} {pid}"))
            .status()
            .expect("sh");
        assert!(status.success(), "--phase-hook failed at {phase}");
    }
}

fn acked(sim: &SimulatorHandle) -> usize {
    sim.deliveries()
        .iter()
        .filter(|d| d.status == Some(200))
        .count()
}

async fn wait_acked(sim: &SimulatorHandle, target: usize, since: Instant) {
    loop {
        let n = acked(sim);
        if n >= target {
            return;
        }
        assert!(
            since.elapsed() < Duration::from_secs(180),
            "callbacks stalled at {n} of {target}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Order-number phases of the measured rounds (`BENCHO0…`, `BENCHO1…`).
const ROUND_PHASES: [&str; 10] = ["O0", "O1", "O2", "O3", "O4", "O5", "O6", "O7", "O8", "O9"];

async fn load(a: &Args, sim: &SimulatorHandle, service: &Service, base: &str) -> Report {
    let pid = service.pid();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency.max(a.burst))
        .build()
        .unwrap();
    let order = order_fn(http, base);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle_rss = mem_mib(pid, "VmRSS:");
    for i in 0..100 {
        order(i, "W").await;
    }
    // Orders the burst's callbacks will pay.
    let half = a.burst / 2;
    for i in 0..half {
        assert_eq!(order(i, "P").await.0, 200);
    }

    let mut rounds = Vec::with_capacity(a.repeat);
    for phase in ROUND_PHASES.iter().take(a.repeat) {
        // The floor again before every round, in the bench process while the service idles:
        // a shared machine's speed drifts between rounds, and each round is set against its own.
        let floor_rounds = a.rounds;
        let floor =
            tokio::task::spawn_blocking(move || Floor::measure(&merchant_pem(), floor_rounds))
                .await
                .unwrap();
        rounds.push(measure_round(a, sim, pid, &order, phase, floor).await);
    }
    let rss_after_rounds = mem_mib(pid, "VmRSS:");
    let peak_before_burst = mem_mib(pid, "VmHWM:");

    hook(a, "burst", pid);
    eprintln!(
        "burst: {} callers at once ({} orders, {} callbacks)",
        a.burst,
        a.burst - half,
        half
    );
    let before_burst = acked(sim);
    let t2 = Instant::now();
    let orders: Vec<_> = (0..a.burst - half)
        .map(|i| tokio::spawn(order(i, "X")))
        .collect();
    for i in 0..half {
        sim.pay(&format!("BENCHP{i:08}")).unwrap();
    }
    let mut statuses = Vec::new();
    for o in orders {
        statuses.push(o.await.unwrap().0);
    }
    wait_acked(sim, before_burst + half, t2).await;
    hook(a, "end", pid);
    let burst = Burst {
        orders_ok: statuses.iter().filter(|s| **s == 200).count(),
        orders_shed: statuses.iter().filter(|s| **s == 503).count(),
        callbacks_acked: acked(sim) - before_burst,
        peak_rss: mem_mib(pid, "VmHWM:"),
    };
    Report {
        idle_rss,
        rounds,
        rss_after_rounds,
        peak_before_burst,
        burst,
    }
}

/// One measured round: `a.orders` orders, then as many pay callbacks.
async fn measure_round(
    a: &Args,
    sim: &SimulatorHandle,
    pid: u32,
    order: &(impl Fn(usize, &'static str) -> drive::Placed + Clone + Send + 'static),
    phase: &'static str,
    floor: Floor,
) -> Round {
    hook(a, "ordering", pid);
    eprintln!(
        "round {phase}: {} orders, concurrency {}, rate {:?}/s",
        a.orders, a.concurrency, a.rate
    );
    let cpu0 = process_cpu(pid);
    let t0 = Instant::now();
    let results = match a.rate {
        None => closed_loop(a.orders, a.concurrency, phase, order.clone()).await,
        Some(rate) => open_loop(a.orders, a.concurrency, rate, phase, order.clone()).await,
    };
    let order_secs = t0.elapsed().as_secs_f64();
    let order_cpu = process_cpu(pid) - cpu0;
    assert!(
        results.iter().all(|(s, _)| *s == 200),
        "orders were shed (503): raise maxInFlight or lower --concurrency"
    );
    let mut latencies: Vec<f64> = results.into_iter().map(|(_, ms)| ms).collect();
    latencies.sort_by(f64::total_cmp);

    hook(a, "paying", pid);
    eprintln!(
        "round {phase}: {} callbacks, at most {} in flight",
        a.orders, a.concurrency
    );
    let base = acked(sim);
    let cpu1 = process_cpu(pid);
    let t1 = Instant::now();
    let mut done = 0;
    for i in 0..a.orders {
        sim.pay(&format!("BENCH{phase}{i:08}")).unwrap();
        // Keep the callbacks at the benchmark's concurrency, like the orders.
        while i + 1 - done >= a.concurrency {
            tokio::time::sleep(Duration::from_micros(500)).await;
            done = acked(sim) - base;
        }
    }
    wait_acked(sim, base + a.orders, t1).await;
    let pay_secs = t1.elapsed().as_secs_f64();
    let callback_cpu = process_cpu(pid) - cpu1;
    let n = a.orders as f64;
    Round {
        floor,
        orders_per_sec: n / order_secs,
        latencies,
        order_cpu,
        callbacks_per_sec: n / pay_secs,
        callback_cpu,
    }
}
