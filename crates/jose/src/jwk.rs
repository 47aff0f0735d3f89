//! Public JWKs and JWK Sets (RFC 7517), RFC 7638 thumbprints, and signature verification with
//! a public key.
//!
//! A [`Jwk`] only ever holds public material: parsing a private JWK through it drops the
//! private members, so a `Jwk` can be serialized and published without a second thought.

use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, RSA_PKCS1_2048_8192_SHA256,
    RsaPublicKeyComponents, UnparsedPublicKey,
};
use serde_json::{Map, Value};

use crate::{Alg, JoseError, b64, json};

/// Upper bound on the size of a JWK or JWK Set document we parse.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;
/// Upper bound on the number of keys in a set.
pub const MAX_JWKS_KEYS: usize = 100;

/// Elliptic curves we can represent (P-521 only for thumbprints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcCurve {
    /// NIST P-256.
    P256,
    /// NIST P-384.
    P384,
    /// NIST P-521.
    P521,
}

impl EcCurve {
    /// The JWK `crv` name.
    pub fn as_str(self) -> &'static str {
        match self {
            EcCurve::P256 => "P-256",
            EcCurve::P384 => "P-384",
            EcCurve::P521 => "P-521",
        }
    }

    fn parse(s: &str) -> Result<EcCurve, JoseError> {
        match s {
            "P-256" => Ok(EcCurve::P256),
            "P-384" => Ok(EcCurve::P384),
            "P-521" => Ok(EcCurve::P521),
            _ => Err(JoseError::InvalidKey("unsupported EC curve")),
        }
    }

    /// Coordinate length in bytes.
    pub fn coordinate_len(self) -> usize {
        match self {
            EcCurve::P256 => 32,
            EcCurve::P384 => 48,
            EcCurve::P521 => 66,
        }
    }
}

/// The public key material of a JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// `kty: EC`.
    Ec {
        /// Curve.
        crv: EcCurve,
        /// X coordinate (big-endian, fixed length).
        x: Vec<u8>,
        /// Y coordinate.
        y: Vec<u8>,
    },
    /// `kty: RSA`.
    Rsa {
        /// Modulus (big-endian).
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
    /// `kty: OKP` (RFC 8037); parsed for thumbprints only, never verifies (not allow-listed).
    Okp {
        /// Curve name, e.g. `Ed25519`.
        crv: String,
        /// Public key bytes.
        x: Vec<u8>,
    },
}

/// A public JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    /// The key material.
    pub key: PublicKey,
    /// Key id.
    pub kid: Option<String>,
    /// Declared algorithm; when present it must equal the JWS `alg`.
    pub alg: Option<String>,
    /// Declared use; when present it must be `sig` for verification.
    pub use_: Option<String>,
}

impl Jwk {
    /// Parses a JWK from JSON bytes (public or private; private members are dropped).
    pub fn from_json(bytes: &[u8]) -> Result<Jwk, JoseError> {
        Jwk::from_map(&parse_doc(bytes)?)
    }

    /// Parses a JWK from a JSON object (public or private; private members are dropped).
    pub fn from_value(value: &Value) -> Result<Jwk, JoseError> {
        match value {
            Value::Object(map) => Jwk::from_map(map),
            _ => Err(JoseError::InvalidKey("JWK is not an object")),
        }
    }

    pub(crate) fn from_map(map: &Map<String, Value>) -> Result<Jwk, JoseError> {
        let kty = str_member(map, "kty")?.ok_or(JoseError::InvalidKey("missing kty"))?;
        let key = match kty {
            "EC" => {
                let crv = EcCurve::parse(required(map, "crv")?)?;
                let x = b64_member(map, "x")?;
                let y = b64_member(map, "y")?;
                if x.len() != crv.coordinate_len() || y.len() != crv.coordinate_len() {
                    return Err(JoseError::InvalidKey("EC coordinate length"));
                }
                PublicKey::Ec { crv, x, y }
            }
            "RSA" => {
                let n = b64_member(map, "n")?;
                let e = b64_member(map, "e")?;
                if n.is_empty() || e.is_empty() {
                    return Err(JoseError::InvalidKey("empty RSA component"));
                }
                PublicKey::Rsa { n, e }
            }
            "OKP" => {
                let crv = required(map, "crv")?.to_owned();
                let x = b64_member(map, "x")?;
                PublicKey::Okp { crv, x }
            }
            _ => return Err(JoseError::InvalidKey("unsupported kty")),
        };
        Ok(Jwk {
            key,
            kid: str_member(map, "kid")?.map(str::to_owned),
            alg: str_member(map, "alg")?.map(str::to_owned),
            use_: str_member(map, "use")?.map(str::to_owned),
        })
    }

