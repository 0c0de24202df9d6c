//! The binary as a newcomer runs it: `demo` (its printed commands work verbatim: start it on
//! free ports, read what it prints, run each `$ …` line with bash, check each `expect:` text),
//! `simulate`, `check-config`, and the help and errors of every command.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(cmd: &str) -> String {
    let out = Command::new("bash")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{cmd} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_demos_printed_commands_work_verbatim() {
    if Command::new("curl").arg("--version").output().is_err() {
        panic!("the demo's commands use curl; install it (apt-get install curl)");
    }
    let dir = std::env::temp_dir().join(format!("pay-common-demo-{}", std::process::id()));
    let db = dir.join("demo.db");
    std::fs::create_dir_all(&dir).unwrap();
    let log_path = dir.join("demo.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_pay-common"))
        .env("RUST_LOG", "debug")
        .args([
            "demo",
            "--port",
            &free_port().to_string(),
            "--sim-port",
            &free_port().to_string(),
        ])
        .args(["--database", db.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("demo starts");
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().unwrap();
    let mut printed = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let done = line == pay_common::demo::READY_LINE;
        printed.push(line);
        if done {
            break;
        }
    }
    let text = printed.join("\n");
    assert!(
        text.contains("SIMULATED MONEY"),
        "the demo must say the money is simulated:\n{text}"
    );
    let mut steps = Vec::new();
    for (i, line) in printed.iter().enumerate() {
        if let Some(cmd) = line.strip_prefix("$ ") {
            let expect = printed[i + 1]
                .trim()
                .strip_prefix("expect: ")
                .expect("each command has an expect line");
            steps.push((cmd.to_string(), expect.to_string()));
        }
    }
    assert_eq!(
        steps.len(),
        9,
        "order, pay, paid, refund, complete, refunded, claim, confirm, transfer SUCCESS:\n{text}"
    );
    for (cmd, expect) in steps {
        // Callbacks are asynchronous: a step may need a moment until the ledger shows it.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = run(&cmd);
            if out.contains(&expect) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "step `{cmd}` never showed {expect}: {out}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    drop(child);
    // Even at debug level the logs hold no secret and no full openid.
    let logs = std::fs::read_to_string(&log_path).unwrap();
    let admin = text
        .split("x-pay-common-admin-token: ")
        .nth(1)
        .and_then(|t| t.split('\'').next())
        .unwrap();
    assert!(logs.contains("***"), "openids are logged masked:\n{logs}");
    for secret in [
        pay_common::demo::DEMO_OPENID,
        admin,
        "PRIVATE KEY",
        "WECHATPAY2-SHA256-RSA2048",
        "paySign",
    ] {
        assert!(!logs.contains(secret), "the log leaks {secret}:\n{logs}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

fn check_config(env: &[(&str, &str)]) -> (bool, String) {
    let dir = std::env::temp_dir();
    let out = Command::new(env!("CARGO_BIN_EXE_pay-common"))
        .arg("check-config")
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn check_config_names_what_is_missing_and_fails() {
    let (ok, report) = check_config(&[("apiV3Key", "0123456789abcdef")]);
    assert!(
        !ok,
        "an empty configuration cannot take payments:\n{report}"
    );
    for needle in [
        "MISSING  merchantId",
        "MISSING  privateKey",
        "INVALID  apiV3Key",
        "got 16",
        "NOT ready",
    ] {
        assert!(
            report.contains(needle),
            "report lacks {needle:?}:\n{report}"
        );
    }
    assert!(
        !report.contains("0123456789abcdef"),
        "values are never printed"
    );
}

#[test]
fn check_config_passes_a_complete_configuration() {
    let kat: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/wechatpay-kat.json")).unwrap();
    let key = kat["rsa_test_key"]["private_key_pkcs8_pem"]
        .as_str()
        .unwrap();
    let public = kat["rsa_test_key"]["public_key_spki_pem"].as_str().unwrap();
    let env = [
        ("appId", "wxc1546068399a59fc"),
        ("merchantId", "1900000001"),
        ("apiV3Key", "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"),
        (
            "merchantSerialNumber",
            "36048761817F82958048330A6301E922AB28A04D",
        ),
        ("privateKey", key),
        ("wxPayPublicKey", public),
        (
            "wxPayPublicKeyId",
            "PUB_KEY_ID_0114232134912410000000000000",
        ),
        (
            "notifyURLPayURL",
            "https://x.integration-callback.tcloudbase.com/wechatpay/order",
        ),
        (
            "notifyURLRefundsURL",
            "https://x.integration-callback.tcloudbase.com/wechatpay/refund",
        ),
    ];
    let (ok, report) = check_config(&env);
    assert!(ok, "{report}");
    assert!(report.contains("ready to take payments"), "{report}");
    assert!(!report.contains("MIIEvg"), "key material is never printed");
}

/// Runs the binary with `args` and no environment; (exit code, stdout, stderr).
fn pay_common(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pay-common"))
        .args(args)
        .env_clear()
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_lists_every_subcommand() {
    let (code, out, _) = pay_common(&["--help"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("Usage: pay-common [COMMAND]"), "{out}");
    for command in ["serve", "demo", "simulate", "check-config"] {
        assert!(
            out.contains(&format!("  {command} ")),
            "{command} missing:\n{out}"
        );
    }
}

#[test]
fn demo_help_documents_its_flags_and_defaults() {
    let (code, out, _) = pay_common(&["demo", "--help"]);
    assert_eq!(code, Some(0));
    for text in [
        "Usage: pay-common demo [OPTIONS]",
        "--port <PORT>",
        "[default: 3000]",
        "--sim-port <PORT>",
        "[default: 3100]",
        "--database <PATH>",
        "[default: ./data/demo.db]",
    ] {
        assert!(out.contains(text), "{text} missing:\n{out}");
    }
}

#[test]
fn simulate_help_documents_flags_and_their_environment_fallbacks() {
    let (code, out, _) = pay_common(&["simulate", "--help"]);
    assert_eq!(code, Some(0));
    for text in [
        "Usage: pay-common simulate [OPTIONS]",
        "--mchid <ID>",
        "[env: merchantId=]",
        "--merchant-serial <HEX>",
        "[env: merchantSerialNumber=]",
        "--merchant-public-key-file <PEM>",
        "--merchant-private-key-file <PEM>",
        "--appid <APPID>",
        "--callback-mode <MODE>",
        "[possible values: sdk, gateway]",
        "--auto-confirm-ms <N>",
    ] {
        assert!(out.contains(text), "{text} missing:\n{out}");
    }
}

#[test]
fn simulate_help_never_prints_the_api_v3_key_from_the_environment() {
    let out = Command::new(env!("CARGO_BIN_EXE_pay-common"))
        .args(["simulate", "--help"])
        .env_clear()
        .env("apiV3Key", "SECRET-apiv3-key-0123456789abcde")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("[env: apiV3Key]"), "{text}");
    assert!(!text.contains("SECRET-apiv3-key"), "{text}");
}

#[test]
fn a_wrong_flag_fails_and_names_the_flag() {
    let (code, out, err) = pay_common(&["demo", "--bogus-flag", "1"]);
    assert_eq!(code, Some(2));
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("'--bogus-flag'"), "{err}");

    let (code, _, err) = pay_common(&["demo", "--port", "not-a-port"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("'--port <PORT>'"), "{err}");

    let (code, _, err) = pay_common(&["simulate", "--callback-mode", "fast"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--callback-mode"), "{err}");

    let (code, out, err) = pay_common(&["simulate", "--bogus-flag", "1"]);
    assert_eq!(code, Some(2));
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("'--bogus-flag'"), "{err}");

    let (code, _, err) = pay_common(&["simulate", "--auto-pay-ms", "soon"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("'--auto-pay-ms <N>'"), "{err}");

    let (code, _, err) = pay_common(&["frobnicate"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("'frobnicate'"), "{err}");
}

#[test]
fn the_readme_shows_the_help_text_verbatim() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for args in [&["--help"][..], &["simulate", "--help"]] {
        let (_, out, _) = pay_common(args);
        assert!(
            readme.contains(&format!("```text\n{out}```")),
            "README.md's `pay-common {}` block differs from the binary's:\n{out}",
            args.join(" ")
        );
    }
}

#[test]
fn simulate_takes_its_flags_and_falls_back_to_the_service_variables() {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_pay-common"))
        .args([
            "simulate",
            "--port",
            &port.to_string(),
            "--merchant-serial=ABCDEF0123",
        ])
        .env_clear()
        .env("merchantId", "1234567890")
        // Ignored: the flag wins over the variable.
        .env("merchantSerialNumber", "FROM-THE-ENVIRONMENT")
        .env("apiV3Key", "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("simulate starts");
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().unwrap();
    let mut printed = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let done = line.starts_with("control API:");
        printed.push(line);
        if done {
            break;
        }
    }
    let text = printed.join("\n");
    for line in [
        format!("WeChat Pay simulator listening on http://127.0.0.1:{port}"),
        "merchantId=1234567890".to_string(),
        "merchantSerialNumber=ABCDEF0123".to_string(),
    ] {
        assert!(printed.contains(&line), "{line} missing:\n{text}");
    }
    assert!(
        !text.contains("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb") && !text.contains("apiV3Key="),
        "a given APIv3 key is never printed:\n{text}"
    );
    assert!(
        text.contains("privateKey (generated merchant key"),
        "without key material a merchant key is generated:\n{text}"
    );
}

#[test]
fn check_config_names_an_unreachable_ledger_and_the_limits() {
    let closed = free_port();
    let url = format!("postgres://postgres@127.0.0.1:{closed}/ledger");
    let (ok, report) = check_config(&[("DATABASE_URL", &url), ("bodyReadTimeoutSeconds", "0")]);
    assert!(!ok, "{report}");
    assert!(
        report.contains("Ledger (DATABASE_URL): UNAVAILABLE, cannot connect")
            && report.contains("refused"),
        "{report}"
    );
    for var in [
        "bodyReadTimeoutSeconds",
        "headerReadTimeoutSeconds",
        "keepAliveIdleSeconds",
        "gatewayQueryBudgetPerMinute",
    ] {
        assert!(report.contains(var), "{var} not listed:\n{report}");
    }
    assert!(
        report.contains("INVALID  bodyReadTimeoutSeconds"),
        "{report}"
    );
}
