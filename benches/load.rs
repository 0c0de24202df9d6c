//! Load benchmark: the release binary as its own process against the in-process simulator.
//! N JSAPI orders at a given concurrency, then N payments whose callbacks the service applies.
//! Prints orders/s, p50/p99 latency, the service's own CPU per order and per callback (from
//! /proc, so the simulator's work is not counted), idle and peak RSS, and time to first
//! `/healthz` answer. Linux only.
//!
//!     cargo bench --bench load -- [--orders 2000] [--concurrency 64] [--rate R] [--database-url URL]
//!
//! Without `--rate` the callers are a closed loop: `concurrency` callers each send the next order
//! as soon as the last one is answered, so the machine runs saturated and latency is
//! `concurrency / throughput`. With `--rate R` orders arrive at R per second (open loop), at most
//! `concurrency` in flight: latency under a given load.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pay_common::simulator::{CallbackMode, Simulator, SimulatorConfig};
use pay_common::wechatpay::keys::MerchantKey;

const SERIAL: &str = "36048761817F82958048330A6301E922AB28A04D";
const V3: &str = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb";

struct Args {
    orders: usize,
    concurrency: usize,
    rate: Option<f64>,
    database_url: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        orders: 2000,
        concurrency: 64,
        rate: None,
        database_url: None,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--orders" => a.orders = it.next().and_then(|v| v.parse().ok()).expect("--orders N"),
            "--concurrency" => {
                a.concurrency = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--concurrency N")
            }
            "--database-url" => a.database_url = it.next().cloned(),
            "--rate" => a.rate = it.next().and_then(|v| v.parse().ok()),
            _ => {} // cargo bench passes --bench
        }
    }
    a
}

/// utime + stime of a process, in milliseconds.
fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc stat");
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    // Linux reports in clock ticks; USER_HZ is 100 on every mainstream configuration.
    ticks * 10.0
}

/// A `/proc/<pid>/status` field in MiB (VmRSS, VmHWM).
fn mem_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .expect("field");
    let kib: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib / 1024.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn merchant_pem() -> String {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../tests/fixtures/wechatpay-kat.json")).unwrap();
    v["rsa_test_key"]["private_key_pkcs8_pem"]
        .as_str()
        .unwrap()
        .to_string()
}

fn sign_cost_ms() -> f64 {
    let key = MerchantKey::from_pem(&merchant_pem()).unwrap();
    let start = Instant::now();
    for i in 0..500 {
        std::hint::black_box(key.sign(format!("message {i}").as_bytes()));
    }
    start.elapsed().as_secs_f64() * 1000.0 / 500.0
}

