//! Private JWKs: parsing, generation (kid = RFC 7638 thumbprint) and conversion to a signer.
//!
//! RSA private keys are imported from their JWK components with aws-lc-rs
//! `KeyPair::from_components` (which validates their consistency); generated RSA keys are
//! exported by reading the PKCS#8 document aws-lc-rs produces (`der.rs`).

use aws_lc_rs::encoding::AsBigEndian;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeyPairComponents, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
    EcdsaSigningAlgorithm, KeyPair,
};
use serde_json::{Map, Value};

use crate::jwk::{EcCurve, PublicKey, b64_member};
use crate::sign::{JwkSigner, SigningKey};
use crate::{Alg, JoseError, Jwk, b64, der};

/// A private JWK. `Debug` never prints private material.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateJwk {
    public: Jwk,
    secret: Secret,
}

#[derive(Clone, PartialEq, Eq)]
enum Secret {
    Ec {
        d: Vec<u8>,
    },
    Rsa {
        d: Vec<u8>,
        p: Vec<u8>,
        q: Vec<u8>,
        dp: Vec<u8>,
        dq: Vec<u8>,
        qi: Vec<u8>,
    },
}

impl std::fmt::Debug for PrivateJwk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateJwk")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl PrivateJwk {
    /// Parses a private JWK (EC with `d`, or RSA with `d`, `p`, `q`, `dp`, `dq`, `qi`).
    pub fn from_json(bytes: &[u8]) -> Result<PrivateJwk, JoseError> {
        PrivateJwk::from_map(&crate::jwk::parse_doc(bytes)?)
    }

    /// Parses a private JWK from a JSON value.
    pub fn from_value(value: &Value) -> Result<PrivateJwk, JoseError> {
        match value {
            Value::Object(map) => PrivateJwk::from_map(map),
            _ => Err(JoseError::InvalidKey("JWK is not an object")),
        }
    }

    fn from_map(map: &Map<String, Value>) -> Result<PrivateJwk, JoseError> {
        let public = Jwk::from_map(map)?;
        let secret = match &public.key {
            PublicKey::Ec { crv, .. } => {
                let d = b64_member(map, "d")?;
                if d.len() != crv.coordinate_len() {
                    return Err(JoseError::InvalidKey("EC private key length"));
                }
                Secret::Ec { d }
            }
            PublicKey::Rsa { .. } => Secret::Rsa {
                d: b64_member(map, "d")?,
                p: b64_member(map, "p")?,
                q: b64_member(map, "q")?,
                dp: b64_member(map, "dp")?,
                dq: b64_member(map, "dq")?,
                qi: b64_member(map, "qi")?,
            },
            PublicKey::Okp { .. } => return Err(JoseError::InvalidKey("OKP signing unsupported")),
        };
        Ok(PrivateJwk { public, secret })
    }

    /// Generates a fresh key for `alg` (RS256 keys are 2048-bit) with `kid` = its RFC 7638
    /// thumbprint and `alg` set.
    pub fn generate(alg: Alg) -> Result<PrivateJwk, JoseError> {
        let fail = |_| JoseError::Crypto("key generation failed");
        let (key, secret) = match alg {
            Alg::Es256 | Alg::Es384 => {
                let (signing, crv) = ec_alg(alg);
                let pair = EcdsaKeyPair::generate(signing).map_err(fail)?;
                let d = pair.private_key().as_be_bytes().map_err(fail)?;
                let point = pair.public_key().as_ref();
                let len = crv.coordinate_len();
                let x = point.get(1..1 + len).ok_or(JoseError::Crypto("EC point"))?;
                let y = point.get(1 + len..).ok_or(JoseError::Crypto("EC point"))?;
                let key = PublicKey::Ec {
                    crv,
                    x: x.to_vec(),
                    y: y.to_vec(),
                };
                (
                    key,
                    Secret::Ec {
                        d: d.as_ref().to_vec(),
                    },
                )
            }
            Alg::Rs256 => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(fail)?;
                let pkcs8 =
                    aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'static>>::as_der(
                        &pair,
                    )
                    .map_err(fail)?;
                let c = der::rsa_from_pkcs8(pkcs8.as_ref())?;
                (
                    PublicKey::Rsa { n: c.n, e: c.e },
                    Secret::Rsa {
                        d: c.d,
                        p: c.p,
                        q: c.q,
                        dp: c.dp,
                        dq: c.dq,
                        qi: c.qi,
                    },
                )
            }
        };
        let mut public = Jwk {
            key,
            kid: None,
            alg: Some(alg.as_str().to_owned()),
            use_: None,
        };
        public.kid = Some(public.thumbprint());
        Ok(PrivateJwk { public, secret })
    }

    /// The public half.
    pub fn public(&self) -> &Jwk {
        &self.public
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.public.kid.as_deref()
    }

    /// The full private JWK as JSON (for `tessera keygen` and test fixtures only).
    pub fn to_value(&self) -> Value {
        let mut v = self.public.to_value();
        if let Value::Object(m) = &mut v {
            let mut put = |k: &str, b: &[u8]| {
                m.insert(k.to_owned(), b64::encode(b).into());
            };
            match &self.secret {
                Secret::Ec { d } => put("d", d),
                Secret::Rsa {
                    d,
                    p,
                    q,
                    dp,
                    dq,
                    qi,
                } => {
                    put("d", d);
                    put("p", p);
                    put("q", q);
                    put("dp", dp);
                    put("dq", dq);
                    put("qi", qi);
                }
            }
        }
        v
    }

    /// The algorithm this key signs with: the JWK's `alg` if declared, else the natural one
    /// for its type (EC P-256 ⇒ ES256, P-384 ⇒ ES384, RSA ⇒ RS256).
    pub fn default_alg(&self) -> Result<Alg, JoseError> {
        if let Some(a) = &self.public.alg {
            return Alg::parse(a);
        }
        match &self.public.key {
            PublicKey::Ec {
                crv: EcCurve::P256, ..
            } => Ok(Alg::Es256),
            PublicKey::Ec {
                crv: EcCurve::P384, ..
            } => Ok(Alg::Es384),
            PublicKey::Rsa { .. } => Ok(Alg::Rs256),
            _ => Err(JoseError::InvalidKey("no signing algorithm for this key")),
        }
    }

    /// An in-memory signer for this key's default algorithm.
    pub fn signer(&self) -> Result<JwkSigner, JoseError> {
        let alg = self.default_alg()?;
        self.public.check_alg(alg)?;
        let rejected = |_| JoseError::InvalidKey("private key rejected");
        let key = match (&self.public.key, &self.secret) {
            (PublicKey::Ec { x, y, .. }, Secret::Ec { d }) => {
                let mut point = vec![0x04];
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                let (signing, _) = ec_alg(alg);
                SigningKey::Ec(
                    EcdsaKeyPair::from_private_key_and_public_key(signing, d, &point)
                        .map_err(rejected)?,
                )
            }
            (
                PublicKey::Rsa { n, e },
                Secret::Rsa {
                    d,
                    p,
                    q,
                    dp,
                    dq,
                    qi,
                },
            ) => SigningKey::Rsa(
                RsaKeyPair::from_components(&KeyPairComponents {
                    public_key: PublicKeyComponents {
                        n: n.as_slice(),
                        e: e.as_slice(),
                    },
                    d: d.as_slice(),
                    p: p.as_slice(),
                    q: q.as_slice(),
                    dP: dp.as_slice(),
                    dQ: dq.as_slice(),
                    qInv: qi.as_slice(),
                })
                .map_err(rejected)?,
            ),
            _ => return Err(JoseError::InvalidKey("key type mismatch")),
        };
        Ok(JwkSigner {
            alg,
            kid: self.public.kid.clone(),
            key,
        })
    }
}

fn ec_alg(alg: Alg) -> (&'static EcdsaSigningAlgorithm, EcCurve) {
    match alg {
        Alg::Es384 => (&ECDSA_P384_SHA384_FIXED_SIGNING, EcCurve::P384),
        _ => (&ECDSA_P256_SHA256_FIXED_SIGNING, EcCurve::P256),
    }
}
