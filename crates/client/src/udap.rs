//! A UDAP client's credentials (HL7 UDAP Security IG STU 2): a community certificate chain
//! (leaf first) and its PKCS#8 key. They sign the two x5c JWTs a UDAP client sends: the
//! software statement of dynamic registration and the JWT client assertion at `/token`.
//!
//! Pure like [`crate::jwt`]: the caller brings `now` and the `jti`.

use serde_json::{Map, Value, json};
use tessera_udap::{Pkcs8Signer, inspect, parse_pem_certs, sign_x5c};

use crate::ClientError;
use crate::jwt::ASSERTION_LIFETIME;

/// Lifetime of a software statement (the IG allows at most five minutes).
pub const STATEMENT_LIFETIME: i64 = 300;

/// A certificate chain and its key.
pub struct UdapCredentials {
    chain: Vec<Vec<u8>>,
    signer: Pkcs8Signer,
    uri_sans: Vec<String>,
}

impl std::fmt::Debug for UdapCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdapCredentials")
            .field("uri_sans", &self.uri_sans)
            .finish_non_exhaustive()
    }
}

/// What a software statement registers.
#[derive(Debug, Clone)]
pub struct StatementRequest<'a> {
    /// `iss` = `sub`: a URI SAN of the certificate.
    pub iss: &'a str,
    /// `aud`: the registration endpoint URL.
    pub registration_endpoint: &'a str,
    /// `client_name`.
    pub client_name: &'a str,
    /// `scope` (space-separated), if any.
    pub scope: Option<&'a str>,
    /// `grant_types` (empty: cancel the registration).
    pub grant_types: &'a [String],
}

fn input(e: impl std::fmt::Display) -> ClientError {
    ClientError::Input(format!("UDAP credentials: {e}"))
}

impl UdapCredentials {
    /// Reads a PEM chain (leaf first) and a PEM PKCS#8 key.
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<UdapCredentials, ClientError> {
        let chain = parse_pem_certs(chain_pem).map_err(input)?;
        let leaf = chain.first().ok_or_else(|| input("the chain is empty"))?;
        let uri_sans = inspect(leaf).map_err(input)?.uri_sans;
        let signer = Pkcs8Signer::from_pem(key_pem).map_err(input)?;
        Ok(UdapCredentials {
            chain,
            signer,
            uri_sans,
        })
    }

    /// The leaf certificate's URI SANs (candidates for a statement's `iss`).
    pub fn uri_sans(&self) -> &[String] {
        &self.uri_sans
    }

    fn sign(&self, claims: Value) -> Result<String, ClientError> {
        let Value::Object(claims) = claims else {
            return Err(input("claims are not an object"));
        };
        sign_x5c(&claims, &self.chain, &self.signer).map_err(input)
    }

    /// A software statement (UDAP DCR): `iss` must be one of the leaf's URI SANs.
    pub fn software_statement(
        &self,
        req: &StatementRequest<'_>,
        now: i64,
        jti: &str,
    ) -> Result<String, ClientError> {
        if !self.uri_sans.iter().any(|s| s == req.iss) {
            return Err(input(format!(
                "iss {} is not a URI SAN of the certificate ({:?})",
                req.iss, self.uri_sans
            )));
        }
        let mut claims: Map<String, Value> = Map::new();
        for (k, v) in [
            ("iss", json!(req.iss)),
            ("sub", json!(req.iss)),
            ("aud", json!(req.registration_endpoint)),
            ("iat", json!(now)),
            ("exp", json!(now + STATEMENT_LIFETIME)),
            ("jti", json!(jti)),
            ("client_name", json!(req.client_name)),
            ("grant_types", json!(req.grant_types)),
            ("token_endpoint_auth_method", json!("private_key_jwt")),
        ] {
            claims.insert(k.into(), v);
        }
        if let Some(s) = req.scope {
            claims.insert("scope".into(), s.into());
        }
        self.sign(Value::Object(claims))
    }

    /// A UDAP JWT client assertion: `iss` = `sub` = the registered `client_id`, `aud` = the
    /// token endpoint, `x5c` = the chain.
    pub fn client_assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: i64,
        jti: &str,
    ) -> Result<String, ClientError> {
        if client_id.is_empty() || audience.is_empty() || jti.is_empty() {
            return Err(ClientError::Input(
                "client assertion needs a client id, an audience and a jti".into(),
            ));
        }
        self.sign(json!({"iss": client_id, "sub": client_id, "aud": audience,
            "iat": now, "exp": now + ASSERTION_LIFETIME, "jti": jti}))
    }
}
