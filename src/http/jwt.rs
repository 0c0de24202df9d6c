//! CloudBase Auth access tokens (`Authorization: Bearer <JWT>`): the openid is the `provider_sub`
//! claim, `exp` is always checked. Without a configured key set (`authJwksFile`) the claims are
//! accepted as the HTTP cloud API gateway verified them (the old function's behaviour); with one,
//! the RS256/ES256 signature must verify against the key named by `kid`.

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// Why a token was refused (each variant's text names the problem).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// Not three base64url parts of JSON.
    Malformed(&'static str),
    /// `exp` is in the past (or missing).
    Expired,
    /// No `provider_sub` claim.
    NoOpenid,
    /// Signature does not verify, unknown `kid` or algorithm.
    BadSignature(&'static str),
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "the Bearer token is not a valid JWT ({why})"),
            Self::Expired => f.write_str("the Bearer token has expired (exp is in the past); sign in again to get a fresh access token"),
            Self::NoOpenid => f.write_str("the Bearer token has no provider_sub claim (the WeChat openid); sign in with the WeChat provider"),
            Self::BadSignature(why) => write!(f, "the Bearer token's signature does not verify ({why})"),
        }
    }
}

/// One verification key from a JWKS file.
#[derive(Clone)]
enum Key {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    P256(Vec<u8>),
}

/// The configured key set, by `kid`.
#[derive(Clone, Default)]
pub struct Jwks(Vec<(String, Key)>);

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| k))
            .finish()
    }
}

fn b64(v: &Value, field: &str) -> Result<Vec<u8>, String> {
    let s = v
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("a key has no {field}"))?;
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| format!("a key's {field} is not base64url"))
}

impl Jwks {
    /// Parses a JWKS document (`{"keys":[{kid,kty:"RSA",n,e} | {kid,kty:"EC",crv:"P-256",x,y}]}`).
    pub fn from_json(text: &str) -> Result<Self, String> {
        let doc: Value = serde_json::from_str(text).map_err(|_| "is not JSON".to_string())?;
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("has no \"keys\" array")?;
        let mut out = Vec::new();
        for k in keys {
            let kid = k
                .get("kid")
                .and_then(Value::as_str)
                .ok_or("a key has no kid")?
                .to_string();
            let key = match (
                k.get("kty").and_then(Value::as_str),
                k.get("crv").and_then(Value::as_str),
            ) {
                (Some("RSA"), _) => Key::Rsa {
                    n: b64(k, "n")?,
                    e: b64(k, "e")?,
                },
                (Some("EC"), Some("P-256")) => {
                    let (x, y) = (b64(k, "x")?, b64(k, "y")?);
                    if x.len() != 32 || y.len() != 32 {
                        return Err(format!("key {kid}: x and y must be 32 bytes"));
                    }
                    let mut point = vec![4u8];
                    point.extend(x);
                    point.extend(y);
                    Key::P256(point)
                }
                _ => {
                    return Err(format!(
                        "key {kid}: only RSA and EC P-256 keys are supported"
                    ));
                }
            };
            out.push((kid, key));
        }
        if out.is_empty() {
            return Err("has no keys".into());
        }
        Ok(Self(out))
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn verify(&self, header: &Value, signed: &[u8], sig: &[u8]) -> Result<(), TokenError> {
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or(TokenError::BadSignature("the header has no kid"))?;
        let key = self
            .0
            .iter()
            .find(|(k, _)| k == kid)
            .map(|(_, key)| key)
            .ok_or(TokenError::BadSignature("no configured key has this kid"))?;
        let ok = match (header.get("alg").and_then(Value::as_str), key) {
            (Some("RS256"), Key::Rsa { n, e }) => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, signed, sig)
                .is_ok(),
            (Some("ES256"), Key::P256(point)) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(signed, sig)
                    .is_ok()
            }
            _ => {
                return Err(TokenError::BadSignature(
                    "alg must be RS256 or ES256 and match the key",
                ));
            }
        };
        ok.then_some(())
            .ok_or(TokenError::BadSignature("it was not signed by the key"))
    }
}

/// Does this Bearer value look like a JWT (three dot-separated base64url parts)? A JWT is
/// identity, never an admin credential.
pub fn looks_like_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
        })
}

fn part(s: &str, what: &'static str) -> Result<Value, TokenError> {
    let raw = URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| TokenError::Malformed(what))?;
    serde_json::from_slice(&raw).map_err(|_| TokenError::Malformed(what))
}

