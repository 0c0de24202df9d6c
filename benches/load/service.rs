//! Starting the service binary as its own process, configured like a deployment (public-key
//! mode, SQLite ledger) against the simulator, and waiting for its first `/healthz` answer.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pay_common::simulator::SimulatorHandle;

/// Serial number of the merchant certificate the bench signs with.
pub const SERIAL: &str = "36048761817F82958048330A6301E922AB28A04D";
/// APIv3 key shared with the simulator.
pub const V3: &str = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb";
/// Merchant id.
pub const MCHID: &str = "1900000001";

/// The test merchant key (PKCS#8 PEM) from the known-answer fixtures.
pub fn merchant_pem() -> String {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../../tests/fixtures/wechatpay-kat.json")).unwrap();
    v["rsa_test_key"]["private_key_pkcs8_pem"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The binary under test: `--bin PATH`, or the one cargo built with this bench.
pub fn binary(explicit: Option<&Path>) -> PathBuf {
    explicit.map_or_else(
        || env!("CARGO_BIN_EXE_pay-common").into(),
        Path::to_path_buf,
    )
}

/// The service's environment: everything a deployment sets, pointed at the simulator.
pub fn environment(
    port: u16,
    database_url: &str,
    sim: &SimulatorHandle,
    sign_mode: &str,
    rust_log: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("PORT", port.to_string()),
        ("HOST", "127.0.0.1".into()),
        ("DATABASE_URL", database_url.into()),
        ("signMode", sign_mode.into()),
        ("appId", "wxc1546068399a59fc".into()),
        ("merchantId", MCHID.into()),
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
        ("RUST_LOG", rust_log.into()),
    ]
}

/// With `--pin`: the CPU the service runs on (the bench keeps to the others).
pub static SERVICE_CPU: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

/// Restricts the calling process (its threads to come) to `cpus`.
pub fn pin_current_process(cpus: &[usize]) -> std::io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET stays within it for the CPU
    // numbers the machine reports, and the call only reads the set.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A running service, killed when dropped.
pub struct Service(pub Child);

impl Service {
    /// Spawns `bin serve` with exactly `env` (nothing inherited).
    pub fn spawn(bin: &Path, env: &[(&'static str, String)], stderr: Stdio) -> Self {
        let mut cmd = Command::new(bin);
        if let Some(&cpu) = SERVICE_CPU.get() {
            use std::os::unix::process::CommandExt;
            // SAFETY: between fork and exec only async-signal-safe calls: sched_setaffinity on
            // a set built on the stack.
            unsafe {
                cmd.pre_exec(move || pin_current_process(&[cpu]));
            }
        }
        let child = cmd
            .arg("serve")
            .env_clear()
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", bin.display()));
        Self(child)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads the service's stderr (piped) on a thread, as a log collector would; returns
/// `(lines, lines at WARN or ERROR)` once the service has exited. Warnings are echoed.
pub fn drain_log(service: &mut Service) -> std::thread::JoinHandle<(usize, usize)> {
    let stderr = service.0.stderr.take().expect("piped stderr");
    std::thread::spawn(move || {
        use std::io::BufRead;
        let (mut lines, mut warnings) = (0, 0);
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            lines += 1;
            if line.contains(r#""level":"WARN""#) || line.contains(r#""level":"ERROR""#) {
                warnings += 1;
                if warnings <= 5 {
                    eprintln!("service: {line}");
                }
            }
        }
        (lines, warnings)
    })
}

/// Polls `GET /healthz` on 127.0.0.1:`port` every 100 µs with a plain socket until it answers
/// 200. Returns `(first accepted connection, first 200)` as times since `started`. Panics after
/// `limit`.
pub fn wait_healthy(port: u16, started: Instant, limit: Duration) -> (Duration, Duration) {
    let mut connected = None;
    loop {
        if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
            let at = *connected.get_or_insert_with(|| started.elapsed());
            if healthz_ok(s) {
                return (at, started.elapsed());
            }
        }
        assert!(started.elapsed() < limit, "service did not answer /healthz");
        std::thread::sleep(Duration::from_micros(100));
    }
}

fn healthz_ok(mut s: TcpStream) -> bool {
    let _ = s.set_nodelay(true);
    let req = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if s.write_all(req).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

/// A free port on 127.0.0.1 (bound, then released for the service to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
