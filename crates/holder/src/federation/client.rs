//! OpenID Federation client authentication (spec-digest §9; PT-BIND-08): a client whose
//! `client_id` is its entity ID, proving itself with a `private_key_jwt` assertion verified
//! by the keys of its resolved `metadata.oauth_client.jwks` — never its federation keys.
//!
//! With a `trust_chain` JWS header the chain is validated offline against the framework's
//! anchor; without one the entity is resolved online only where the framework sets
//! `online_resolution = true`. The authenticated identity is verified, not asserted:
//! `trust_framework` = the anchor, `framework_type` = `oidf`, `entity_uri` = the entity.

use serde_json::Value;
use tessera_federation::FederationError;
use tessera_jose::{JwkSet, Jws};

use crate::config::FrameworkIdentityConfig;
use crate::federation::{CLIENT_ENTITY_TYPE, OidfFrameworks};

/// Most statements accepted in a `trust_chain` header.
pub const MAX_TRUST_CHAIN_HEADER_LEN: usize = 8;

/// A federation-verified client: its assertion keys and its identity.
#[derive(Debug, Clone)]
pub struct FederatedClient {
    /// `oauth_client.jwks` of the resolved metadata.
    pub keys: JwkSet,
    /// The verified framework identity.
    pub identity: FrameworkIdentityConfig,
}

/// Why a federation client could not be recognized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FederatedClientError {
    /// No configured federation applies (no `trust_chain` and no online resolution).
    NotFederated,
    /// The `trust_chain` header is not an array of strings within bounds.
    BadHeader,
    /// The chain or its metadata failed; the check that failed.
    Chain(FederationError),
}

/// Recognizes `client_id` through the configured federations, if any applies.
pub async fn authenticate(
    frameworks: &OidfFrameworks,
    jws: &Jws,
    client_id: &str,
    now: i64,
) -> Result<FederatedClient, FederatedClientError> {
    let header_chain = match jws.header().raw.get("trust_chain") {
        None => None,
        Some(Value::Array(items))
            if !items.is_empty() && items.len() <= MAX_TRUST_CHAIN_HEADER_LEN =>
        {
            Some(
                items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect::<Option<Vec<String>>>()
                    .ok_or(FederatedClientError::BadHeader)?,
            )
        }
        Some(_) => return Err(FederatedClientError::BadHeader),
    };
    let mut last: Option<FederationError> = None;
    for f in frameworks.all() {
        let chain = match &header_chain {
            Some(c) => f.validate_offline(c, client_id, &[], now).await,
            None if f.cfg.online_resolution => f.resolve(client_id, &[], now).await,
            None => continue,
        };
        match chain.and_then(|c| c.metadata_jwks(CLIENT_ENTITY_TYPE).map(|k| (c, k))) {
            Ok((c, keys)) => {
                return Ok(FederatedClient {
                    keys,
                    identity: FrameworkIdentityConfig {
                        trust_framework: c.anchor_id,
                        framework_type: "oidf".into(),
                        entity_uri: c.entity_id,
                    },
                });
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.map_or(
        FederatedClientError::NotFederated,
        FederatedClientError::Chain,
    ))
}