    /// The `kty` name.
    pub fn kty(&self) -> &'static str {
        match self.key {
            PublicKey::Ec { .. } => "EC",
            PublicKey::Rsa { .. } => "RSA",
            PublicKey::Okp { .. } => "OKP",
        }
    }

    /// The RFC 7638 SHA-256 thumbprint, base64url without padding.
    pub fn thumbprint(&self) -> String {
        // Required members only, lexicographic order, no whitespace (RFC 7638 §3.2). Values are
        // base64url or fixed curve names, so serde_json's string escaping is exact.
        let q = |s: &str| Value::String(s.to_owned()).to_string();
        let canonical = match &self.key {
            PublicKey::Ec { crv, x, y } => format!(
                r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
                q(crv.as_str()),
                q(&b64::encode(x)),
                q(&b64::encode(y))
            ),
            PublicKey::Rsa { n, e } => format!(
                r#"{{"e":{},"kty":"RSA","n":{}}}"#,
                q(&b64::encode(e)),
                q(&b64::encode(n))
            ),
            PublicKey::Okp { crv, x } => format!(
                r#"{{"crv":{},"kty":"OKP","x":{}}}"#,
                q(crv),
                q(&b64::encode(x))
            ),
        };
        b64::encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            canonical.as_bytes(),
        ))
    }

    /// The public JWK as JSON (never private members).
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("kty".into(), self.kty().into());
        match &self.key {
            PublicKey::Ec { crv, x, y } => {
                m.insert("crv".into(), crv.as_str().into());
                m.insert("x".into(), b64::encode(x).into());
                m.insert("y".into(), b64::encode(y).into());
            }
            PublicKey::Rsa { n, e } => {
                m.insert("n".into(), b64::encode(n).into());
                m.insert("e".into(), b64::encode(e).into());
            }
            PublicKey::Okp { crv, x } => {
                m.insert("crv".into(), crv.clone().into());
                m.insert("x".into(), b64::encode(x).into());
            }
        }
        if let Some(kid) = &self.kid {
            m.insert("kid".into(), kid.clone().into());
        }
        if let Some(alg) = &self.alg {
            m.insert("alg".into(), alg.clone().into());
        }
        if let Some(u) = &self.use_ {
            m.insert("use".into(), u.clone().into());
        }
        Value::Object(m)
    }

    /// Checks that this key may verify `alg`: `kty`/`crv` fit, and a declared `alg`/`use`
    /// does not conflict.
    pub fn check_alg(&self, alg: Alg) -> Result<(), JoseError> {
        let fits = matches!(
            (alg, &self.key),
            (
                Alg::Es256,
                PublicKey::Ec {
                    crv: EcCurve::P256,
                    ..
                }
            ) | (
                Alg::Es384,
                PublicKey::Ec {
                    crv: EcCurve::P384,
                    ..
                }
            ) | (Alg::Rs256, PublicKey::Rsa { .. })
        );
        if !fits {
            return Err(JoseError::KeyAlgorithmMismatch(alg.as_str()));
        }
        if self.alg.as_deref().is_some_and(|a| a != alg.as_str()) {
            return Err(JoseError::KeyAlgorithmMismatch(alg.as_str()));
        }
        if self.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err(JoseError::KeyAlgorithmMismatch(alg.as_str()));
        }
        Ok(())
    }

    /// Verifies `signature` over `message` with this key under `alg`.
    pub fn verify(&self, alg: Alg, message: &[u8], sig: &[u8]) -> Result<(), JoseError> {
        self.check_alg(alg)?;
        let ok = match (&self.key, alg) {
            (PublicKey::Ec { x, y, .. }, Alg::Es256 | Alg::Es384) => {
                let algorithm: &'static dyn signature::VerificationAlgorithm = match alg {
                    Alg::Es256 => &ECDSA_P256_SHA256_FIXED,
                    _ => &ECDSA_P384_SHA384_FIXED,
                };
                if sig.len() != 2 * x.len() {
                    return Err(JoseError::BadSignature);
                }
                let mut point = Vec::with_capacity(1 + x.len() + y.len());
                point.push(0x04);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                UnparsedPublicKey::new(algorithm, &point)
                    .verify(message, sig)
                    .is_ok()
            }
            (PublicKey::Rsa { n, e }, Alg::Rs256) => RsaPublicKeyComponents {
                n: strip_leading_zeros(n),
                e: strip_leading_zeros(e),
            }
            .verify(&RSA_PKCS1_2048_8192_SHA256, message, sig)
            .is_ok(),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(JoseError::BadSignature)
        }
    }
}

