//! The bench's printout: absolute figures and the ratios to the crypto floor.

use super::Args;
use super::crypto::Floor;
use super::procfs::{Cpu, percentile};

/// One measured round: orders, then their pay callbacks, with the floor measured before it.
pub struct Round {
    pub floor: Floor,
    pub orders_per_sec: f64,
    pub latencies: Vec<f64>,
    pub order_cpu: Cpu,
    pub callbacks_per_sec: f64,
    pub callback_cpu: Cpu,
}

impl Round {
    fn per_order(&self, n: f64) -> f64 {
        self.order_cpu.total_ms() / n
    }
    fn per_callback(&self, n: f64) -> f64 {
        self.callback_cpu.total_ms() / n
    }
    fn order_ratio(&self, n: f64) -> f64 {
        self.per_order(n) / self.floor.order_ms()
    }
    fn callback_ratio(&self, n: f64) -> f64 {
        self.per_callback(n) / self.floor.sign_ms
    }
}

/// What the load phases measured.
pub struct Report {
    pub idle_rss: f64,
    pub rounds: Vec<Round>,
    pub rss_after_rounds: f64,
    pub peak_before_burst: f64,
    pub burst: Burst,
}

/// The burst of callers at once.
pub struct Burst {
    pub orders_ok: usize,
    pub orders_shed: usize,
    pub callbacks_acked: usize,
    pub peak_rss: f64,
}

/// The median of `values` (the upper one of an even count) with the smallest and largest.
fn median_range(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    (
        values[values.len() / 2],
        values[0],
        values[values.len() - 1],
    )
}

impl Report {
    /// Prints the report.
    pub fn print(&self, a: &Args, ready_ms: f64) {
        let n = a.orders as f64;
        let mode = a.rate.map_or("closed loop".to_string(), |r| {
            format!("open loop at {r:.0}/s")
        });
        println!("  ready (/healthz answered)       {ready_ms:>8.1} ms after spawn");
        println!(
            "  {} rounds of {} orders then {} pay callbacks, concurrency {} ({mode}); the crypto floor",
            self.rounds.len(),
            a.orders,
            a.orders,
            a.concurrency
        );
        println!(
            "  (aws-lc-rs, the bench thread's CPU time, best of {} x 100) is measured before each round",
            a.rounds
        );
        println!(
            "  round  sign ms verify ms | order ms  x floor  orders/s  p50/p99 ms   | callback ms  x sign  callbacks/s"
        );
        for (i, r) in self.rounds.iter().enumerate() {
            println!(
                "  {i:>5} {:>8.3} {:>9.3} | {:>8.3} {:>8.2} {:>9.0}  {:>6.1}/{:<6.1} | {:>11.3} {:>7.2} {:>12.0}",
                r.floor.sign_ms,
                r.floor.verify_ms,
                r.per_order(n),
                r.order_ratio(n),
                r.orders_per_sec,
                percentile(&r.latencies, 0.50),
                percentile(&r.latencies, 0.99),
                r.per_callback(n),
                r.callback_ratio(n),
                r.callbacks_per_sec
            );
        }
        let median = |f: &dyn Fn(&Round) -> f64| median_range(self.rounds.iter().map(f).collect());
        let sign = median(&|r| r.floor.sign_ms).0;
        println!("  medians over the rounds (smallest-largest):");
        println!("    RSA-2048 signature             {sign:>8.3} ms");
        // The durability floor: a callback's target is a share of one signature, an order's
        // a share above its crypto floor; one synced commit is the least either makes.
        let commit = median(&|r| r.floor.commit_ms).0;
        let per_sign = median(&|r| r.floor.commit_ms / r.floor.sign_ms).0;
        let per_order = median(&|r| r.floor.commit_ms / r.floor.order_ms()).0;
        println!(
            "    durable SQLite commit (1 row)  {commit:>8.3} ms = {per_sign:.2} x signature = {per_order:.2} x order floor (one per callback, one per order)"
        );
        let (ratio, lo, hi) = median(&|r| r.order_ratio(n));
        let (user, system) = (
            median(&|r| r.order_cpu.user_ms / n).0,
            median(&|r| r.order_cpu.system_ms / n).0,
        );
        println!(
            "    service CPU per JSAPI order    {ratio:>8.2} x order floor ({lo:.2}-{hi:.2}; target <= 1.10); user {user:.3} + system {system:.3} ms"
        );
        let (ratio, lo, hi) = median(&|r| r.callback_ratio(n));
        let (user, system) = (
            median(&|r| r.callback_cpu.user_ms / n).0,
            median(&|r| r.callback_cpu.system_ms / n).0,
        );
        println!(
            "    service CPU per applied callback {ratio:>6.2} x one signature ({lo:.2}-{hi:.2}; target <= 0.25); user {user:.3} + system {system:.3} ms"
        );
        println!(
            "  RSS idle / after the rounds {:.1} / {:.1} MiB (peak {:.1} MiB)",
            self.idle_rss, self.rss_after_rounds, self.peak_before_burst
        );
        let b = &self.burst;
        println!(
            "  burst of {} callers at once       peak RSS (VmHWM) {:.1} MiB; orders {} answered, {} shed (503); callbacks {} acknowledged",
            a.burst, b.peak_rss, b.orders_ok, b.orders_shed, b.callbacks_acked
        );
    }
}
