//! What the bench reads from `/proc`: a process's CPU time and memory, and the calling thread's
//! own CPU time (to time the crypto floor without counting other processes on a shared machine).

/// CPU time of a process (all its threads, living and exited), in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    /// In user space (utime).
    pub user_ms: f64,
    /// In the kernel on its behalf (stime): sockets, file writes, futex wake-ups.
    pub system_ms: f64,
}

impl Cpu {
    /// user + system.
    pub fn total_ms(&self) -> f64 {
        self.user_ms + self.system_ms
    }
}

impl std::ops::Sub for Cpu {
    type Output = Cpu;
    fn sub(self, o: Cpu) -> Cpu {
        Cpu {
            user_ms: self.user_ms - o.user_ms,
            system_ms: self.system_ms - o.system_ms,
        }
    }
}

/// utime and stime of a process from `/proc/<pid>/stat`.
pub fn process_cpu(pid: u32) -> Cpu {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    let after = &stat[stat.rfind(')').expect("comm field") + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // Linux reports in clock ticks; USER_HZ is 100 on every mainstream configuration.
    let ms = |i: usize| f[i].parse::<f64>().unwrap() * 10.0;
    Cpu {
        user_ms: ms(11),
        system_ms: ms(12),
    }
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

/// Nanoseconds the calling thread has spent on a CPU (`CLOCK_THREAD_CPUTIME_ID`). Time while
/// the thread waits for a core is not counted, so a busy neighbour inflates it far less than
/// wall-clock time. (`/proc/thread-self/schedstat` would not do: it is only brought up to date
/// at scheduler ticks.)
pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
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
