//! The client examples and the console, run as users run them: `node --test` drives the Mini
//! Program / WeDa pages verbatim against `pay-common demo` (see tests/clients/harness.mjs), the
//! console and the web page in headless chromium over WebDriver (tests/clients/webdriver.mjs), and
//! checks the web page's QR encoder with zbarimg. Screenshots land in target/screenshots/.
//! Without a tool the test prints `SKIPPED: …` and passes, except under `CI=true`.

use std::process::Command;
use std::time::{Duration, Instant};

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

fn have(tool: &str, arg: &str) -> bool {
    Command::new(tool)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn client_examples_run_verbatim_against_the_demo() {
    if !have("node", "--version") {
        assert!(
            !ci(),
            "node is required under CI=true (apt-get install nodejs)"
        );
        println!("SKIPPED: client example tests (node not found)");
        return;
    }
    for (tool, package, what) in [
        ("chromium", "chromium", "console and web page browser tests"),
        (
            "chromedriver",
            "chromium-driver",
            "console and web page browser tests",
        ),
        ("zbarimg", "zbar-tools", "QR code decoding"),
    ] {
        if !have(tool, "--version") {
            assert!(
                !ci(),
                "{tool} is required under CI=true (apt-get install {package})"
            );
            println!("SKIPPED: {what} ({tool} not found)");
        }
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let started = Instant::now();
    let mut child = Command::new("node")
        .args(["--test", "--test-timeout=120000"])
        .arg(format!("{root}/tests/clients/miniprogram.test.mjs"))
        .arg(format!("{root}/tests/clients/weda.test.mjs"))
        .arg(format!("{root}/tests/clients/console.test.mjs"))
        .arg(format!("{root}/tests/clients/web.test.mjs"))
        .arg(format!("{root}/tests/clients/qr.test.mjs"))
        .env("PAY_COMMON_BIN", env!("CARGO_BIN_EXE_pay-common"))
        .spawn()
        .expect("node starts");
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for node") {
            break s;
        }
        if started.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            panic!("node --test ran longer than 300 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "node --test failed: {status}");
}
