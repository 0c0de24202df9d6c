//! Mints the simulator's self-signed platform certificate with `x509-cert` (re-exported by
//! [`wechatpay::x509`]), signed with aws-lc-rs through [`MerchantKey::sign`]: X.509 v3,
//! sha256WithRSA, a random 20-byte serial printed as uppercase hex (the `serial_no` that
//! `/v3/certificates` and `Wechatpay-Serial` carry).

use std::str::FromStr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::ids;
use wechatpay::keys::{MerchantKey, pem_encode};
use wechatpay::x509::SHA256_WITH_RSA;
use wechatpay::x509::der::asn1::{BitString, UtcTime};
use wechatpay::x509::der::{Any, Decode, Encode};
use wechatpay::x509::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use wechatpay::x509::x509_cert::name::Name;
use wechatpay::x509::x509_cert::serial_number::SerialNumber;
use wechatpay::x509::x509_cert::time::{Time, Validity};
use wechatpay::x509::x509_cert::{Certificate, TbsCertificate, Version};

fn utc(unix: i64) -> Time {
    let secs = u64::try_from(unix).expect("certificate times after 1970");
    Time::UtcTime(
        UtcTime::from_unix_duration(Duration::from_secs(secs))
            .expect("certificate times before 2050"),
    )
}

/// Returns `(certificate PEM, serial as uppercase hex)`.
pub fn self_signed(
    key: &MerchantKey,
    mchid: &str,
    not_before: i64,
    not_after: i64,
) -> (String, String) {
    // A positive serial whose first byte has no leading zero, so every SDK prints it alike.
    let mut serial = hex_bytes(&ids::hex(40));
    serial[0] = (serial[0] & 0x7f) | 0x10;
    let serial_hex: String = serial.iter().map(|b| format!("{b:02X}")).collect();
    let sha256_with_rsa = AlgorithmIdentifierOwned {
        oid: SHA256_WITH_RSA,
        parameters: Some(Any::null()),
    };
    // The common name is plain ASCII: no RFC 4514 escaping needed.
    let subject = Name::from_str(&format!("CN=Tenpay.com Root CA simulator for {mchid}"))
        .expect("an ASCII common name");
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&serial).expect("20-byte positive serial"),
        signature: sha256_with_rsa.clone(),
        issuer: subject.clone(),
        validity: Validity {
            not_before: utc(not_before),
            not_after: utc(not_after),
        },
        subject,
        subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(key.public_key().spki_der())
            .expect("our own public key"),
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: None,
    };
    let tbs_der = tbs.to_der().expect("TBSCertificate encoding");
    let signature = B64.decode(key.sign(&tbs_der)).expect("own Base64");
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: sha256_with_rsa,
        signature: BitString::from_bytes(&signature).expect("signature bit string"),
    };
    let der = cert.to_der().expect("certificate encoding");
    (pem_encode("CERTIFICATE", &der), serial_hex)
}

fn hex_bytes(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wechatpay::keys::PublicKey;
    use wechatpay::x509::parse_certificate;

    #[test]
    fn minted_certificate_parses_with_its_serial_and_key() {
        let key = MerchantKey::generate();
        let (pem, serial) = self_signed(&key, "1900000001", 1_700_000_000, 1_800_000_000);
        let parsed =
            parse_certificate(&wechatpay::keys::parse_pem(&pem, "c").unwrap().der).unwrap();
        assert_eq!(parsed.serial_hex, serial);
        assert_eq!(serial.len(), 40);
        assert_eq!(
            (parsed.not_before, parsed.not_after),
            (1_700_000_000, 1_800_000_000)
        );
        let from_cert = PublicKey::from_pem(&pem).unwrap();
        assert!(from_cert.verify(b"m", &key.sign(b"m")));
    }

    #[test]
    fn the_signature_is_the_certificate_keys_over_the_tbs_bytes() {
        let key = MerchantKey::generate();
        let (pem, _) = self_signed(&key, "1900000001", 1_700_000_000, 1_800_000_000);
        let der = wechatpay::keys::parse_pem(&pem, "c").unwrap().der;
        let cert = Certificate::from_der(&der).unwrap();
        let tbs = cert.tbs_certificate.to_der().unwrap();
        let signature = B64.encode(cert.signature.raw_bytes());
        assert!(key.public_key().verify(&tbs, &signature));
        assert_eq!(cert.signature_algorithm.oid, SHA256_WITH_RSA);
    }
}