/// A JWK Set (`{"keys": [...]}`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JwkSet {
    /// The keys, in document order.
    pub keys: Vec<Jwk>,
}

impl JwkSet {
    /// A set of the given keys.
    pub fn new(keys: Vec<Jwk>) -> JwkSet {
        JwkSet { keys }
    }

    /// Parses a JWK Set document. Keys of a `kty` we do not know are skipped (RFC 7517 §5);
    /// a malformed key of a known `kty` fails the whole set.
    pub fn from_json(bytes: &[u8]) -> Result<JwkSet, JoseError> {
        JwkSet::from_map(&parse_doc(bytes)?)
    }

    /// Parses either a JWK Set or a single JWK (public or private) into a set.
    pub fn from_json_set_or_key(bytes: &[u8]) -> Result<JwkSet, JoseError> {
        let map = parse_doc(bytes)?;
        if map.contains_key("keys") {
            JwkSet::from_map(&map)
        } else {
            Ok(JwkSet::new(vec![Jwk::from_map(&map)?]))
        }
    }

    fn from_map(map: &Map<String, Value>) -> Result<JwkSet, JoseError> {
        let Some(Value::Array(entries)) = map.get("keys") else {
            return Err(JoseError::InvalidKey("JWK Set without keys array"));
        };
        if entries.len() > MAX_JWKS_KEYS {
            return Err(JoseError::InvalidKey("too many keys"));
        }
        let mut keys = Vec::with_capacity(entries.len());
        for entry in entries {
            let Value::Object(m) = entry else {
                return Err(JoseError::InvalidKey("JWK is not an object"));
            };
            if !matches!(
                m.get("kty").and_then(Value::as_str),
                Some("EC" | "RSA" | "OKP")
            ) {
                continue;
            }
            keys.push(Jwk::from_map(m)?);
        }
        Ok(JwkSet { keys })
    }

    /// The first key with this `kid`.
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid.as_deref() == Some(kid))
    }

    /// The set as JSON (public members only).
    pub fn to_value(&self) -> Value {
        serde_json::json!({ "keys": self.keys.iter().map(Jwk::to_value).collect::<Vec<_>>() })
    }
}

pub(crate) fn parse_doc(bytes: &[u8]) -> Result<Map<String, Value>, JoseError> {
    if bytes.len() > MAX_JWKS_BYTES {
        return Err(JoseError::TooLarge);
    }
    json::parse_object(bytes, 8, "JWK").map_err(|e| match e {
        JoseError::InvalidJson(_) => JoseError::InvalidKey("not a JSON object"),
        other => other,
    })
}

pub(crate) fn str_member<'a>(
    map: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, JoseError> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(JoseError::InvalidKey("member is not a string")),
    }
}

fn required<'a>(map: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, JoseError> {
    str_member(map, name)?.ok_or(JoseError::InvalidKey("missing member"))
}

pub(crate) fn b64_member(
    map: &Map<String, Value>,
    name: &'static str,
) -> Result<Vec<u8>, JoseError> {
    b64::decode(required(map, name)?).map_err(|_| JoseError::InvalidKey("member is not base64url"))
}

fn strip_leading_zeros(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|&x| x != 0)
        .unwrap_or(b.len().saturating_sub(1));
    b.get(start..).unwrap_or(b)
}
