//! The kit's own keys: two issuer keys (ES256, and RS256 for PT-VAL-04), the client key and the
//! identity provider's key, kept in one private file so the registration at the target survives
//! kit runs.

use std::path::Path;

use serde_json::{Value, json};
use tessera_client::ClientKey;
use tessera_jose::{Alg, JwkSet, JwkSigner, PrivateJwk};

use crate::pki::UdapKeys;

/// The kit's keys.
pub struct KitKeys {
    /// The issuer's ES256 key (the baseline ticket's signer).
    pub issuer_es256: PrivateJwk,
    /// The issuer's RS256 key.
    pub issuer_rs256: PrivateJwk,
    /// The client's key (`private_key_jwt`, and the `jkt` of bound tickets).
    pub client: ClientKey,
    /// The client's second key, RS256 (PT-BIND-03: RFC 7638 thumbprints of RSA keys). Absent
    /// in key files written before the kit checked them.
    pub client_rs256: Option<ClientKey>,
    /// The identity provider's ES256 key (signs the ID tokens embedded as evidence). Absent in
    /// key files written before the kit modelled an identity provider.
    pub idp: Option<PrivateJwk>,
    /// The kit's UDAP community and client certificate (made by `init`, which knows the
    /// issuer URL the certificate's SAN lives under).
    pub udap: Option<UdapKeys>,
    /// The kit's OpenID Federation trust anchor key (its leaves' keys are made per run).
    pub federation_anchor: Option<PrivateJwk>,
}

impl std::fmt::Debug for KitKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KitKeys")
            .field("issuer_es256", &self.issuer_es256.kid())
            .field("client", &self.client.thumbprint())
            .finish_non_exhaustive()
    }
}

/// Key file problems.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The content.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

impl KitKeys {
    /// Fresh keys.
    pub fn generate() -> Result<KitKeys, String> {
        let gen_ = |alg| PrivateJwk::generate(alg).map_err(|e| format!("key generation: {e}"));
        let client = ClientKey::new(gen_(Alg::Es256)?).map_err(|e| e.to_string())?;
        Ok(KitKeys {
            issuer_es256: gen_(Alg::Es256)?,
            issuer_rs256: gen_(Alg::Rs256)?,
            client,
            client_rs256: Some(ClientKey::new(gen_(Alg::Rs256)?).map_err(|e| e.to_string())?),
            idp: Some(gen_(Alg::Es256)?),
            udap: None,
            federation_anchor: Some(gen_(Alg::Es256)?),
        })
    }

    /// Reads the private key file.
    pub fn load(path: &Path) -> Result<KitKeys, KeyError> {
        let p = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| KeyError::Io {
            path: p.clone(),
            source,
        })?;
        let invalid = |reason: String| KeyError::Invalid {
            path: p.clone(),
            reason,
        };
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
        // Members added after the first key files: absent means the kit predates them.
        let optional = |name: &str| v.get(name).filter(|m| !m.is_null());
        let key = |name: &str| {
            PrivateJwk::from_value(&v[name]).map_err(|e| invalid(format!("{name}: {e}")))
        };
        Ok(KitKeys {
            issuer_es256: key("issuer_es256")?,
            issuer_rs256: key("issuer_rs256")?,
            client: ClientKey::new(key("client")?).map_err(|e| invalid(e.to_string()))?,
            client_rs256: optional("client_rs256")
                .map(|_| {
                    ClientKey::new(key("client_rs256")?)
                        .map_err(|e| invalid(format!("client_rs256: {e}")))
                })
                .transpose()?,
            idp: optional("idp").map(|_| key("idp")).transpose()?,
            federation_anchor: optional("federation_anchor")
                .map(|_| key("federation_anchor"))
                .transpose()?,
            udap: match v.get("udap") {
                None | Some(Value::Null) => None,
                Some(u) => {
                    Some(UdapKeys::from_value(u).map_err(|e| invalid(format!("udap: {e}")))?)
                }
            },
        })
    }

    /// Writes the private key file (and nothing else).
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        let mut v = json!({
            "issuer_es256": self.issuer_es256.to_value(),
            "issuer_rs256": self.issuer_rs256.to_value(),
            "client": self.client.jwk().to_value(),
        });
        if let Some(rsa) = &self.client_rs256 {
            v["client_rs256"] = rsa.jwk().to_value();
        }
        if let Some(idp) = &self.idp {
            v["idp"] = idp.to_value();
        }
        if let Some(a) = &self.federation_anchor {
            v["federation_anchor"] = a.to_value();
        }
        if let Some(u) = &self.udap {
            v["udap"] = u.to_value();
        }
        std::fs::write(path, format!("{v:#}\n")).map_err(|source| KeyError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// The issuer's public JWK Set (both keys).
    pub fn issuer_jwks(&self) -> JwkSet {
        JwkSet::new(vec![
            self.issuer_es256.public().clone(),
            self.issuer_rs256.public().clone(),
        ])
    }

    /// The client's public JWK Set (the ES256 key, then the RS256 key when there is one).
    pub fn client_jwks(&self) -> JwkSet {
        JwkSet::new(
            std::iter::once(&self.client)
                .chain(&self.client_rs256)
                .map(|k| k.jwk().public().clone())
                .collect(),
        )
    }

    /// The identity provider's public JWK Set (empty without its key).
    pub fn idp_jwks(&self) -> JwkSet {
        JwkSet::new(self.idp.iter().map(|k| k.public().clone()).collect())
    }

    /// The federation trust anchor's public JWK Set (empty without its key).
    pub fn federation_anchor_jwks(&self) -> JwkSet {
        JwkSet::new(
            self.federation_anchor
                .iter()
                .map(|k| k.public().clone())
                .collect(),
        )
    }

    /// A signer for one of the issuer keys.
    pub fn issuer_signer(&self, alg: Alg) -> Result<JwkSigner, String> {
        let key = match alg {
            Alg::Rs256 => &self.issuer_rs256,
            _ => &self.issuer_es256,
        };
        key.signer().map_err(|e| format!("issuer key: {e}"))
    }
}
