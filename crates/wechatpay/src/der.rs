//! A minimal DER reader and writer: just enough ASN.1 to pull the public key and serial number
//! out of an X.509 certificate (platform-certificate mode), to wrap a PKCS#1 public key as
//! SubjectPublicKeyInfo, and to let the simulator mint a self-signed certificate. A full X.509
//! stack would pull in a large dependency tree for three fields.

/// DER tag of an INTEGER.
pub const TAG_INTEGER: u8 = 0x02;
/// DER tag of a BIT STRING.
pub const TAG_BIT_STRING: u8 = 0x03;
/// DER tag of a NULL.
pub const TAG_NULL: u8 = 0x05;
/// DER tag of an OBJECT IDENTIFIER.
pub const TAG_OID: u8 = 0x06;
/// DER tag of a UTF8String.
pub const TAG_UTF8_STRING: u8 = 0x0c;
/// DER tag of a UTCTime.
pub const TAG_UTC_TIME: u8 = 0x17;
/// DER tag of a SEQUENCE.
pub const TAG_SEQUENCE: u8 = 0x30;
/// DER tag of a SET.
pub const TAG_SET: u8 = 0x31;
/// Context-specific constructed tag `[0]`.
pub const TAG_CONTEXT_0: u8 = 0xa0;

/// OID 1.2.840.113549.1.1.1 (rsaEncryption), content bytes.
pub const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// OID 1.2.840.113549.1.1.11 (sha256WithRSAEncryption), content bytes.
pub const OID_SHA256_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
/// OID 2.5.4.3 (commonName), content bytes.
pub const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// One element read from a DER buffer.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    /// The identifier octet.
    pub tag: u8,
    /// The content octets.
    pub value: &'a [u8],
    /// The whole element, header included.
    pub raw: &'a [u8],
}

/// Reads one element from the front of `input`; returns it and the rest.
pub fn read_tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), &'static str> {
    let (&tag, rest) = input.split_first().ok_or("truncated DER: no tag")?;
    let (&first, rest) = rest.split_first().ok_or("truncated DER: no length")?;
    let (len, header, rest) = if first < 0x80 {
        (first as usize, 2, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return Err("unsupported DER length");
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, 2 + n, &rest[n..])
    };
    if rest.len() < len {
        return Err("truncated DER: content shorter than its length");
    }
    let raw = &input[..header + len];
    Ok((
        Tlv {
            tag,
            value: &rest[..len],
            raw,
        },
        &rest[len..],
    ))
}

/// Reads one element and checks its tag.
pub fn expect(input: &[u8], tag: u8) -> Result<(Tlv<'_>, &[u8]), &'static str> {
    let (tlv, rest) = read_tlv(input)?;
    if tlv.tag != tag {
        return Err("unexpected DER tag");
    }
    Ok((tlv, rest))
}

/// What platform-certificate mode needs from an X.509 certificate.
#[derive(Debug, Clone)]
pub struct CertificateInfo {
    /// Serial number as even-length uppercase hex of its bytes (leading zero octet dropped).
    pub serial_hex: String,
    /// The SubjectPublicKeyInfo element, DER.
    pub spki_der: Vec<u8>,
}

/// Extracts the serial number and public key from a DER X.509 certificate.
pub fn parse_certificate(der: &[u8]) -> Result<CertificateInfo, &'static str> {
    let (cert, _) = expect(der, TAG_SEQUENCE)?;
    let (tbs, _) = expect(cert.value, TAG_SEQUENCE)?;
    let mut rest = tbs.value;
    let (first, after) = read_tlv(rest)?;
    if first.tag == TAG_CONTEXT_0 {
        rest = after;
    }
    let (serial, rest) = expect(rest, TAG_INTEGER)?;
    let (_sig_alg, rest) = expect(rest, TAG_SEQUENCE)?;
    let (_issuer, rest) = expect(rest, TAG_SEQUENCE)?;
    let (_validity, rest) = expect(rest, TAG_SEQUENCE)?;
    let (_subject, rest) = expect(rest, TAG_SEQUENCE)?;
    let (spki, _) = expect(rest, TAG_SEQUENCE)?;
    let serial_bytes = match serial.value {
        [0, tail @ ..] if !tail.is_empty() => tail,
        all => all,
    };
    Ok(CertificateInfo {
        serial_hex: serial_bytes.iter().map(|b| format!("{b:02X}")).collect(),
        spki_der: spki.raw.to_vec(),
    })
}

/// Encodes one element.
pub fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
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

/// Encodes a SEQUENCE of already encoded elements.
pub fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    tlv(TAG_SEQUENCE, &parts.concat())
}

/// The AlgorithmIdentifier `{ oid, NULL }`.
pub fn algorithm(oid: &[u8]) -> Vec<u8> {
    sequence(&[&tlv(TAG_OID, oid), &tlv(TAG_NULL, &[])])
}

/// Wraps a PKCS#1 `RSAPublicKey` as an X.509 SubjectPublicKeyInfo.
pub fn rsa_spki_from_pkcs1(pkcs1: &[u8]) -> Vec<u8> {
    let mut bits = vec![0u8];
    bits.extend_from_slice(pkcs1);
    sequence(&[&algorithm(OID_RSA_ENCRYPTION), &tlv(TAG_BIT_STRING, &bits)])
}

/// Returns the PKCS#1 `RSAPublicKey` inside an RSA SubjectPublicKeyInfo.
pub fn rsa_pkcs1_from_spki(spki: &[u8]) -> Result<Vec<u8>, &'static str> {
    let (outer, _) = expect(spki, TAG_SEQUENCE)?;
    let (alg, rest) = expect(outer.value, TAG_SEQUENCE)?;
    let (oid, _) = expect(alg.value, TAG_OID)?;
    if oid.value != OID_RSA_ENCRYPTION {
        return Err("not an RSA public key");
    }
    let (bits, _) = expect(rest, TAG_BIT_STRING)?;
    match bits.value.split_first() {
        Some((0, key)) => Ok(key.to_vec()),
        _ => Err("malformed public key bit string"),
    }
}

/// Encodes a positive INTEGER from big-endian bytes.
pub fn positive_integer(bytes: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let mut value = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| *b & 0x80 != 0) {
        value.push(0);
    }
    value.extend_from_slice(&trimmed);
    tlv(TAG_INTEGER, &value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spki_round_trips_through_pkcs1() {
        let pkcs1 = sequence(&[
            &positive_integer(&[0xc1, 0x73]),
            &positive_integer(&[1, 0, 1]),
        ]);
        let spki = rsa_spki_from_pkcs1(&pkcs1);
        assert_eq!(rsa_pkcs1_from_spki(&spki).unwrap(), pkcs1);
    }

    #[test]
    fn long_lengths_encode_and_decode() {
        let value = vec![7u8; 300];
        let encoded = tlv(TAG_BIT_STRING, &value);
        assert_eq!(&encoded[..4], &[TAG_BIT_STRING, 0x82, 0x01, 0x2c]);
        let (read, rest) = read_tlv(&encoded).unwrap();
        assert_eq!(read.value, &value[..]);
        assert!(rest.is_empty());
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        assert!(read_tlv(&[0x30, 0x82, 0x01]).is_err());
        assert!(read_tlv(&[0x30, 0x05, 0x00]).is_err());
        assert!(parse_certificate(b"not der").is_err());
    }
}
