//! Known-answer tests for the protocol pieces, with the re-verified vectors in
//! `tests/fixtures/wechatpay-kat.json` (public test keys only).

use pay_common::wechatpay::crypto::{
    self, AeadError, SignedHeaders, VerifyError, decrypt_aes_gcm_any, decrypt_resource,
    encrypt_resource, verify_signed,
};
use pay_common::wechatpay::keys::{MerchantKey, PublicKey, normalize_pem, parse_pem, pem_encode};
use pay_common::wechatpay::x509;
use pay_common::wechatpay::x509::der::{Decode, Reader};
use serde_json::Value;

fn kat() -> Value {
    serde_json::from_str(include_str!("fixtures/wechatpay-kat.json")).unwrap()
}

fn s(v: &Value, ptr: &str) -> String {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("fixture lacks {ptr}"))
        .to_string()
}

fn notification() -> (SignedHeaders, String, PublicKey, i64) {
    let k = kat();
    let h = |n: &str| s(&k, &format!("/signed_notification/headers/{n}"));
    let headers = SignedHeaders {
        timestamp: h("Wechatpay-Timestamp"),
        nonce: h("Wechatpay-Nonce"),
        signature: h("Wechatpay-Signature"),
        serial: h("Wechatpay-Serial"),
    };
    let cert_key = PublicKey::from_pem(&s(&k, "/rsa_test_key/certificate_pem")).unwrap();
    let now = headers.timestamp.parse().unwrap();
    (headers, s(&k, "/signed_notification/body"), cert_key, now)
}

fn verify_at(
    headers: &SignedHeaders,
    body: &[u8],
    key: &PublicKey,
    now: i64,
) -> Result<(), VerifyError> {
    let serial = s(&kat(), "/rsa_test_key/certificate_serial_as_sent_by_wechat");
    verify_signed(headers, body, now, |sn| (sn == serial).then_some(key))
}

#[test]
fn merchant_signature_matches_the_sdk_vector() {
    let k = kat();
    let key = MerchantKey::from_pem(&s(&k, "/rsa_test_key/private_key_pkcs8_pem")).unwrap();
    let message = s(&k, "/sign_sha256_rsa_pkcs1v15/0/message");
    assert_eq!(
        key.sign(message.as_bytes()),
        s(&k, "/sign_sha256_rsa_pkcs1v15/0/signature_base64")
    );
}

#[test]
fn signature_verifies_with_spki_and_certificate_and_derived_key() {
    let k = kat();
    let msg = s(&k, "/sign_sha256_rsa_pkcs1v15/0/message");
    let sig = s(&k, "/sign_sha256_rsa_pkcs1v15/0/signature_base64");
    let private = MerchantKey::from_pem(&s(&k, "/rsa_test_key/private_key_pkcs8_pem")).unwrap();
    for key in [
        PublicKey::from_pem(&s(&k, "/rsa_test_key/public_key_spki_pem")).unwrap(),
        PublicKey::from_pem(&s(&k, "/rsa_test_key/certificate_pem")).unwrap(),
        private.public_key(),
    ] {
        assert!(key.verify(msg.as_bytes(), &sig));
        assert!(!key.verify(b"sourcf", &sig));
    }
}

#[test]
fn certificate_serial_is_read_as_wechat_sends_it() {
    let k = kat();
    let pem = parse_pem(&s(&k, "/rsa_test_key/certificate_pem"), "certificate").unwrap();
    let info = x509::parse_certificate(&pem.der).unwrap();
    assert_eq!(
        info.serial_hex,
        s(&k, "/rsa_test_key/certificate_serial_as_sent_by_wechat")
    );
}

#[test]
fn signed_notification_verifies_at_its_own_time_and_within_300_seconds() {
    let (headers, body, key, now) = notification();
    for skew in [0, 300, -300] {
        assert_eq!(
            verify_at(&headers, body.as_bytes(), &key, now + skew),
            Ok(()),
            "skew {skew}"
        );
    }
}

#[test]
fn notification_301_seconds_off_is_rejected() {
    let (headers, body, key, now) = notification();
    assert_eq!(
        verify_at(&headers, body.as_bytes(), &key, now + 301),
        Err(VerifyError::Expired(301))
    );
    assert_eq!(
        verify_at(&headers, body.as_bytes(), &key, now - 301),
        Err(VerifyError::Expired(-301))
    );
}

#[test]
fn notification_with_unknown_serial_is_rejected() {
    let (mut headers, body, key, now) = notification();
    headers.serial = "PUB_KEY_ID_0000000000000000000000000001".into();
    assert!(matches!(
        verify_at(&headers, body.as_bytes(), &key, now),
        Err(VerifyError::UnknownSerial(_))
    ));
}

