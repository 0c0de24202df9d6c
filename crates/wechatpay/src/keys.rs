//! Key material: PEM normalisation and parsing, the merchant's private key (signing) and the
//! WeChat Pay public keys (verification, sensitive-field encryption). Key types never print
//! their contents: `Debug` shows only what kind of key it is.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA1_MGF1SHA1, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey,
};
use aws_lc_rs::signature::{
    KeyPair, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use std::fmt;

use super::x509;

/// Why a key could not be used. The text never contains key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError(pub String);

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyError {}

fn key_error(what: &str, reason: impl fmt::Display) -> KeyError {
    KeyError(format!("not a PEM {what}: {reason}"))
}

/// Undoes what configuration forms do to PEM text: literal `\n`, CRLF, indentation and
/// surrounding blanks. The result has one PEM line per line.
pub fn normalize_pem(raw: &str) -> String {
    let unescaped = raw
        .replace("\\r\\n", "\n")
        .replace("\\n", "\n")
        .replace('\r', "");
    let lines: Vec<&str> = unescaped
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut out = lines.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// A decoded PEM block. `label` is `None` when the text was bare Base64 without armour.
#[derive(Clone)]
pub struct Pem {
    /// The label after `BEGIN`, e.g. `PRIVATE KEY`.
    pub label: Option<String>,
    /// The decoded DER bytes.
    pub der: Vec<u8>,
}

/// Decodes PEM text (after normalisation). Tolerates newlines that were replaced by spaces
/// and a value pasted without its BEGIN/END lines.
pub fn parse_pem(raw: &str, what: &str) -> Result<Pem, KeyError> {
    let text = normalize_pem(raw);
    if text.is_empty() {
        return Err(key_error(what, "the value is empty"));
    }
    let (label, body) = match text.find("-----BEGIN ") {
        Some(start) => {
            let after = &text[start + 11..];
            let end_label = after
                .find("-----")
                .ok_or_else(|| key_error(what, "the BEGIN line is not closed by -----"))?;
            let label = after[..end_label].trim().to_string();
            let body_start = &after[end_label + 5..];
            let end_marker = format!("-----END {label}-----");
            let body_end = body_start
                .find(&end_marker)
                .ok_or_else(|| key_error(what, format!("missing the line {end_marker}")))?;
            (Some(label), &body_start[..body_end])
        }
        None if text.contains("-----END") => {
            return Err(key_error(what, "missing the -----BEGIN line"));
        }
        None => (None, text.as_str()),
    };
    let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let der = B64
        .decode(compact.as_bytes())
        .map_err(|_| key_error(what, "the body is not valid Base64"))?;
    if der.is_empty() {
        return Err(key_error(what, "the body is empty"));
    }
    Ok(Pem { label, der })
}

/// The merchant API private key (`apiclient_key.pem`), used to sign requests and invoke
/// parameters.
pub struct MerchantKey {
    pair: RsaKeyPair,
}

impl fmt::Debug for MerchantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MerchantKey(<redacted>)")
    }
}

impl MerchantKey {
    /// Parses a PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`) PEM.
    pub fn from_pem(raw: &str) -> Result<Self, KeyError> {
        const WHAT: &str = "private key";
        let pem = parse_pem(raw, WHAT)?;
        let pair = match pem.label.as_deref() {
            Some("PRIVATE KEY") => RsaKeyPair::from_pkcs8(&pem.der)
                .map_err(|e| key_error(WHAT, format!("PKCS#8 key rejected ({e})")))?,
            Some("RSA PRIVATE KEY") => RsaKeyPair::from_der(&pem.der)
                .map_err(|e| key_error(WHAT, format!("PKCS#1 key rejected ({e})")))?,
            Some("ENCRYPTED PRIVATE KEY") => {
                return Err(key_error(WHAT, "password-protected keys are not supported"));
            }
            Some(other) => {
                return Err(key_error(WHAT, format!("found a {other} block instead")));
            }
            None => RsaKeyPair::from_pkcs8(&pem.der)
                .or_else(|_| RsaKeyPair::from_der(&pem.der))
                .map_err(|_| key_error(WHAT, "missing the -----BEGIN PRIVATE KEY----- line"))?,
        };
        Ok(Self { pair })
    }

    /// Generates a fresh RSA-2048 key (simulator and demo only).
    pub fn generate() -> Self {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
        Self { pair }
    }

    /// The key as PKCS#8 PEM (simulator and demo only: real keys are never written out).
    pub fn to_pkcs8_pem(&self) -> String {
        let der: Pkcs8V1Der<'static> = self.pair.as_der().expect("PKCS#8 encoding");
        pem_encode("PRIVATE KEY", der.as_ref())
    }

