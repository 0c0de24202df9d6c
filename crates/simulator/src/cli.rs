//! `pay-common simulate`: runs the simulator on 127.0.0.1 for a demo or a manual test,
//! prints what the service must be configured with, and serves until Ctrl-C.
//!
//! Flags (each also accepts `--flag=value`), with the service's env names as fallbacks:
//! `--port` (3100), `--mchid` (`merchantId`), `--merchant-serial` (`merchantSerialNumber`),
//! `--merchant-public-key-file` or `--merchant-private-key-file` (`privateKey`, PEM text),
//! `--api-v3-key` (`apiV3Key`), `--appid` (`appId`, repeatable), `--callback-mode sdk|gateway`,
//! `--callback-target URL`, `--time-scale F`, `--auto-pay-ms N`, `--auto-refund-ms N`,
//! `--auto-confirm-ms N`. Without merchant key material
//! a merchant key is generated and printed, so a newcomer can configure the service from it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use super::{CallbackMode, Simulator, SimulatorConfig, generate_api_v3_key, ids};
use wechatpay::keys::{MerchantKey, PublicKey};

const USAGE: &str = "usage: pay-common simulate [--port 3100] [--mchid ID] [--merchant-serial HEX]
  [--merchant-public-key-file PEM | --merchant-private-key-file PEM] [--api-v3-key KEY]
  [--appid APPID]... [--callback-mode sdk|gateway] [--callback-target URL]
  [--time-scale 1.0] [--auto-pay-ms N] [--auto-refund-ms N] [--auto-confirm-ms N]";

const FLAGS: &[&str] = &[
    "port",
    "mchid",
    "merchant-serial",
    "merchant-public-key-file",
    "merchant-private-key-file",
    "api-v3-key",
    "appid",
    "callback-mode",
    "callback-target",
    "time-scale",
    "auto-pay-ms",
    "auto-refund-ms",
    "auto-confirm-ms",
];

fn parse_flags(args: &[String]) -> Result<HashMap<String, Vec<String>>, String> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "-h" || arg == "--help" {
            return Err(USAGE.to_string());
        }
        let flag = arg
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument {arg}\n{USAGE}"))?;
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => {
                let v = it.next().ok_or_else(|| format!("--{flag} needs a value"))?;
                (flag.to_string(), v.clone())
            }
        };
        if !FLAGS.contains(&name.as_str()) {
            return Err(format!("unknown flag --{name}\n{USAGE}"));
        }
        out.entry(name).or_default().push(value);
    }
    Ok(out)
}

fn pick(flags: &HashMap<String, Vec<String>>, name: &str, env: &str) -> Option<String> {
    flags.get(name).and_then(|v| v.last().cloned()).or_else(|| {
        // An empty env name means the flag has no environment fallback.
        (!env.is_empty())
            .then(|| std::env::var(env).ok())
            .flatten()
            .filter(|v| !v.trim().is_empty())
    })
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))
}

fn millis(flags: &HashMap<String, Vec<String>>, name: &str) -> Result<Option<Duration>, String> {
    pick(flags, name, "")
        .map(|ms| ms.parse().map(Duration::from_millis))
        .transpose()
        .map_err(|_| format!("--{name} must be milliseconds"))
}

/// Resolves the merchant's public key; `Some(private PEM)` when one had to be generated.
fn merchant_key(
    flags: &HashMap<String, Vec<String>>,
) -> Result<(PublicKey, Option<String>), String> {
    if let Some(path) = pick(flags, "merchant-public-key-file", "") {
        return PublicKey::from_pem(&read(&path)?)
            .map(|k| (k, None))
            .map_err(|e| e.to_string());
    }
    let private = match flags
        .get("merchant-private-key-file")
        .and_then(|v| v.last())
    {
        Some(path) => Some(read(path)?),
        None => std::env::var("privateKey")
            .ok()
            .filter(|v| !v.trim().is_empty()),
    };
    match private {
        Some(pem) => MerchantKey::from_pem(&pem)
            .map(|k| (k.public_key(), None))
            .map_err(|e| e.to_string()),
        None => {
            let key = MerchantKey::generate();
            Ok((key.public_key(), Some(key.to_pkcs8_pem())))
        }
    }
}

