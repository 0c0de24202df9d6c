//! `pay-common simulate`: runs the simulator on 127.0.0.1 for a demo or a manual test,
//! prints what the service must be configured with, and serves until Ctrl-C.
//!
//! The flags are a clap [`Args`] struct, so the binary flattens them into its own command line:
//! `--help` text, errors that name the flag (exit 2), and the service's environment variables
//! as fallbacks (`merchantId`, `merchantSerialNumber`, `privateKey`, `apiV3Key`, `appId`,
//! `signMode`). An environment variable set to blanks counts as unset, as the service reads it.
//! Without merchant key material a merchant key is generated and printed, so a newcomer can
//! configure the service from it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::config::{CallbackMode, SimulatorConfig, generate_api_v3_key};
use super::handle::Simulator;
use super::ids;
use wechatpay::keys::{MerchantKey, PublicKey};

/// How callbacks reach the service (`--callback-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CallbackModeArg {
    // Plain comments: doc comments would turn `--help`'s "[possible values: sdk, gateway]"
    // into a list.
    // WeChat posts the signed, encrypted notification directly.
    Sdk,
    // Integration Center verifies, decrypts and forwards it.
    Gateway,
}

impl From<CallbackModeArg> for CallbackMode {
    fn from(m: CallbackModeArg) -> Self {
        match m {
            CallbackModeArg::Sdk => Self::Sdk,
            CallbackModeArg::Gateway => Self::Gateway,
        }
    }
}

/// The flags of `pay-common simulate`.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Port on 127.0.0.1.
    #[arg(long, value_name = "PORT", default_value_t = 3100)]
    pub port: u16,
    /// Merchant id the simulator accepts (default 1900000001).
    #[arg(long, value_name = "ID", env = "merchantId")]
    pub mchid: Option<String>,
    /// Serial number of the merchant's API certificate (default: random).
    #[arg(long, value_name = "HEX", env = "merchantSerialNumber")]
    pub merchant_serial: Option<String>,
    /// PEM file with the merchant's public key, to verify request signatures.
    #[arg(long, value_name = "PEM", conflicts_with = "merchant_private_key_file")]
    pub merchant_public_key_file: Option<PathBuf>,
    /// PEM file with the merchant's private key (its public half is trusted).
    #[arg(long, value_name = "PEM")]
    pub merchant_private_key_file: Option<PathBuf>,
    /// The merchant's private key as PEM text, used when no key file is given; without any,
    /// a merchant key is generated and printed.
    #[arg(
        long,
        value_name = "PEM_TEXT",
        env = "privateKey",
        hide_env_values = true
    )]
    pub merchant_private_key: Option<String>,
    /// APIv3 key, 32 characters (default: generated and printed).
    #[arg(long, value_name = "KEY", env = "apiV3Key", hide_env_values = true)]
    pub api_v3_key: Option<String>,
    /// AppID bound to the merchant; repeat for several (default: any AppID is accepted).
    #[arg(long, value_name = "APPID", env = "appId")]
    pub appid: Vec<String>,
    /// SDK (direct) or gateway (Integration Center) callbacks [default: gateway].
    #[arg(long, value_name = "MODE", env = "signMode", value_enum)]
    pub callback_mode: Option<CallbackModeArg>,
    /// Base URL that stands in for the notify_url host (the notify_url path is kept).
    #[arg(long, value_name = "URL")]
    pub callback_target: Option<String>,
    /// Multiplier on WeChat's callback retry schedule (1.0 = real time).
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    pub time_scale: f64,
    /// Pay every new order automatically after this many milliseconds.
    #[arg(long, value_name = "N")]
    pub auto_pay_ms: Option<u64>,
    /// Complete every new refund with SUCCESS after this many milliseconds.
    #[arg(long, value_name = "N")]
    pub auto_refund_ms: Option<u64>,
    /// Have the payee confirm every new transfer after this many milliseconds.
    #[arg(long, value_name = "N")]
    pub auto_confirm_ms: Option<u64>,
}

/// `Some(value)` unless it is absent or blank.
fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// What `run` prints besides the simulator's own keys.
struct Resolved {
    config: SimulatorConfig,
    port: u16,
    /// The APIv3 key when it was generated for this run (a given one is never printed).
    generated_api_v3_key: Option<String>,
    /// The merchant private key PEM when it was generated for this run.
    generated_private_key: Option<String>,
}

impl SimulateArgs {
    /// The merchant's public key; `Some(private PEM)` when one had to be generated.
    fn merchant_key(&self) -> Result<(PublicKey, Option<String>), String> {
        if let Some(path) = &self.merchant_public_key_file {
            return PublicKey::from_pem(&read(path)?)
                .map(|k| (k, None))
                .map_err(|e| format!("--merchant-public-key-file: {e}"));
        }
        let (private, flag) = match &self.merchant_private_key_file {
            Some(path) => (Some(read(path)?), "--merchant-private-key-file"),
            None => (
                given(self.merchant_private_key.clone()),
                "--merchant-private-key (privateKey)",
            ),
        };
        match private {
            Some(pem) => MerchantKey::from_pem(&pem)
                .map(|k| (k.public_key(), None))
                .map_err(|e| format!("{flag}: {e}")),
            None => {
                let key = MerchantKey::generate();
                Ok((key.public_key(), Some(key.to_pkcs8_pem())))
            }
        }
    }

