//! `pay-common demo`: the whole payment loop on one machine, with simulated money. It starts the
//! WeChat Pay simulator in-process with fresh test keys, the service on the embedded SQLite
//! ledger, and prints copy-paste commands for each step: order as a Mini Program, pay, watch the
//! callback turn the order PAID, refund, watch it turn REFUNDED, then claim the payout allowance
//! the demo granted the user and follow the transfer to SUCCESS.

use std::collections::HashMap;

use crate::config::Config;
use crate::pay::payments::Caller;
use crate::simulator::{CallbackMode, Simulator, SimulatorConfig, generate_api_v3_key};
use crate::startup::{Application, Parts};
use crate::store::Ledger;
use crate::wechatpay::crypto::random_alphanumeric;
use crate::wechatpay::keys::MerchantKey;

/// Demo merchant id (simulated).
pub const DEMO_MCHID: &str = "1900000001";
/// Demo AppID (simulated).
pub const DEMO_APPID: &str = "wxd0000000000demo";
/// The openid the printed commands use, as the platform would inject it.
pub const DEMO_OPENID: &str = "oDemoUser0000000000000000001";
/// Printed last, once everything listens; the demo test waits for it.
pub const READY_LINE: &str = "Ready. Press Ctrl-C to stop.";

/// Ports and files of one demo run.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Service port (3000).
    pub port: u16,
    /// Simulator port (3100).
    pub sim_port: u16,
    /// SQLite file, recreated at start (`./data/demo.db`).
    pub database: String,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            port: 3000,
            sim_port: 3100,
            database: "./data/demo.db".into(),
        }
    }
}

/// Runs the demo until `shutdown` completes.
pub async fn run(
    opts: DemoOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let merchant = MerchantKey::generate();
    let serial = random_serial();
    let api_v3_key = generate_api_v3_key();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port))
        .await
        .map_err(|e| format!("port {}: {e}", opts.port))?;
    let service = listener.local_addr().map_err(|e| e.to_string())?;
    let mut sim_cfg = SimulatorConfig::new(
        DEMO_MCHID,
        serial.clone(),
        merchant.public_key(),
        api_v3_key.clone(),
    );
    sim_cfg.callback_mode = CallbackMode::Gateway;
    sim_cfg.callback_target = Some(format!("http://{service}"));
    sim_cfg.time_scale = 0.01;
    let sim = Simulator::start(sim_cfg, ([127, 0, 0, 1], opts.sim_port).into())
        .await
        .map_err(|e| format!("simulator port {}: {e}", opts.sim_port))?;
    let admin = format!("demo-admin-{}", random_alphanumeric(24));
    if let Some(dir) = std::path::Path::new(&opts.database).parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", opts.database));
    }
    let vars: HashMap<&str, String> = HashMap::from([
        ("appId", DEMO_APPID.into()),
        ("merchantId", DEMO_MCHID.into()),
        ("merchantSerialNumber", serial),
        ("privateKey", merchant.to_pkcs8_pem()),
        ("apiV3Key", api_v3_key),
        ("wxPayPublicKey", sim.public_key_pem()),
        ("wxPayPublicKeyId", sim.public_key_id()),
        (
            "notifyURLPayURL",
            "https://demo.pay-common.invalid/wechatpay/order".into(),
        ),
        (
            "notifyURLRefundsURL",
            "https://demo.pay-common.invalid/wechatpay/refund".into(),
        ),
        (
            "transferNotifyUrl",
            "https://demo.pay-common.invalid/wechatpay/transfer".into(),
        ),
        ("wechatpayBaseUrl", sim.base_url()),
        ("PAY_COMMON_ADMIN_TOKEN", admin.clone()),
        ("reconcileIntervalSeconds", "0".into()),
        ("consoleEnabled", "true".into()),
        ("consoleSimulator", "true".into()),
        ("refundPolicy", "owner-full".into()),
        (
            "businessWebhookUrl",
            format!("http://{service}/console/demo-webhook"),
        ),
        ("businessWebhookSecret", random_alphanumeric(32)),
    ]);
    let config = Config::from_lookup(|k| vars.get(k).cloned());
    let ledger = Ledger::connect(&format!("sqlite://{}?mode=rwc", opts.database))
        .await
        .map_err(|e| e.to_string())?;
    let app = Application::from_listener(listener, config, Parts::ledger(ledger));
    grant_demo_payout(&app).await?;
    print!(
        "{}",
        instructions(&format!("http://{service}"), &sim.base_url(), &admin)
    );
    println!("{READY_LINE}");
    let result = app.run_until(shutdown).await.map_err(|e| e.to_string());
    sim.shutdown().await;
    result
}

/// What the demo user may claim with the Mini Program's Claim button (fen).
pub const DEMO_PAYOUT_FEN: i64 = 100;

