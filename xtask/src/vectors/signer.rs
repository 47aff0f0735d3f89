//! Signers for the generator. ES256 uses the `p256` crate's deterministic RFC 6979 ECDSA so
//! regenerated vectors are byte-identical (aws-lc-rs ECDSA is randomized); RS256 (PKCS#1 v1.5)
//! is deterministic already and uses the product's own signer.

use anyhow::Context;
use p256::ecdsa::signature::Signer as _;
use tessera_jose::{Alg, JoseError, PrivateJwk, Signer, b64};

/// Deterministic ES256.
pub struct DeterministicEs256 {
    key: p256::ecdsa::SigningKey,
    kid: String,
}

impl DeterministicEs256 {
    /// From a private P-256 JWK.
    pub fn from_jwk(jwk: &PrivateJwk) -> anyhow::Result<DeterministicEs256> {
        let value = jwk.to_value();
        let d = value
            .get("d")
            .and_then(|d| d.as_str())
            .context("EC private key without d")?;
        let d = b64::decode(d).context("d")?;
        let key = p256::ecdsa::SigningKey::from_slice(&d).context("P-256 scalar")?;
        Ok(DeterministicEs256 {
            key,
            kid: jwk.kid().context("key without kid")?.to_owned(),
        })
    }
}

impl Signer for DeterministicEs256 {
    fn alg(&self) -> Alg {
        Alg::Es256
    }

    fn kid(&self) -> Option<&str> {
        Some(&self.kid)
    }

    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, JoseError> {
        let sig: p256::ecdsa::Signature = self.key.sign(signing_input);
        Ok(sig.to_bytes().to_vec())
    }
}

/// HMAC-SHA256 over the signing input: only to forge an `HS256` token keyed with a public
/// key (the classic algorithm-confusion attack, PT-VAL-05).
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    aws_lc_rs::hmac::sign(&key, msg).as_ref().to_vec()
}
