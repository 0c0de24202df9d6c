//! The bench's printout: absolute figures and the ratios to the crypto floor.

use super::Args;
use super::crypto::Floor;
use super::procfs::{Cpu, percentile};

/// What the load phases measured.
pub struct Report {
    pub idle_rss: f64,
    pub orders_per_sec: f64,
    pub latencies: Vec<f64>,
    pub order_cpu: Cpu,
    pub callbacks_per_sec: f64,
    pub callback_cpu: Cpu,
    pub rss_after_orders: f64,
    pub rss_after_callbacks: f64,
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

impl Report {
    /// Prints the report.
    pub fn print(&self, a: &Args, floor: &Floor, ready_ms: f64) {
        let rounds = a.rounds;
        println!("  crypto floor, this machine (aws-lc-rs, CPU time, best of {rounds} rounds)");
        println!(
            "    RSA-2048 signature            {:>8.3} ms",
            floor.sign_ms
        );
        println!(
            "    RSA-2048 verification         {:>8.3} ms",
            floor.verify_ms
        );
        println!(
            "    order floor (2 sign + 1 verify) {:>6.3} ms",
            floor.order_ms()
        );
        println!("  ready (/healthz answered)       {ready_ms:>8.1} ms after spawn");
        let mode = a.rate.map_or("closed loop".to_string(), |r| {
            format!("open loop at {r:.0}/s")
        });
        println!(
            "  orders                          {:>8} at concurrency {} ({mode})",
            a.orders, a.concurrency
        );
        println!(
            "  orders per second               {:>8.0}",
            self.orders_per_sec
        );
        println!(
            "  order latency p50 / p99         {:>8.2} / {:.2} ms",
            percentile(&self.latencies, 0.50),
            percentile(&self.latencies, 0.99)
        );
        let n = a.orders as f64;
        let per_order = self.order_cpu.total_ms() / n;
        println!(
            "  service CPU per JSAPI order     {per_order:>8.3} ms = {:.2} x order floor (target <= 1.10); user {:.3} + system {:.3} ms",
            per_order / floor.order_ms(),
            self.order_cpu.user_ms / n,
            self.order_cpu.system_ms / n
        );
        println!(
            "  callbacks per second            {:>8.0}",
            self.callbacks_per_sec
        );
        let per_callback = self.callback_cpu.total_ms() / n;
        println!(
            "  service CPU per applied callback {per_callback:>7.3} ms = {:.2} x one signature (target <= 0.25); user {:.3} + system {:.3} ms",
            per_callback / floor.sign_ms,
            self.callback_cpu.user_ms / n,
            self.callback_cpu.system_ms / n
        );
        println!(
            "  RSS idle / after orders / after callbacks {:.1} / {:.1} / {:.1} MiB (peak {:.1} MiB)",
            self.idle_rss, self.rss_after_orders, self.rss_after_callbacks, self.peak_before_burst
        );
        let b = &self.burst;
        println!(
            "  burst of {} callers at once       peak RSS (VmHWM) {:.1} MiB; orders {} answered, {} shed (503); callbacks {} acknowledged",
            a.burst, b.peak_rss, b.orders_ok, b.orders_shed, b.callbacks_acked
        );
    }
}