/// Grants the demo user a payout allowance, as a business backend would with
/// `POST /wx-pay/admin/payout_grant`.
async fn grant_demo_payout(app: &Application) -> Result<(), String> {
    let admin = Caller {
        openid: None,
        admin: true,
    };
    let grant = serde_json::json!({
        "openid": DEMO_OPENID,
        "amount": DEMO_PAYOUT_FEN,
        "transfer_remark": "演示奖励",
        "grant_no": "demo-welcome",
    });
    let grant = crate::pay::transfer_requests::GrantRequest::parse(&grant)
        .map_err(|e| format!("demo payout allowance: {e}"))?;
    app.payments()
        .grant_payout(&admin, &grant)
        .await
        .map(|_| ())
        .map_err(|e| format!("demo payout allowance: {e}"))
}

/// 40 uppercase hex characters, like a merchant certificate serial.
fn random_serial() -> String {
    let mut bytes = [0u8; 20];
    aws_lc_rs::rand::fill(&mut bytes).expect("system randomness");
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn instructions(service: &str, sim: &str, admin: &str) -> String {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let no = format!("DEMO{stamp}");
    let refund = format!("DEMOR{stamp}");
    let bill = format!("DEMOPO{stamp}");
    let json = "-H 'content-type: application/json'";
    let user = format!("-H 'x-wx-openid: {DEMO_OPENID}'");
    let view = format!(
        "curl -s -X POST {service}/wx-pay/wxpay_order_view {json} {user} -d '{{\"out_trade_no\":\"{no}\"}}'"
    );
    let steps = [
        (
            "Place an order as a Mini Program would (the platform injects x-wx-openid):",
            format!(
                "curl -s -X POST {service}/wx-pay/wxpay_order {json} {user} -d '{{\"description\":\"Demo tea\",\"out_trade_no\":\"{no}\",\"amount\":{{\"total\":20,\"currency\":\"CNY\"}}}}'"
            ),
            "\"paySign\"",
        ),
        (
            "Pay it, as the user would on their phone (simulator control API):",
            format!("curl -s -X POST {sim}/sim/orders/{no}/pay"),
            "\"SUCCESS\"",
        ),
        (
            "Watch the callback land: the ledger now shows the order PAID:",
            view.clone(),
            "\"state\":\"PAID\"",
        ),
        (
            "Refund it with the admin credential (amounts are checked against the ledger):",
            format!(
                "curl -s -X POST {service}/wx-pay/wxpay_refund {json} -H 'x-pay-common-admin-token: {admin}' -d '{{\"out_trade_no\":\"{no}\",\"out_refund_no\":\"{refund}\",\"amount\":{{\"refund\":20,\"total\":20}}}}'"
            ),
            "\"PROCESSING\"",
        ),
        (
            "Let WeChat finish the refund (simulator control API):",
            format!(
                "curl -s -X POST {sim}/sim/refunds/{refund}/complete {json} -d '{{\"status\":\"SUCCESS\"}}'"
            ),
            "\"SUCCESS\"",
        ),
        (
            "The refund callback lands: the order is REFUNDED:",
            view,
            "\"state\":\"REFUNDED\"",
        ),
        (
            "Claim the payout the demo granted this user (no admin credential; the allowance decides the amount):",
            format!(
                "curl -s -X POST {service}/wx-pay/wxpay_transfer {json} {user} -d '{{\"out_bill_no\":\"{bill}\"}}'"
            ),
            "\"package_info\"",
        ),
        (
            "Confirm it as the payee would in wx.requestMerchantTransfer (simulator control API):",
            format!("curl -s -X POST {sim}/sim/transfers/{bill}/confirm"),
            "\"SUCCESS\"",
        ),
        (
            "The payee follows the transfer to SUCCESS:",
            format!(
                "curl -s -X POST {service}/wx-pay/wxpay_transfer_bill_query {json} {user} -d '{{\"out_bill_no\":\"{bill}\"}}'"
            ),
            "\"state\":\"SUCCESS\"",
        ),
    ];
    let mut out = String::new();
    out.push_str("\n==================================================================\n");
    out.push_str(" pay-common demo: SIMULATED MONEY. Nothing here talks to WeChat Pay.\n");
    out.push_str("==================================================================\n\n");
    out.push_str(&format!("service    {service}   (SQLite ledger, fresh test keys)\nsimulator  {sim}   (local WeChat Pay v3)\n\nTry, in another terminal:\n\n"));
    for (i, (what, cmd, expect)) in steps.iter().enumerate() {
        out.push_str(&format!(
            "{}. {what}\n$ {cmd}\n  expect: {expect}\n\n",
            i + 1
        ));
    }
    out.push_str(&format!(
        "Health and configuration: curl -s {service}/healthz\n\n"
    ));
    out.push_str(&format!(
        "Console (orders, refunds, transfers, events, phone buttons), open in a browser:\n  {}\n\n",
        console_url(service, admin)
    ));
    out.push_str(&format!(
        "Web page (H5 and Native pay, the code_url as a QR code), open in a browser:\n  {service}/console/web/\n\n"
    ));
    out
}

/// The console's address; the admin credential rides in the fragment, which browsers never send.
pub fn console_url(service: &str, admin: &str) -> String {
    format!("{service}/console/#token={admin}")
}
