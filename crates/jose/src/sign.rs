//! Signing: the [`Signer`] trait (so an HSM or KMS can plug in) and its in-memory
//! implementation over a private JWK.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{EcdsaKeyPair, RSA_PKCS1_SHA256};

use crate::{Alg, JoseError};

/// Produces JWS signatures. Implementations own the key; callers never see it.
pub trait Signer: Send + Sync {
    /// The algorithm this signer produces (written into the JWS header).
    fn alg(&self) -> Alg;
    /// The key id written into the JWS header, if any.
    fn kid(&self) -> Option<&str>;
    /// Signs the JWS signing input, returning the raw JWS signature bytes (for ECDSA the
    /// fixed-length `r || s` form of RFC 7518 §3.4).
    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, JoseError>;
}

/// An in-memory signer built from a private JWK ([`crate::PrivateJwk::signer`]).
pub struct JwkSigner {
    pub(crate) alg: Alg,
    pub(crate) kid: Option<String>,
    pub(crate) key: SigningKey,
}

pub(crate) enum SigningKey {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

impl std::fmt::Debug for JwkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwkSigner")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Signer for JwkSigner {
    fn alg(&self) -> Alg {
        self.alg
    }

    fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, JoseError> {
        let rng = SystemRandom::new();
        match &self.key {
            SigningKey::Ec(k) => k
                .sign(&rng, signing_input)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| JoseError::Crypto("ECDSA signing failed")),
            SigningKey::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, signing_input, &mut sig)
                    .map_err(|_| JoseError::Crypto("RSA signing failed"))?;
                Ok(sig)
            }
        }
    }
}