#[tokio::main]
async fn main() {
    let a = args();
    let sign_ms = sign_cost_ms();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let merchant = MerchantKey::from_pem(&merchant_pem()).unwrap();
    let mut cfg = SimulatorConfig::new("1900000001", SERIAL, merchant.public_key(), V3.into());
    cfg.callback_mode = CallbackMode::Gateway;
    cfg.callback_target = Some(base.clone());
    cfg.time_scale = 0.001;
    let sim = Arc::new(
        Simulator::start(cfg, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap(),
    );
    let db = std::env::temp_dir().join(format!("pay-common-bench-{}.db", std::process::id()));
    let database_url = a
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", db.display()));
    let env = [
        ("PORT", port.to_string()),
        ("HOST", "127.0.0.1".into()),
        ("DATABASE_URL", database_url.clone()),
        ("appId", "wxc1546068399a59fc".into()),
        ("merchantId", "1900000001".into()),
        ("merchantSerialNumber", SERIAL.into()),
        ("privateKey", merchant_pem()),
        ("apiV3Key", V3.into()),
        ("wxPayPublicKey", sim.public_key_pem()),
        ("wxPayPublicKeyId", sim.public_key_id()),
        (
            "notifyURLPayURL",
            "https://pay.example.com/wechatpay/order".into(),
        ),
        ("wechatpayBaseUrl", sim.base_url()),
        ("reconcileIntervalSeconds", "0".into()),
        ("RUST_LOG", "warn".into()),
    ];
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency)
        .build()
        .unwrap();
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_pay-common"))
        .arg("serve")
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("service starts");
    let service = Service(child);
    let pid = service.0.id();
    loop {
        if http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "service did not start"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let ready_ms = started.elapsed().as_secs_f64() * 1000.0;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle_rss = mem_mib(pid, "VmRSS:");

    let order_url = format!("{base}/wx-pay/wxpay_order");
    let order = move |i: usize, phase: &'static str| {
        let (http, url) = (http.clone(), order_url.clone());
        async move {
            let body = serde_json::json!({ "description": "bench", "out_trade_no": format!("BENCH{phase}{i:08}"), "amount": { "total": 1 } });
            let t = Instant::now();
            let r = http
                .post(url)
                .header("x-wx-openid", format!("oBenchUser{:018}", i % 1000))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(
                r.status().is_success(),
                "order failed: {}",
                r.text().await.unwrap_or_default()
            );
            t.elapsed().as_secs_f64() * 1000.0
        }
    };
    for i in 0..100 {
        order(i, "W").await;
    }

    eprintln!(
        "ordering: {} orders, concurrency {}, rate {:?}/s",
        a.orders, a.concurrency, a.rate
    );
    let cpu0 = cpu_ms(pid);
    let t0 = Instant::now();
    let mut lat: Vec<f64> = match a.rate {
        None => closed_loop(a.orders, a.concurrency, order).await,
        Some(rate) => open_loop(a.orders, a.concurrency, rate, order).await,
    };
    let order_secs = t0.elapsed().as_secs_f64();
    let order_cpu = cpu_ms(pid) - cpu0;
    let rss_after_orders = mem_mib(pid, "VmRSS:");
    lat.sort_by(|x, y| x.partial_cmp(y).unwrap());

    eprintln!(
        "paying: {} callbacks, at most {} in flight",
        a.orders, a.concurrency
    );
    let cpu1 = cpu_ms(pid);
    let t1 = Instant::now();
    let acked = || {
        sim.deliveries()
            .iter()
            .filter(|d| d.status == Some(200))
            .count()
    };
    for i in 0..a.orders {
        sim.pay(&format!("BENCHO{i:08}")).unwrap();
        // Keep the callbacks at the benchmark's concurrency, like the orders.
        while i + 1 - acked() >= a.concurrency {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    loop {
        let acked = acked();
        if acked >= a.orders {
            break;
        }
        assert!(
            t1.elapsed() < Duration::from_secs(120),
            "callbacks stalled at {acked}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pay_secs = t1.elapsed().as_secs_f64();
    let callback_cpu = cpu_ms(pid) - cpu1;
    let peak = mem_mib(pid, "VmHWM:");
    let rss_after_callbacks = mem_mib(pid, "VmRSS:");

    let n = a.orders as f64;
    println!(
        "pay-common load benchmark ({} cores, database {})",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        database_url.split(':').next().unwrap_or("?")
    );
    println!("  ready (/healthz answered)   {ready_ms:>8.1} ms after spawn");
    println!("  idle RSS                    {idle_rss:>8.1} MiB");
    let mode = a.rate.map_or("closed loop".to_string(), |r| {
        format!("open loop at {r:.0}/s")
    });
    println!(
        "  orders                      {:>8} at concurrency {} ({mode})",
        a.orders, a.concurrency
    );
    println!("  orders per second           {:>8.0}", n / order_secs);
    println!(
        "  order latency p50 / p99     {:>8.2} / {:.2} ms",
        percentile(&lat, 0.50),
        percentile(&lat, 0.99)
    );
    println!(
        "  service CPU per order       {:>8.3} ms  (one RSA-2048 signature: {sign_ms:.3} ms; target <= {:.3} ms)",
        order_cpu / n,
        3.0 * sign_ms
    );
    println!("  callbacks per second        {:>8.0}", n / pay_secs);
    println!("  service CPU per callback    {:>8.3} ms", callback_cpu / n);
    println!(
        "  RSS after orders / callbacks {rss_after_orders:>7.1} / {rss_after_callbacks:.1} MiB (peak {peak:.1} MiB)"
    );
    drop(service);
    sim.shutdown().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}

/// `concurrency` callers, each sending its next order when the last one is answered.
async fn closed_loop<F, Fut>(n: usize, concurrency: usize, order: F) -> Vec<f64>
where
    F: Fn(usize, &'static str) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = f64> + Send,
{
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (next, order) = (next.clone(), order.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break lat;
                }
                lat.push(order(i, "O").await);
            }
        }));
    }
    let mut lat = Vec::new();
    for w in workers {
        lat.extend(w.await.unwrap());
    }
    lat
}

/// Orders arriving at `rate` per second, at most `concurrency` in flight.
async fn open_loop<F, Fut>(n: usize, concurrency: usize, rate: f64, order: F) -> Vec<f64>
where
    F: Fn(usize, &'static str) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = f64> + Send + 'static,
{
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        ticker.tick().await;
        let permit = permits.clone().acquire_owned().await.unwrap();
        let order = order.clone();
        tasks.push(tokio::spawn(async move {
            let ms = order(i, "O").await;
            drop(permit);
            ms
        }));
    }
    let mut lat = Vec::with_capacity(n);
    for t in tasks {
        lat.push(t.await.unwrap());
    }
    lat
}
