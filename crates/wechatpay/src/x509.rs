//! X.509 and key encodings through RustCrypto's `x509-cert` (which sits on `der` and `spki`):
//! the serial, validity and public key of a WeChat Pay platform certificate, and the
//! conversion between a PKCS#1 `RSAPublicKey` and a SubjectPublicKeyInfo. Strict DER: a
//! truncated, mistagged or overlong input is an error that says where, never a panic.
//!
//! The crates are re-exported so a caller (the simulator minting its certificate) uses the
//! same versions.

use std::fmt;

pub use x509_cert;
pub use x509_cert::der;
pub use x509_cert::spki;

use x509_cert::Certificate;
use x509_cert::der::asn1::{AnyRef, BitStringRef};
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::oid::db::rfc5912::RSA_ENCRYPTION;
use x509_cert::der::{Decode, Encode};
use x509_cert::spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};

/// OID of sha256WithRSAEncryption (the signature WeChat's certificates carry).
pub const SHA256_WITH_RSA: ObjectIdentifier =
    x509_cert::der::oid::db::rfc5912::SHA_256_WITH_RSA_ENCRYPTION;

/// Why a certificate or key encoding was refused; the text names the structure and what was
/// wrong with it, never key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodingError(pub String);

impl fmt::Display for EncodingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EncodingError {}

fn refused(what: &str, e: impl fmt::Display) -> EncodingError {
    EncodingError(format!("not a DER {what}: {e}"))
}

/// What platform-certificate mode needs from an X.509 certificate.
#[derive(Debug, Clone)]
pub struct CertificateInfo {
    /// Serial number as even-length uppercase hex of its bytes (leading zero octet dropped),
    /// the way `Wechatpay-Serial` and `/v3/certificates` print it.
    pub serial_hex: String,
    /// The SubjectPublicKeyInfo element, DER.
    pub spki_der: Vec<u8>,
    /// Not valid before, Unix seconds.
    pub not_before: i64,
    /// Not valid after, Unix seconds.
    pub not_after: i64,
}

/// Reads the serial number, validity and public key of a DER X.509 certificate.
pub fn parse_certificate(der: &[u8]) -> Result<CertificateInfo, EncodingError> {
    const WHAT: &str = "X.509 certificate";
    let cert = Certificate::from_der(der).map_err(|e| refused(WHAT, e))?;
    let tbs = &cert.tbs_certificate;
    let serial = match tbs.serial_number.as_bytes() {
        [0, tail @ ..] if !tail.is_empty() => tail,
        all => all,
    };
    let spki_der = tbs
        .subject_public_key_info
        .to_der()
        .map_err(|e| refused(WHAT, e))?;
    let unix = |t: x509_cert::time::Time| {
        i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
    };
    Ok(CertificateInfo {
        serial_hex: serial.iter().map(|b| format!("{b:02X}")).collect(),
        spki_der,
        not_before: unix(tbs.validity.not_before),
        not_after: unix(tbs.validity.not_after),
    })
}

/// Wraps a PKCS#1 `RSAPublicKey` as an X.509 SubjectPublicKeyInfo (rsaEncryption, NULL
/// parameters).
pub fn rsa_spki_from_pkcs1(pkcs1: &[u8]) -> Result<Vec<u8>, EncodingError> {
    const WHAT: &str = "RSA public key";
    let spki = SubjectPublicKeyInfoRef {
        algorithm: AlgorithmIdentifierRef {
            oid: RSA_ENCRYPTION,
            parameters: Some(AnyRef::NULL),
        },
        subject_public_key: BitStringRef::from_bytes(pkcs1).map_err(|e| refused(WHAT, e))?,
    };
    spki.to_der().map_err(|e| refused(WHAT, e))
}

/// Returns the PKCS#1 `RSAPublicKey` inside an RSA SubjectPublicKeyInfo.
pub fn rsa_pkcs1_from_spki(spki: &[u8]) -> Result<Vec<u8>, EncodingError> {
    const WHAT: &str = "SubjectPublicKeyInfo";
    let info = SubjectPublicKeyInfoRef::from_der(spki).map_err(|e| refused(WHAT, e))?;
    if info.algorithm.oid != RSA_ENCRYPTION {
        return Err(EncodingError(format!(
            "not an RSA public key: algorithm {}",
            info.algorithm.oid
        )));
    }
    info.subject_public_key
        .as_bytes()
        .map(<[u8]>::to_vec)
        .ok_or_else(|| refused(WHAT, "the key's bit string has unused bits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PKCS#1 `RSAPublicKey ::= SEQUENCE { modulus, publicExponent }` (encoded as a
    /// SEQUENCE OF two INTEGERs, which is the same bytes).
    fn pkcs1(modulus: &[u8], exponent: &[u8]) -> Vec<u8> {
        use x509_cert::der::asn1::UintRef;
        vec![
            UintRef::new(modulus).unwrap(),
            UintRef::new(exponent).unwrap(),
        ]
        .to_der()
        .unwrap()
    }

    #[test]
    fn spki_round_trips_through_pkcs1() {
        let key = pkcs1(&[0xc1, 0x73], &[1, 0, 1]);
        let spki = rsa_spki_from_pkcs1(&key).unwrap();
        assert_eq!(rsa_pkcs1_from_spki(&spki).unwrap(), key);
    }

    #[test]
    fn a_non_rsa_key_is_named() {
        let spki = SubjectPublicKeyInfoRef {
            algorithm: AlgorithmIdentifierRef {
                oid: x509_cert::der::oid::db::rfc5912::ID_EC_PUBLIC_KEY,
                parameters: None,
            },
            subject_public_key: BitStringRef::from_bytes(&[4, 1, 2]).unwrap(),
        }
        .to_der()
        .unwrap();
        let err = rsa_pkcs1_from_spki(&spki).unwrap_err().to_string();
        assert!(err.contains("not an RSA public key"), "{err}");
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        assert!(rsa_pkcs1_from_spki(&[0x30, 0x82, 0x01]).is_err());
        assert!(rsa_pkcs1_from_spki(&[0x30, 0x05, 0x00]).is_err());
        let err = parse_certificate(b"not der").unwrap_err().to_string();
        assert!(err.starts_with("not a DER X.509 certificate: "), "{err}");
    }
}