/// Runs the `simulate` subcommand; `args` are the arguments after `simulate`.
pub async fn run_cli(args: Vec<String>) -> Result<(), String> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return Ok(());
    }
    let flags = parse_flags(&args)?;
    let port: u16 = pick(&flags, "port", "")
        .unwrap_or_else(|| "3100".into())
        .parse()
        .map_err(|_| "--port must be a port number".to_string())?;
    let mchid = pick(&flags, "mchid", "merchantId").unwrap_or_else(|| "1900000001".into());
    let serial = pick(&flags, "merchant-serial", "merchantSerialNumber")
        .unwrap_or_else(|| ids::hex(40).to_uppercase());
    let given_key = pick(&flags, "api-v3-key", "apiV3Key");
    let api_v3_key = given_key.clone().unwrap_or_else(generate_api_v3_key);
    let (public_key, generated) = merchant_key(&flags)?;
    let mut config = SimulatorConfig::new(
        mchid.clone(),
        serial.clone(),
        public_key,
        api_v3_key.clone(),
    );
    config.appids = flags.get("appid").cloned().unwrap_or_default();
    if config.appids.is_empty()
        && let Ok(a) = std::env::var("appId")
        && !a.trim().is_empty()
    {
        config.appids.push(a);
    }
    config.callback_mode = match pick(&flags, "callback-mode", "signMode").as_deref() {
        None | Some("gateway") => CallbackMode::Gateway,
        Some("sdk") => CallbackMode::Sdk,
        Some(other) => {
            return Err(format!(
                "--callback-mode must be sdk or gateway, not {other}"
            ));
        }
    };
    config.callback_target = pick(&flags, "callback-target", "");
    if let Some(s) = pick(&flags, "time-scale", "") {
        config.time_scale = s
            .parse()
            .map_err(|_| "--time-scale must be a number".to_string())?;
    }
    config.auto_pay_after = millis(&flags, "auto-pay-ms")?;
    config.auto_refund_after = millis(&flags, "auto-refund-ms")?;
    config.auto_confirm_after = millis(&flags, "auto-confirm-ms")?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let handle = Simulator::start(config, addr)
        .await
        .map_err(|e| format!("cannot start: {e}"))?;
    println!("WeChat Pay simulator listening on {}", handle.base_url());
    println!("merchantId={mchid}\nmerchantSerialNumber={serial}");
    if given_key.is_none() {
        // Generated for this run only; a key the user supplied is never printed.
        println!("apiV3Key={api_v3_key}");
    }
    println!("wxPayPublicKeyId={}", handle.public_key_id());
    println!(
        "platform certificate serial={}",
        handle.platform_certificate_serial()
    );
    println!("wxPayPublicKey=\n{}", handle.public_key_pem());
    if let Some(pem) = generated {
        println!("privateKey (generated merchant key; the simulator trusts it)=\n{pem}");
    }
    println!(
        "control API: {}/sim/info (see docs/simulator.md); Ctrl-C stops",
        handle.base_url()
    );
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("signal: {e}"))?;
    handle.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_both_spellings_and_reject_unknown_ones() {
        let args: Vec<String> = ["--port", "4000", "--appid=wx1", "--appid", "wx2"]
            .map(String::from)
            .into();
        let f = parse_flags(&args).unwrap();
        assert_eq!(f["port"], vec!["4000"]);
        assert_eq!(f["appid"], vec!["wx1", "wx2"]);
        assert!(parse_flags(&["--bogus".to_string(), "1".to_string()]).is_err());
        assert!(parse_flags(&["--port".to_string()]).is_err());
    }
}
