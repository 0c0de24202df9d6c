//! The `wechatpay` crate on its own: sign a request, verify a signature, open an AES-GCM
//! resource, and (when a merchant API is configured) call an endpoint with a verified answer.
//!
//! ```sh
//! cargo run -p wechatpay --example sign_verify_call
//! ```
//!
//! To call an endpoint, point it at a WeChat Pay API (or `pay-common simulate`, whose start-up
//! output prints every value below):
//! `WECHATPAY_BASE_URL`, `WECHATPAY_MCHID`, `WECHATPAY_SERIAL`, `WECHATPAY_PRIVATE_KEY_FILE`,
//! `WECHATPAY_PUBLIC_KEY_ID`, `WECHATPAY_PUBLIC_KEY_FILE`, `WECHATPAY_OUT_TRADE_NO`.

use std::sync::Arc;
use std::time::Duration;

use wechatpay::aead::{decrypt_resource, encrypt_resource};
use wechatpay::api::QueryByOutTradeNo;
use wechatpay::client::{Client, Signer};
use wechatpay::clock::SystemClock;
use wechatpay::crypto::{authorization, random_alphanumeric, request_message};
use wechatpay::keyring::KeyRing;
use wechatpay::keys::{MerchantKey, PublicKey};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. Sign a request exactly as WeChat Pay checks it: method, path+query, time, nonce, body.
    let key = MerchantKey::generate();
    let body = br#"{"appid":"wx0000000000000000","mchid":"1900000001"}"#;
    let nonce = random_alphanumeric(32);
    let timestamp = 1_700_000_000;
    let message = request_message(
        "POST",
        "/v3/pay/transactions/jsapi",
        timestamp,
        &nonce,
        body,
    );
    let signature = key.sign(&message);
    let header = authorization("1900000001", &nonce, timestamp, "SERIAL", &signature);
    println!("Authorization: {}…", &header[..60]);

    // 2. Verify it with the public half, and see a one-byte change fail.
    let public = key.public_key();
    assert!(public.verify(&message, &signature));
    let mut tampered = message.clone();
    tampered[0] ^= 1;
    assert!(!public.verify(&tampered, &signature));
    println!("signature verifies; a tampered message does not");

    // 3. Open a callback resource (AEAD_AES_256_GCM with the 32-byte APIv3 key).
    let api_v3_key = b"0123456789abcdef0123456789abcdef";
    let sealed = encrypt_resource(api_v3_key, "0123456789ab", "transaction", b"{\"ok\":true}")?;
    let opened = decrypt_resource(api_v3_key, "0123456789ab", "transaction", &sealed)?;
    println!("resource opened: {}", String::from_utf8(opened)?);

    // 4. Call an endpoint when one is configured; the answer's signature is verified.
    let Ok(base_url) = std::env::var("WECHATPAY_BASE_URL") else {
        println!("set WECHATPAY_BASE_URL (and the others listed in this file) to call an endpoint");
        return Ok(());
    };
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let merchant = MerchantKey::from_pem(&std::fs::read_to_string(var(
        "WECHATPAY_PRIVATE_KEY_FILE",
    )?)?)?;
    let platform =
        PublicKey::from_pem(&std::fs::read_to_string(var("WECHATPAY_PUBLIC_KEY_FILE")?)?)?;
    let mchid = var("WECHATPAY_MCHID")?;
    let signer = Arc::new(Signer {
        mchid: mchid.clone(),
        serial: var("WECHATPAY_SERIAL")?,
        key: Arc::new(merchant),
    });
    let keys = Arc::new(KeyRing::new(Some((
        var("WECHATPAY_PUBLIC_KEY_ID")?,
        platform,
    ))));
    let client = Client::new(
        &base_url,
        Duration::from_secs(5),
        signer,
        keys,
        None,
        Arc::new(SystemClock),
    );
    let query = QueryByOutTradeNo {
        out_trade_no: var("WECHATPAY_OUT_TRADE_NO")?,
        mchid,
    };
    match client.execute(&query).await {
        Ok(answer) => println!("verified answer: trade_state={}", answer.data.trade_state),
        Err(e) => println!("WeChat Pay refused or could not be verified: {e}"),
    }
    Ok(())
}
