//! Malformed certificates (truncated, wrong tags, huge lengths, any byte corrupted) get an
//! error from `x509::parse_certificate` that names what it expected, never a panic.

use wechatpay::keys::MerchantKey;
use wechatpay::x509::{CertificateInfo, EncodingError};

/// The parser under test; every refusal must say it was not a DER X.509 certificate.
fn parse_certificate(der: &[u8]) -> Result<CertificateInfo, EncodingError> {
    let result = wechatpay::x509::parse_certificate(der);
    if let Err(e) = &result {
        assert!(
            e.0.starts_with("not a DER X.509 certificate: ") && e.0.len() > 30,
            "unclear error: {e}"
        );
    }
    result
}

/// One DER element, written out by hand so the tests can build odd shapes on purpose.
fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(value);
    out
}

fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// A certificate-shaped DER element: version, serial, algorithm, issuer, validity, subject,
/// SubjectPublicKeyInfo; then signature algorithm and signature.
fn certificate() -> (Vec<u8>, Vec<u8>) {
    let spki = MerchantKey::generate().public_key().spki_der().to_vec();
    let algorithm = sequence(&[&tlv(
        0x06,
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b],
    )]);
    let name = sequence(&[]);
    let validity = sequence(&[&tlv(0x17, b"260101000000Z"), &tlv(0x17, b"360101000000Z")]);
    let tbs = sequence(&[
        &tlv(0xa0, &tlv(0x02, &[2])),
        &tlv(0x02, &[0x00, 0x9a, 0x01, 0xff]),
        &algorithm,
        &name,
        &validity,
        &name,
        &spki,
    ]);
    let cert = sequence(&[&tbs, &algorithm, &tlv(0x03, &[0, 1, 2, 3])]);
    (cert, spki)
}

#[test]
fn a_well_formed_certificate_parses() {
    let (cert, spki) = certificate();
    let info = parse_certificate(&cert).unwrap();
    assert_eq!(info.serial_hex, "9A01FF");
    assert_eq!(info.spki_der, spki);
    assert_eq!(info.not_before, 1_767_225_600);
    assert_eq!(info.not_after, 2_082_758_400);
}

#[test]
fn every_truncation_is_an_error() {
    let (cert, _) = certificate();
    for n in 0..cert.len() {
        assert!(parse_certificate(&cert[..n]).is_err(), "{n} bytes accepted");
    }
}

#[test]
fn wrong_tags_are_errors() {
    let (cert, _) = certificate();
    for tag in [0x31, 0x02, 0x04, 0xa0, 0x00, 0xff] {
        let mut bad = cert.clone();
        bad[0] = tag;
        assert!(
            parse_certificate(&bad).is_err(),
            "outer tag {tag:#x} accepted"
        );
    }
    // The TBSCertificate's own tag.
    let inner = if cert[1] & 0x80 != 0 {
        2 + (cert[1] & 0x7f) as usize
    } else {
        2
    };
    let mut bad = cert.clone();
    bad[inner] = 0x04;
    assert!(parse_certificate(&bad).is_err());
}

#[test]
fn huge_or_malformed_lengths_are_errors() {
    for len in [
        vec![0x84, 0xff, 0xff, 0xff, 0xff],
        vec![0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        vec![0x89, 1, 0, 0, 0, 0, 0, 0, 0, 0],
        vec![0x80],
        vec![0xff],
    ] {
        let mut bad = vec![0x30];
        bad.extend_from_slice(&len);
        bad.extend_from_slice(&[0x30, 0x00]);
        assert!(parse_certificate(&bad).is_err(), "length {len:x?} accepted");
    }
}

#[test]
fn no_single_corrupted_byte_panics() {
    let (cert, _) = certificate();
    for i in 0..cert.len() {
        for value in [0x00, 0x7f, 0x80, 0xff] {
            let mut bad = cert.clone();
            bad[i] = value;
            // Ok or Err are both fine for a changed content byte; a panic fails the test.
            let _ = parse_certificate(&bad);
        }
    }
}