    fn resolve(self) -> Result<Resolved, String> {
        let mchid = given(self.mchid.clone()).unwrap_or_else(|| "1900000001".into());
        let serial =
            given(self.merchant_serial.clone()).unwrap_or_else(|| ids::hex(40).to_uppercase());
        let given_key = given(self.api_v3_key.clone());
        let api_v3_key = given_key.clone().unwrap_or_else(generate_api_v3_key);
        if api_v3_key.len() != 32 {
            return Err(format!(
                "--api-v3-key (apiV3Key) must be 32 characters, got {}",
                api_v3_key.len()
            ));
        }
        if !(self.time_scale.is_finite() && self.time_scale >= 0.0) {
            return Err("--time-scale must be a number of at least 0".into());
        }
        let (public_key, generated_private_key) = self.merchant_key()?;
        let mut config = SimulatorConfig::new(mchid, serial, public_key, api_v3_key.clone());
        config.appids = self
            .appid
            .into_iter()
            .filter_map(|a| given(Some(a)))
            .collect();
        config.callback_mode = self.callback_mode.map(Into::into).unwrap_or_default();
        config.callback_target = given(self.callback_target);
        config.time_scale = self.time_scale;
        config.auto_pay_after = self.auto_pay_ms.map(Duration::from_millis);
        config.auto_refund_after = self.auto_refund_ms.map(Duration::from_millis);
        config.auto_confirm_after = self.auto_confirm_ms.map(Duration::from_millis);
        Ok(Resolved {
            config,
            port: self.port,
            generated_api_v3_key: given_key.is_none().then_some(api_v3_key),
            generated_private_key,
        })
    }
}

/// Runs `pay-common simulate` with its parsed flags until Ctrl-C.
pub async fn run(args: SimulateArgs) -> Result<(), String> {
    let r = args.resolve()?;
    let (mchid, serial) = (r.config.mchid.clone(), r.config.merchant_serial.clone());
    let addr = SocketAddr::from(([127, 0, 0, 1], r.port));
    let handle = Simulator::start(r.config, addr)
        .await
        .map_err(|e| format!("cannot start on {addr}: {e}"))?;
    println!("WeChat Pay simulator listening on {}", handle.base_url());
    println!("merchantId={mchid}\nmerchantSerialNumber={serial}");
    if let Some(key) = r.generated_api_v3_key {
        // Generated for this run only; a key the user supplied is never printed.
        println!("apiV3Key={key}");
    }
    println!("wxPayPublicKeyId={}", handle.public_key_id());
    println!(
        "platform certificate serial={}",
        handle.platform_certificate_serial()
    );
    println!("wxPayPublicKey=\n{}", handle.public_key_pem());
    if let Some(pem) = r.generated_private_key {
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
    use clap::Parser;
    use clap::error::ErrorKind;

    #[derive(Debug, Parser)]
    struct Cmd {
        #[command(flatten)]
        args: SimulateArgs,
    }

    fn parse(args: &[&str]) -> Result<SimulateArgs, clap::Error> {
        Cmd::try_parse_from(std::iter::once("simulate").chain(args.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn flags_parse_both_spellings_and_reject_unknown_ones() {
        let a = parse(&["--port", "4000", "--appid=wx1", "--appid", "wx2"]).unwrap();
        assert_eq!(a.port, 4000);
        assert_eq!(a.appid, ["wx1", "wx2"]);
        let e = parse(&["--bogus", "1"]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnknownArgument);
        assert!(e.to_string().contains("'--bogus'"), "{e}");
        let e = parse(&["--port"]).unwrap_err();
        assert!(e.to_string().contains("--port <PORT>"), "{e}");
        let e = parse(&["--callback-mode", "fast"]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidValue);
    }

    #[test]
    fn resolved_flags_become_the_configuration() {
        let key = MerchantKey::generate().to_pkcs8_pem();
        let mut a = parse(&[
            "--mchid=1234567890",
            "--merchant-serial=ABCDEF",
            "--api-v3-key=0123456789abcdef0123456789abcdef",
            "--callback-mode=sdk",
            "--time-scale=0.5",
            "--auto-pay-ms=250",
        ])
        .unwrap();
        a.merchant_private_key = Some(key);
        let r = a.resolve().unwrap();
        assert_eq!(r.config.mchid, "1234567890");
        assert_eq!(r.config.merchant_serial, "ABCDEF");
        assert_eq!(r.config.callback_mode, CallbackMode::Sdk);
        assert_eq!(r.config.time_scale, 0.5);
        assert_eq!(r.config.auto_pay_after, Some(Duration::from_millis(250)));
        assert!(
            r.generated_api_v3_key.is_none(),
            "a given key is never printed"
        );
        assert!(r.generated_private_key.is_none());
    }

    #[test]
    fn blank_values_count_as_unset_and_wrong_keys_name_their_flag() {
        let mut a = parse(&[]).unwrap();
        a.mchid = Some("  ".into());
        a.appid = vec![" ".into()];
        let r = a.resolve().unwrap();
        assert_eq!(r.config.mchid, "1900000001");
        assert!(r.config.appids.is_empty());
        assert_eq!(r.config.callback_mode, CallbackMode::Gateway);
        assert!(r.generated_api_v3_key.is_some() && r.generated_private_key.is_some());

        let e = parse(&["--api-v3-key=short"])
            .unwrap()
            .resolve()
            .err()
            .unwrap();
        assert!(e.contains("--api-v3-key"), "{e}");
        let mut a = parse(&[]).unwrap();
        a.merchant_private_key = Some("not a key".into());
        let e = a.resolve().err().unwrap();
        assert!(e.contains("--merchant-private-key"), "{e}");
    }
}
