//! What the bench reads from `/proc`: a process's CPU time and memory, and the calling thread's
//! own CPU time (to time the crypto floor without counting other processes on a shared machine).

/// utime + stime of a process (all its threads, living and exited), in milliseconds.
pub fn process_cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    let after = &stat[stat.rfind(')').expect("comm field") + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    // Linux reports in clock ticks; USER_HZ is 100 on every mainstream configuration.
    ticks * 10.0
}

/// A `/proc/<pid>/status` field in MiB (`VmRSS:`, `VmHWM:`).
pub fn mem_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"));
    let kib: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib / 1024.0
}

/// Nanoseconds the calling thread has spent on a CPU (`/proc/thread-self/schedstat`, first
/// field). Time while the thread waits for a core is not counted, so a busy neighbour
/// inflates it far less than wall-clock time.
pub fn thread_cpu_ns() -> u64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat")
        .expect("/proc/thread-self/schedstat (Linux with sched_info)");
    s.split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .expect("schedstat run time")
}

/// Best (lowest) CPU milliseconds per call of `f` over `rounds` rounds of `per_round` calls.
pub fn best_of(rounds: usize, per_round: usize, mut f: impl FnMut(usize)) -> f64 {
    let mut best = f64::INFINITY;
    for r in 0..rounds {
        let t0 = thread_cpu_ns();
        for i in 0..per_round {
            f(r * per_round + i);
        }
        let ms = (thread_cpu_ns() - t0) as f64 / 1e6 / per_round as f64;
        best = best.min(ms);
    }
    best
}

/// The value at quantile `p` of an ascending slice.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}
