//! A [`Signer`] over a PKCS#8 private key (PEM or DER): the key that goes with a community
//! certificate. ECDSA P-256 signs ES256, P-384 ES384, RSA RS256; which one is decided by the
//! key, so signed metadata is "RS256 or ES256 as the certificate key allows".

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
    RSA_PKCS1_SHA256,
};
use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject;
use tessera_jose::{Alg, JoseError, Signer};

use crate::UdapError;

enum Key {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// A signer holding a PKCS#8 key. `Debug` prints only the algorithm.
pub struct Pkcs8Signer {
    alg: Alg,
    key: Key,
}

impl std::fmt::Debug for Pkcs8Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs8Signer")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl Pkcs8Signer {
    /// Reads a `PRIVATE KEY` PEM block.
    pub fn from_pem(pem: &[u8]) -> Result<Pkcs8Signer, UdapError> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem)
            .map_err(|e| UdapError::malformed("PKCS#8 private key", e))?;
        Pkcs8Signer::from_der(der.secret_pkcs8_der())
    }

    /// Reads a PKCS#8 DER key.
    pub fn from_der(der: &[u8]) -> Result<Pkcs8Signer, UdapError> {
        if let Ok(k) = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der) {
            return Ok(Pkcs8Signer {
                alg: Alg::Es256,
                key: Key::Ec(k),
            });
        }
        if let Ok(k) = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, der) {
            return Ok(Pkcs8Signer {
                alg: Alg::Es384,
                key: Key::Ec(k),
            });
        }
        let k = RsaKeyPair::from_pkcs8(der)
            .map_err(|_| UdapError::malformed("PKCS#8 private key", "not EC P-256/P-384 or RSA"))?;
        Ok(Pkcs8Signer {
            alg: Alg::Rs256,
            key: Key::Rsa(k),
        })
    }
}

impl Signer for Pkcs8Signer {
    fn alg(&self) -> Alg {
        self.alg
    }

    fn kid(&self) -> Option<&str> {
        None
    }

    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, JoseError> {
        let rng = SystemRandom::new();
        match &self.key {
            Key::Ec(k) => k
                .sign(&rng, signing_input)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| JoseError::Crypto("ECDSA signing failed")),
            Key::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, signing_input, &mut sig)
                    .map_err(|_| JoseError::Crypto("RSA signing failed"))?;
                Ok(sig)
            }
        }
    }
}
