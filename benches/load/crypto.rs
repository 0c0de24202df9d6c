//! The crypto floor, measured in the same run as the load so that ratios compare across
//! machines: an RSA-2048 SHA256withRSA signature with the service's own signer (aws-lc-rs), a
//! verification with aws-lc-rs on a parsed key, and parsing the keys as start-up does. Beside
//! it, the durability floor: one SQLite commit of one row with `synchronous = FULL`, which
//! every pay callback makes at least once.

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use pay_common::wechatpay::keys::{MerchantKey, PublicKey};
use pay_common::wechatpay::x509;

use super::procfs::best_of;

/// CPU milliseconds of the primitives (best of several rounds, calling thread only).
#[derive(Debug, Clone, Copy)]
pub struct Floor {
    /// One signature (`MerchantKey::sign`: SHA-256, RSA-2048 PKCS#1 v1.5, Base64).
    pub sign_ms: f64,
    /// One verification (aws-lc-rs on an already parsed key).
    pub verify_ms: f64,
    /// Parsing the merchant private key and the WeChat Pay public key from PEM.
    pub key_parse_ms: f64,
    /// One durable SQLite commit: `BEGIN IMMEDIATE`, a one-row insert, `COMMIT` with its
    /// `fsync` (WAL, `synchronous = FULL`, on a scratch file in the temporary directory).
    pub commit_ms: f64,
}

impl Floor {
    /// What a JSAPI order cannot do without: our request's signature, `paySign`, and
    /// verifying WeChat's answer.
    pub fn order_ms(&self) -> f64 {
        2.0 * self.sign_ms + self.verify_ms
    }

    /// Measures with `rounds` rounds (best kept).
    pub fn measure(private_pem: &str, rounds: usize) -> Self {
        let key = MerchantKey::from_pem(private_pem).expect("merchant key");
        let public_pem = key.public_key().to_pem();
        let sign_ms = best_of(rounds, 100, |i| {
            std::hint::black_box(key.sign(format!("message {i}").as_bytes()));
        });
        let message = b"GET\n/v3/pay/transactions/id/4200000000\n1700000000\nnonce\n\n";
        let signature = B64.decode(key.sign(message)).unwrap();
        let spki = key.public_key().spki_der().to_vec();
        let pkcs1 = x509::rsa_pkcs1_from_spki(&spki).expect("RSA SPKI");
        let parsed = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pkcs1).expect("public key");
        let verify_ms = best_of(rounds, 1000, |_| {
            assert!(parsed.verify_sig(message, &signature).is_ok());
        });
        let key_parse_ms = best_of(rounds, 20, |_| {
            std::hint::black_box(MerchantKey::from_pem(private_pem).unwrap());
            std::hint::black_box(PublicKey::from_pem(&public_pem).unwrap());
        });
        Self {
            sign_ms,
            verify_ms,
            key_parse_ms,
            commit_ms: commit_ms(rounds),
        }
    }
}

/// CPU milliseconds of one durable one-row SQLite commit (best of `rounds` x 50), on a fresh
/// scratch file.
fn commit_ms(rounds: usize) -> f64 {
    let path =
        std::env::temp_dir().join(format!("pay-common-bench-commit-{}.db", std::process::id()));
    let remove = || {
        for end in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{end}", path.display()));
        }
    };
    remove();
    let db = rusqlite::Connection::open(&path).expect("scratch SQLite file");
    db.pragma_update(None, "journal_mode", "WAL").unwrap();
    db.pragma_update(None, "synchronous", "FULL").unwrap();
    db.execute_batch("CREATE TABLE t (id TEXT PRIMARY KEY, at INTEGER NOT NULL)")
        .unwrap();
    let ms = best_of(rounds, 50, |i| {
        db.execute_batch("BEGIN IMMEDIATE").unwrap();
        db.prepare_cached("INSERT INTO t (id, at) VALUES (?, ?)")
            .unwrap()
            .execute(rusqlite::params![format!("n{i}"), i as i64])
            .unwrap();
        db.execute_batch("COMMIT").unwrap();
    });
    drop(db);
    remove();
    ms
}
