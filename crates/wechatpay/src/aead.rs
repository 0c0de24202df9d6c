//! AEAD_AES_256_GCM as WeChat uses it for callback resources and platform certificates: the key
//! is the 32 ASCII bytes of the APIv3 key, the nonce the 12 bytes of `resource.nonce`, the input
//! Base64(ciphertext ‖ 16-byte tag). The tag is always checked.

use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

/// Why AEAD_AES_256_GCM decryption failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AeadError {
    /// The APIv3 key is not 32 bytes.
    KeyLength(usize),
    /// The nonce is not 12 bytes.
    NonceLength(usize),
    /// The ciphertext is not Base64 or too short to hold a tag.
    Malformed,
    /// Authentication failed: wrong key, nonce, AAD, or tampered data.
    Authentication,
}

impl std::fmt::Display for AeadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::KeyLength(n) => write!(
                f,
                "APIv3 key must be 32 bytes for AEAD_AES_256_GCM, got {n}"
            ),
            Self::NonceLength(n) => write!(f, "resource.nonce must be 12 bytes, got {n}"),
            Self::Malformed => write!(
                f,
                "resource.ciphertext is not Base64 ciphertext with a 16-byte tag"
            ),
            Self::Authentication => write!(
                f,
                "AES-GCM authentication failed (wrong APIv3 key or tampered data)"
            ),
        }
    }
}

impl std::error::Error for AeadError {}

fn gcm_key(key: &[u8], allow_128: bool) -> Result<LessSafeKey, AeadError> {
    let alg = match key.len() {
        32 => &AES_256_GCM,
        16 if allow_128 => &AES_128_GCM,
        n => return Err(AeadError::KeyLength(n)),
    };
    Ok(LessSafeKey::new(
        UnboundKey::new(alg, key).map_err(|_| AeadError::KeyLength(key.len()))?,
    ))
}

fn gcm_nonce(nonce: &str) -> Result<Nonce, AeadError> {
    Nonce::try_assume_unique_for_key(nonce.as_bytes())
        .map_err(|_| AeadError::NonceLength(nonce.len()))
}

fn open(
    key: LessSafeKey,
    nonce: &str,
    aad: &str,
    ciphertext_b64: &str,
) -> Result<Vec<u8>, AeadError> {
    let nonce = gcm_nonce(nonce)?;
    let mut buf = B64
        .decode(ciphertext_b64.trim())
        .map_err(|_| AeadError::Malformed)?;
    if buf.len() < 16 {
        return Err(AeadError::Malformed);
    }
    let plain = key
        .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut buf)
        .map_err(|_| AeadError::Authentication)?;
    Ok(plain.to_vec())
}

/// Decrypts an `AEAD_AES_256_GCM` resource: key = the 32 bytes of the APIv3 key,
/// input = Base64(ciphertext ‖ tag). The tag is always checked.
pub fn decrypt_resource(
    api_v3_key: &[u8],
    nonce: &str,
    aad: &str,
    ciphertext_b64: &str,
) -> Result<Vec<u8>, AeadError> {
    open(gcm_key(api_v3_key, false)?, nonce, aad, ciphertext_b64)
}

/// AES-GCM with a 128-bit key: only for the published test vectors that use one.
pub fn decrypt_aes_gcm_any(
    key: &[u8],
    nonce: &str,
    aad: &str,
    ciphertext_b64: &str,
) -> Result<Vec<u8>, AeadError> {
    open(gcm_key(key, true)?, nonce, aad, ciphertext_b64)
}

/// Encrypts like WeChat does for callbacks and certificates (simulator side).
pub fn encrypt_resource(
    api_v3_key: &[u8],
    nonce: &str,
    aad: &str,
    plaintext: &[u8],
) -> Result<String, AeadError> {
    let key = gcm_key(api_v3_key, false)?;
    let mut buf = plaintext.to_vec();
    key.seal_in_place_append_tag(gcm_nonce(nonce)?, Aad::from(aad.as_bytes()), &mut buf)
        .map_err(|_| AeadError::Malformed)?;
    Ok(B64.encode(buf))
}