    /// Signs `message` with SHA256withRSA (PKCS#1 v1.5) and returns standard Base64.
    pub fn sign(&self, message: &[u8]) -> String {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
            .expect("RSA signing with a valid key");
        B64.encode(signature)
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        let spki = x509::rsa_spki_from_pkcs1(self.pair.public_key().as_ref())
            .expect("a key pair's own PKCS#1 public key");
        PublicKey::from_spki(spki).expect("a key pair's own public key")
    }

    /// Decrypts an RSA-OAEP(SHA-1) Base64 ciphertext (simulator: `user_name`).
    pub fn decrypt_oaep(&self, ciphertext_b64: &str) -> Result<String, KeyError> {
        let der: Pkcs8V1Der<'static> = self.pair.as_der().expect("PKCS#8 encoding");
        let key = PrivateDecryptingKey::from_pkcs8(der.as_ref())
            .ok()
            .and_then(|k| OaepPrivateDecryptingKey::new(k).ok())
            .ok_or_else(|| KeyError("key cannot decrypt".into()))?;
        let ciphertext = B64
            .decode(ciphertext_b64)
            .map_err(|_| KeyError("ciphertext is not Base64".into()))?;
        let mut out = vec![0u8; key.min_output_size()];
        let plain = key
            .decrypt(&OAEP_SHA1_MGF1SHA1, &ciphertext, &mut out, None)
            .map_err(|_| KeyError("OAEP decryption failed".into()))?;
        String::from_utf8(plain.to_vec()).map_err(|_| KeyError("plaintext is not UTF-8".into()))
    }
}

/// A WeChat Pay public key (public-key mode) or a platform certificate's key.
#[derive(Clone)]
pub struct PublicKey {
    spki: Vec<u8>,
    /// Parsed once (with its Montgomery constants), not on every verification: shared by
    /// clones, since aws-lc keeps it immutable.
    verifier: std::sync::Arc<ParsedPublicKey>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({} bytes)", self.spki.len())
    }
}

impl PublicKey {
    /// Parses `PUBLIC KEY` (SPKI), `RSA PUBLIC KEY` (PKCS#1) or a `CERTIFICATE`.
    pub fn from_pem(raw: &str) -> Result<Self, KeyError> {
        const WHAT: &str = "public key";
        let pem = parse_pem(raw, WHAT)?;
        let spki = match pem.label.as_deref() {
            Some("PUBLIC KEY") | None => pem.der,
            Some("RSA PUBLIC KEY") => {
                x509::rsa_spki_from_pkcs1(&pem.der).map_err(|e| key_error(WHAT, e))?
            }
            Some("CERTIFICATE") => {
                x509::parse_certificate(&pem.der)
                    .map_err(|e| key_error(WHAT, e))?
                    .spki_der
            }
            Some(other) => return Err(key_error(WHAT, format!("found a {other} block instead"))),
        };
        Self::from_spki(spki).map_err(|e| key_error(WHAT, e))
    }

    /// Wraps a DER SubjectPublicKeyInfo after checking that it is an RSA key of 2048+ bits.
    pub fn from_spki(spki: Vec<u8>) -> Result<Self, KeyError> {
        let key = PublicEncryptingKey::from_der(&spki)
            .map_err(|_| KeyError("not an RSA public key".into()))?;
        if key.key_size_bits() < 2048 {
            return Err(KeyError("RSA key shorter than 2048 bits".into()));
        }
        let pkcs1 = x509::rsa_pkcs1_from_spki(&spki).map_err(|e| KeyError(e.to_string()))?;
        let verifier = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pkcs1)
            .map_err(|_| KeyError("not an RSA public key".into()))?;
        Ok(Self {
            spki,
            verifier: std::sync::Arc::new(verifier),
        })
    }

    /// The SPKI DER bytes.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// The key as `PUBLIC KEY` PEM.
    pub fn to_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.spki)
    }

    /// Checks a Base64 SHA256withRSA signature. Any malformed input is simply "invalid".
    pub fn verify(&self, message: &[u8], signature_b64: &str) -> bool {
        let Ok(signature) = B64.decode(signature_b64.trim()) else {
            return false;
        };
        self.verifier.verify_sig(message, &signature).is_ok()
    }

    /// Encrypts a sensitive field with RSA-OAEP (SHA-1, MGF1-SHA-1), Base64.
    pub fn encrypt_oaep(&self, plaintext: &str) -> Result<String, KeyError> {
        let key = PublicEncryptingKey::from_der(&self.spki)
            .ok()
            .and_then(|k| OaepPublicEncryptingKey::new(k).ok())
            .ok_or_else(|| KeyError("key cannot encrypt".into()))?;
        let mut out = vec![0u8; key.ciphertext_size()];
        let ciphertext = key
            .encrypt(&OAEP_SHA1_MGF1SHA1, plaintext.as_bytes(), &mut out, None)
            .map_err(|_| KeyError("the field is too long to encrypt".into()))?;
        Ok(B64.encode(ciphertext))
    }
}

/// Encodes DER as PEM with 64-character lines.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("Base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
