//! Mints the simulator's self-signed platform certificate with the DER writer in
//! [`wechatpay::der`]: X.509 v3, sha256WithRSA, a random 20-byte serial printed as
//! uppercase hex (the `serial_no` that `/v3/certificates` and `Wechatpay-Serial` carry).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::ids;
use wechatpay::der::{
    self, OID_COMMON_NAME, OID_SHA256_WITH_RSA, TAG_BIT_STRING, TAG_CONTEXT_0, TAG_OID, TAG_SET,
    TAG_UTC_TIME, TAG_UTF8_STRING, positive_integer, sequence, tlv,
};
use wechatpay::keys::{MerchantKey, pem_encode};

fn name(common_name: &str) -> Vec<u8> {
    let attr = sequence(&[
        &tlv(TAG_OID, OID_COMMON_NAME),
        &tlv(TAG_UTF8_STRING, common_name.as_bytes()),
    ]);
    sequence(&[&tlv(TAG_SET, &attr)])
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
    let subject = name(&format!("Tenpay.com Root CA simulator for {mchid}"));
    let validity = sequence(&[
        &tlv(TAG_UTC_TIME, ids::utc_time(not_before).as_bytes()),
        &tlv(TAG_UTC_TIME, ids::utc_time(not_after).as_bytes()),
    ]);
    let spki = key.public_key().spki_der().to_vec();
    let tbs = sequence(&[
        &tlv(TAG_CONTEXT_0, &positive_integer(&[2])),
        &positive_integer(&serial),
        &der::algorithm(OID_SHA256_WITH_RSA),
        &subject,
        &validity,
        &subject,
        &spki,
    ]);
    let signature = B64.decode(key.sign(&tbs)).expect("own Base64");
    let mut bits = vec![0u8];
    bits.extend_from_slice(&signature);
    let cert = sequence(&[
        &tbs,
        &der::algorithm(OID_SHA256_WITH_RSA),
        &tlv(TAG_BIT_STRING, &bits),
    ]);
    (pem_encode("CERTIFICATE", &cert), serial_hex)
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

    #[test]
    fn minted_certificate_parses_with_its_serial_and_key() {
        let key = MerchantKey::generate();
        let (pem, serial) = self_signed(&key, "1900000001", 1_700_000_000, 1_800_000_000);
        let parsed =
            der::parse_certificate(&wechatpay::keys::parse_pem(&pem, "c").unwrap().der).unwrap();
        assert_eq!(parsed.serial_hex, serial);
        assert_eq!(serial.len(), 40);
        let from_cert = PublicKey::from_pem(&pem).unwrap();
        assert!(from_cert.verify(b"m", &key.sign(b"m")));
    }
}
