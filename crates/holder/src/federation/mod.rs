//! OpenID Federation in the Data Holder (spec-digest §8, §9; PT-TRUST-02/03): one
//! [`tessera_federation::Resolver`] per `[[trust_framework]] framework_type = "oidf"`, fetching
//! through the bounded [`Fetcher`] (URL policy, size cap, timeout, no redirects), with the
//! anchor's keys from its configured `anchor_jwks_file`.
//!
//! Ticket-issuer keys come from the resolved `metadata.smart_permission_ticket_issuer.jwks`
//! only, never from the issuer's federation keys (PT-TRUST-03).

use std::collections::HashMap;
use std::sync::Arc;

use tessera_federation::{
    FederationError, FetchFailure, FetchFuture, Resolver, ResolverLimits, StatementFetcher,
    TrustAnchor, TrustChain,
};
use tessera_jose::JwkSet;
use url::Url;

pub mod client;
pub mod participation;
pub mod well_known;

use crate::config::{OidfFrameworkConfig, TrustFrameworkConfig, TrustFrameworkKind};
use crate::trust::fetch::{FetchError, Fetcher};

/// The entity type whose `jwks` verifies Permission Tickets (spec-digest §8).
pub const TICKET_ISSUER_ENTITY_TYPE: &str = "smart_permission_ticket_issuer";
/// The entity type whose `jwks` verifies client assertions.
pub const CLIENT_ENTITY_TYPE: &str = "oauth_client";

/// The holder's fetcher as a federation statement fetcher.
#[derive(Debug, Clone)]
pub struct HttpStatementFetcher(pub Fetcher);

impl StatementFetcher for HttpStatementFetcher {
    fn fetch<'a>(&'a self, url: &'a Url) -> FetchFuture<'a> {
        Box::pin(async move {
            match self.0.get(url).await {
                Ok(f) => Ok(f.body.as_ref().clone()),
                Err(FetchError::TooLarge) => Err(FetchFailure::TooLarge),
                Err(e) => Err(FetchFailure::Other(e.to_string())),
            }
        })
    }
}

/// One configured federation.
#[derive(Debug)]
pub struct OidfFramework {
    /// The framework id (= the anchor's entity ID).
    pub id: String,
    /// Its settings.
    pub cfg: OidfFrameworkConfig,
    /// Its resolver (one anchor: this framework's).
    pub resolver: Resolver<HttpStatementFetcher>,
}

impl OidfFramework {
    /// Resolves `entity` to this anchor and checks the framework's and `extra` trust marks.
    pub async fn resolve(
        &self,
        entity: &str,
        extra_marks: &[String],
        now: i64,
    ) -> Result<TrustChain, FederationError> {
        let required = self.required_marks(extra_marks);
        self.resolver
            .resolve_with_marks(entity, &required, now)
            .await
    }

    /// Validates a `trust_chain` (leaf first) offline against this anchor, then its trust
    /// marks (a non-anchor trust mark issuer's keys are resolved: the anchor names it).
    pub async fn validate_offline(
        &self,
        chain: &[String],
        entity: &str,
        extra_marks: &[String],
        now: i64,
    ) -> Result<TrustChain, FederationError> {
        let mut c = tessera_federation::validate(
            chain,
            self.resolver.anchors(),
            &self.resolver.options(now),
        )?;
        if c.entity_id != entity {
            return Err(FederationError::WrongSubject {
                expected: entity.chars().take(256).collect(),
                found: c.entity_id.chars().take(256).collect(),
            });
        }
        let required = self.required_marks(extra_marks);
        self.resolver
            .verify_trust_marks(&mut c, &required, now)
            .await?;
        Ok(c)
    }

    fn required_marks(&self, extra: &[String]) -> Vec<String> {
        let mut r = self.cfg.required_trust_marks.clone();
        r.extend(
            extra
                .iter()
                .filter(|m| !r.contains(m))
                .cloned()
                .collect::<Vec<_>>(),
        );
        r
    }
}

/// Every configured federation, by id.
#[derive(Debug, Default)]
pub struct OidfFrameworks {
    by_id: HashMap<String, Arc<OidfFramework>>,
    participation: participation::Participation,
}

impl OidfFrameworks {
    /// Loads each OIDF framework's anchor keys; a bad file names the framework.
    pub fn from_config(
        list: &[TrustFrameworkConfig],
        fetcher: &Fetcher,
    ) -> Result<OidfFrameworks, String> {
        let mut by_id = HashMap::new();
        for tf in list {
            let TrustFrameworkKind::Oidf(cfg) = &tf.kind else {
                continue;
            };
            let bytes = std::fs::read(&cfg.anchor_jwks_file).map_err(|e| {
                format!(
                    "trust framework {}: cannot read {}: {e}",
                    tf.id,
                    cfg.anchor_jwks_file.display()
                )
            })?;
            let jwks = JwkSet::from_json(&bytes)
                .map_err(|e| format!("trust framework {}: anchor JWK Set: {e}", tf.id))?;
            if jwks.keys.is_empty() {
                return Err(format!(
                    "trust framework {}: anchor JWK Set has no key",
                    tf.id
                ));
            }
            let anchor = TrustAnchor {
                entity_id: tf.id.clone(),
                jwks,
            };
            let resolver = Resolver::new(
                HttpStatementFetcher(fetcher.clone()),
                vec![anchor],
                ResolverLimits::default(),
            );
            by_id.insert(
                tf.id.clone(),
                Arc::new(OidfFramework {
                    id: tf.id.clone(),
                    cfg: cfg.clone(),
                    resolver,
                }),
            );
        }
        Ok(OidfFrameworks {
            by_id,
            participation: participation::Participation::default(),
        })
    }

    /// Every federation (deterministic order: by id).
    pub fn all(&self) -> Vec<&Arc<OidfFramework>> {
        let mut v: Vec<&Arc<OidfFramework>> = self.by_id.values().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// Our own verified participation in these federations (cached).
    pub fn participation(&self) -> &participation::Participation {
        &self.participation
    }

    /// The federation with this id.
    pub fn get(&self, id: &str) -> Option<&Arc<OidfFramework>> {
        self.by_id.get(id)
    }
}

/// Ticket-issuer keys of `iss` through federation `f`: the resolved
/// `metadata.smart_permission_ticket_issuer.jwks`, never the federation `jwks` (PT-TRUST-03).
pub async fn ticket_issuer_keys(
    f: &OidfFramework,
    iss: &str,
    required_trust_marks: &[String],
    now: i64,
) -> Result<JwkSet, FederationError> {
    let chain = f.resolve(iss, required_trust_marks, now).await?;
    chain.metadata_jwks(TICKET_ISSUER_ENTITY_TYPE)
}