/// Decodes a token, checks `exp` against `now` (Unix seconds) and, when `keys` is given, the
/// signature. Returns the `provider_sub` claim.
pub fn openid(token: &str, keys: Option<&Jwks>, now: i64) -> Result<String, TokenError> {
    let mut it = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(TokenError::Malformed(
            "it must have three dot-separated parts",
        ));
    };
    let header = part(h, "the header is not base64url JSON")?;
    let claims = part(p, "the payload is not base64url JSON")?;
    if let Some(keys) = keys {
        let sig = URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .map_err(|_| TokenError::Malformed("the signature is not base64url"))?;
        keys.verify(&header, format!("{h}.{p}").as_bytes(), &sig)?;
    }
    let exp = claims.get("exp").and_then(Value::as_i64);
    match exp {
        None => return Err(TokenError::Malformed("it has no numeric exp claim")),
        Some(e) if e <= now => return Err(TokenError::Expired),
        Some(_) => {}
    }
    claims
        .get("provider_sub")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or(TokenError::NoOpenid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use serde_json::json;

    fn enc(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    fn unsigned(claims: Value) -> String {
        format!("{}.{}.sig", enc(&json!({"alg":"RS256"})), enc(&claims))
    }

    fn es256(kid: &str) -> (EcdsaKeyPair, Jwks) {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref()).unwrap();
        let pt = pair.public_key().as_ref().to_vec();
        let jwks = json!({"keys":[{"kid":kid,"kty":"EC","crv":"P-256",
            "x":URL_SAFE_NO_PAD.encode(&pt[1..33]),"y":URL_SAFE_NO_PAD.encode(&pt[33..])}]});
        (pair, Jwks::from_json(&jwks.to_string()).unwrap())
    }

    fn sign(pair: &EcdsaKeyPair, kid: &str, claims: Value) -> String {
        let signed = format!(
            "{}.{}",
            enc(&json!({"alg":"ES256","kid":kid})),
            enc(&claims)
        );
        let sig = pair.sign(&SystemRandom::new(), signed.as_bytes()).unwrap();
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    #[test]
    fn unsigned_claims_give_provider_sub_and_exp_is_checked() {
        let t = unsigned(json!({"provider_sub":"oUser1","exp":200}));
        assert_eq!(openid(&t, None, 100).unwrap(), "oUser1");
        assert_eq!(openid(&t, None, 200), Err(TokenError::Expired));
        let t = unsigned(json!({"sub":"uid","exp":200}));
        assert_eq!(openid(&t, None, 100), Err(TokenError::NoOpenid));
        let t = unsigned(json!({"provider_sub":"o"}));
        assert!(matches!(openid(&t, None, 1), Err(TokenError::Malformed(_))));
        assert!(matches!(
            openid("a.b", None, 1),
            Err(TokenError::Malformed(_))
        ));
        assert!(matches!(
            openid("!!.??.x", None, 1),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn es256_signature_is_verified_by_kid() {
        let (pair, jwks) = es256("k1");
        let claims = json!({"provider_sub":"oUser1","exp":200});
        let good = sign(&pair, "k1", claims.clone());
        assert_eq!(openid(&good, Some(&jwks), 100).unwrap(), "oUser1");
        let (other, _) = es256("k1");
        let forged = sign(&other, "k1", claims.clone());
        assert!(matches!(
            openid(&forged, Some(&jwks), 100),
            Err(TokenError::BadSignature(_))
        ));
        let wrong_kid = sign(&pair, "k2", claims);
        assert!(matches!(
            openid(&wrong_kid, Some(&jwks), 100),
            Err(TokenError::BadSignature(_))
        ));
        let t = unsigned(json!({"provider_sub":"o","exp":200}));
        assert!(openid(&t, Some(&jwks), 100).is_err());
    }

    #[test]
    fn jwt_shape_is_recognised() {
        assert!(looks_like_jwt("eyJh.eyJi.c2ln"));
        assert!(!looks_like_jwt("a-long-admin-token-value"));
        assert!(!looks_like_jwt("a..b"));
        assert!(Jwks::from_json("{}").is_err());
        assert!(Jwks::from_json("{\"keys\":[]}").is_err());
        assert!(Jwks::from_json("garbage").is_err());
    }
}