#[test]
fn notification_with_one_byte_changed_or_extra_space_is_rejected() {
    let (headers, body, key, now) = notification();
    let changed = body.replacen("签约成功", "签约失败", 1);
    assert_eq!(
        verify_at(&headers, changed.as_bytes(), &key, now),
        Err(VerifyError::BadSignature)
    );
    let spaced = body.replacen("{\"id\"", "{ \"id\"", 1);
    assert_eq!(
        verify_at(&headers, spaced.as_bytes(), &key, now),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn signtest_probe_and_garbage_signatures_fail_cleanly() {
    let (mut headers, body, key, now) = notification();
    headers.signature = "WECHATPAY/SIGNTEST/aGVsbG8=".into();
    assert_eq!(
        verify_at(&headers, body.as_bytes(), &key, now),
        Err(VerifyError::SignTestProbe)
    );
    for garbage in ["%%%", "", "AAAA", "WECHATPAY/SIGNTEST"] {
        headers.signature = garbage.into();
        assert!(
            verify_at(&headers, body.as_bytes(), &key, now).is_err(),
            "{garbage:?}"
        );
    }
}

#[test]
fn missing_headers_are_named() {
    let (mut headers, body, key, now) = notification();
    headers.nonce.clear();
    assert_eq!(
        verify_at(&headers, body.as_bytes(), &key, now),
        Err(VerifyError::MissingHeader(crypto::HEADER_NONCE))
    );
}

#[test]
fn empty_body_204_signature_verifies() {
    let key = MerchantKey::generate();
    let sig = key.sign(&crypto::response_message("1700000000", "nonce", b""));
    let headers = SignedHeaders {
        timestamp: "1700000000".into(),
        nonce: "nonce".into(),
        signature: sig,
        serial: "PUB_KEY_ID_1".into(),
    };
    let public = key.public_key();
    assert_eq!(
        verify_signed(&headers, b"", 1_700_000_010, |_| Some(&public)),
        Ok(())
    );
    assert!(verify_signed(&headers, b"{}", 1_700_000_010, |_| Some(&public)).is_err());
}

#[test]
fn notification_resource_with_16_byte_key_is_refused_with_a_clear_error() {
    let k = kat();
    let body: Value = serde_json::from_str(&s(&k, "/signed_notification/body")).unwrap();
    let key = s(&k, "/signed_notification/api_v3_key");
    let r = &body["resource"];
    let (nonce, aad, ct) = (
        s(r, "/nonce"),
        s(r, "/associated_data"),
        s(r, "/ciphertext"),
    );
    let err = decrypt_resource(key.as_bytes(), &nonce, &aad, &ct).unwrap_err();
    assert_eq!(err, AeadError::KeyLength(16));
    assert!(err.to_string().contains("32 bytes"));
    let plain = decrypt_aes_gcm_any(key.as_bytes(), &nonce, &aad, &ct).unwrap();
    assert_eq!(
        String::from_utf8(plain).unwrap(),
        s(&k, "/signed_notification/plaintext")
    );
}

#[test]
fn aes_256_gcm_vector_decrypts_and_rejects_bad_aad_nonce_and_tag() {
    let k = kat();
    let v = &k["aead_aes_gcm"][0];
    let key = s(v, "/key");
    let (nonce, aad, ct) = (
        s(v, "/nonce"),
        s(v, "/associated_data"),
        s(v, "/ciphertext_base64"),
    );
    assert_eq!(
        decrypt_resource(key.as_bytes(), &nonce, &aad, &ct).unwrap(),
        s(v, "/plaintext").as_bytes()
    );
    let bad_aad = s(v, "/must_fail_with/associated_data");
    assert_eq!(
        decrypt_resource(key.as_bytes(), &nonce, &bad_aad, &ct),
        Err(AeadError::Authentication)
    );
    let bad_nonce = s(v, "/must_fail_with/nonce");
    assert!(decrypt_resource(key.as_bytes(), &bad_nonce, &aad, &ct).is_err());
    let mut raw = base64_decode(&ct);
    *raw.last_mut().unwrap() ^= 1;
    let flipped = crypto::base64_encode(&raw);
    assert_eq!(
        decrypt_resource(key.as_bytes(), &nonce, &aad, &flipped),
        Err(AeadError::Authentication)
    );
    assert_eq!(
        encrypt_resource(key.as_bytes(), &nonce, &aad, s(v, "/plaintext").as_bytes()).unwrap(),
        ct
    );
}

#[test]
fn aes_128_gcm_vector_decrypts_only_with_its_key() {
    let k = kat();
    let v = &k["aead_aes_gcm"][1];
    let (nonce, aad, ct) = (
        s(v, "/nonce"),
        s(v, "/associated_data"),
        s(v, "/ciphertext_base64"),
    );
    let plain = decrypt_aes_gcm_any(s(v, "/key").as_bytes(), &nonce, &aad, &ct).unwrap();
    assert_eq!(plain, s(v, "/plaintext").as_bytes());
    let wrong = s(v, "/must_fail_with/key");
    assert_eq!(
        decrypt_aes_gcm_any(wrong.as_bytes(), &nonce, &aad, &ct),
        Err(AeadError::Authentication)
    );
}

#[test]
fn oaep_round_trip_with_sha1() {
    let key = MerchantKey::generate();
    let ct = key.public_key().encrypt_oaep("张三").unwrap();
    assert_eq!(key.decrypt_oaep(&ct).unwrap(), "张三");
    assert_ne!(
        key.public_key().encrypt_oaep("张三").unwrap(),
        ct,
        "OAEP is randomised"
    );
}

#[test]
fn pem_pasted_through_forms_still_parses() {
    let k = kat();
    let pem = s(&k, "/rsa_test_key/private_key_pkcs8_pem");
    let expected = s(&k, "/sign_sha256_rsa_pkcs1v15/0/signature_base64");
    let escaped = pem.trim().replace('\n', "\\n");
    let crlf = format!("  {}  ", pem.replace('\n', "\r\n"));
    let spaces = pem.trim().replace('\n', " ");
    let bare: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    for variant in [escaped, crlf, spaces, bare] {
        let key = MerchantKey::from_pem(&variant).unwrap_or_else(|e| panic!("{e}: {variant:.40}"));
        assert_eq!(key.sign(b"source"), expected);
    }
    assert_eq!(normalize_pem("a\\nb\r\n c "), "a\nb\nc\n");
}

#[test]
fn pkcs1_private_key_is_accepted() {
    let k = kat();
    let pkcs8 = parse_pem(&s(&k, "/rsa_test_key/private_key_pkcs8_pem"), "key")
        .unwrap()
        .der;
    // PrivateKeyInfo ::= SEQUENCE { version, algorithm, privateKey OCTET STRING (PKCS#1) }
    let octets = x509::der::SliceReader::new(&pkcs8)
        .unwrap()
        .sequence(|r| {
            let _version = u8::decode(r)?;
            let _algorithm = x509::spki::AlgorithmIdentifierOwned::decode(r)?;
            x509::der::asn1::OctetString::decode(r)
        })
        .unwrap();
    let octets = octets.as_bytes();
    let pkcs1_pem = pem_encode("RSA PRIVATE KEY", octets);
    let key = MerchantKey::from_pem(&pkcs1_pem).unwrap();
    assert_eq!(
        key.sign(b"source"),
        s(&k, "/sign_sha256_rsa_pkcs1v15/0/signature_base64")
    );
}

#[test]
fn bad_keys_are_named_with_a_reason_and_no_material() {
    let k = kat();
    let pem = s(&k, "/rsa_test_key/private_key_pkcs8_pem");
    let no_end = pem.replace("-----END PRIVATE KEY-----", "");
    let cases = [
        ("", "empty"),
        ("hello world", "Base64"),
        (no_end.as_str(), "END PRIVATE KEY"),
    ];
    for (input, needle) in cases {
        let err = MerchantKey::from_pem(input).unwrap_err().to_string();
        assert!(err.starts_with("not a PEM private key: "), "{err}");
        assert!(err.contains(needle), "{err} should mention {needle}");
        assert!(!err.contains("MIIEvg"), "error leaks key material: {err}");
    }
    let public = s(&k, "/rsa_test_key/public_key_spki_pem");
    assert!(
        MerchantKey::from_pem(&public)
            .unwrap_err()
            .to_string()
            .contains("PUBLIC KEY block")
    );
    assert!(format!("{:?}", MerchantKey::from_pem(&pem).unwrap()).contains("redacted"));
}

#[test]
fn authorization_header_round_trips() {
    let header = crypto::authorization("1900007291", "n", 1554208460, "408B", "c2ln");
    assert!(header.starts_with("WECHATPAY2-SHA256-RSA2048 mchid=\"1900007291\",nonce_str=\"n\""));
    let f = crypto::parse_authorization(&header).unwrap();
    assert_eq!(
        (f.mchid.as_str(), f.timestamp.as_str(), f.signature.as_str()),
        ("1900007291", "1554208460", "c2ln")
    );
    assert!(crypto::parse_authorization("Bearer x").is_err());
    assert!(
        crypto::parse_authorization("WECHATPAY2-SHA256-RSA2048 mchid=\"1\"")
            .unwrap_err()
            .contains("nonce_str")
    );
}

#[test]
fn nonces_are_32_alphanumerics_and_differ() {
    let a = crypto::random_alphanumeric(crypto::NONCE_LEN);
    let b = crypto::random_alphanumeric(crypto::NONCE_LEN);
    assert_eq!(a.len(), 32);
    assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_ne!(a, b);
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}
