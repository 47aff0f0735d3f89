//! Online trust chain resolution (§10.1): `{entity}/.well-known/openid-federation` →
//! `authority_hints` → each superior's `federation_fetch_endpoint?sub=…`, depth first, until a
//! configured anchor; then [`crate::chain::validate_statements`] decides.
//!
//! HTTP is the caller's: a [`StatementFetcher`] (the Data Holder's bounded fetcher, or a test
//! double serving real signed statements). Resolution is bounded by depth, fan-out per entity,
//! statement size and total statements per resolution; fetched statements are cached until
//! their own `exp`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use tessera_jose::JwkSet;
use url::Url;

use crate::FederationError;
use crate::chain::{ChainOptions, TrustAnchor, TrustChain, validate_statements};
use crate::entity_id;
use crate::statement::EntityStatement;

/// Why a fetch failed, as the fetcher reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchFailure {
    /// The body exceeded the fetcher's cap.
    TooLarge,
    /// Anything else (policy, transport, status, timeout), described.
    Other(String),
}

/// Boxed future of a fetch.
pub type FetchFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, FetchFailure>> + Send + 'a>>;

/// GETs a URL and returns the body (`application/entity-statement+jwt`).
pub trait StatementFetcher: Send + Sync {
    /// Fetches `url`.
    fn fetch<'a>(&'a self, url: &'a Url) -> FetchFuture<'a>;
}

/// Bounds of one resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolverLimits {
    /// Most statements in a chain (leaf configuration … anchor configuration).
    pub max_chain_len: usize,
    /// Most `authority_hints` followed per entity.
    pub max_fan_out: usize,
    /// Largest statement, bytes.
    pub max_statement_len: usize,
    /// Most statements fetched (or taken from the cache) per resolution.
    pub max_statements: usize,
    /// Most cached statements.
    pub max_cached: usize,
}

impl Default for ResolverLimits {
    fn default() -> Self {
        ResolverLimits {
            max_chain_len: crate::chain::DEFAULT_MAX_CHAIN_LEN,
            max_fan_out: 4,
            max_statement_len: crate::statement::MAX_STATEMENT_LEN,
            max_statements: 24,
            max_cached: 512,
        }
    }
}

/// Resolves trust chains to a fixed set of anchors.
pub struct Resolver<F> {
    fetcher: F,
    anchors: Vec<TrustAnchor>,
    limits: ResolverLimits,
    leeway: i64,
    cache: Mutex<HashMap<String, EntityStatement>>,
}

impl<F> std::fmt::Debug for Resolver<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("anchors", &self.anchors)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl<F: StatementFetcher> Resolver<F> {
    /// A resolver over `fetcher` to `anchors`.
    pub fn new(fetcher: F, anchors: Vec<TrustAnchor>, limits: ResolverLimits) -> Resolver<F> {
        Resolver {
            fetcher,
            anchors,
            limits,
            leeway: 60,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The anchors.
    pub fn anchors(&self) -> &[TrustAnchor] {
        &self.anchors
    }

    /// Validation options matching this resolver's bounds.
    pub fn options(&self, now: i64) -> ChainOptions {
        ChainOptions {
            now,
            leeway: self.leeway,
            max_statement_len: self.limits.max_statement_len,
            max_chain_len: self.limits.max_chain_len,
        }
    }

    /// Resolves and validates a trust chain for `entity` (no trust marks checked).
    pub async fn resolve(&self, entity: &str, now: i64) -> Result<TrustChain, FederationError> {
        entity_id::check(entity)?;
        let mut budget = self.limits.max_statements;
        let leaf = self.configuration(entity, now, &mut budget).await?;
        let opts = self.options(now);
        if self.anchor(entity).is_some() {
            return validate_statements(vec![leaf], &self.anchors, &opts);
        }
        let mut last_err: Option<FederationError> = None;
        let mut stack: Vec<(Vec<EntityStatement>, EntityStatement)> =
            vec![(vec![leaf.clone()], leaf)];
        while let Some((path, current)) = stack.pop() {
            let hints: Vec<&String> = current
                .authority_hints
                .iter()
                .take(self.limits.max_fan_out)
                .collect();
            let mut descend = Vec::new();
            for hint in hints {
                if hint == &current.sub || path.iter().any(|s| &s.iss == hint) {
                    continue; // a cycle
                }
                let is_anchor = self.anchor(hint).is_some();
                // path + this statement (+ the anchor's configuration) must fit the bound.
                let needed = path.len() + if is_anchor { 2 } else { 1 };
                if needed > self.limits.max_chain_len
                    || (!is_anchor && needed + 1 > self.limits.max_chain_len)
                {
                    last_err = Some(FederationError::TooDeep(self.limits.max_chain_len));
                    continue;
                }
                let step = self.step(hint, &current.sub, now, &mut budget).await;
                let (superior, statement) = match step {
                    Ok(x) => x,
                    Err(e @ FederationError::TooManyStatements(_)) => return Err(e),
                    Err(e) => {
                        last_err = Some(e);
                        continue;
                    }
                };
                let mut p = path.clone();
                p.push(statement);
                if is_anchor {
                    p.push(superior);
                    match validate_statements(p, &self.anchors, &opts) {
                        Ok(chain) => return Ok(chain),
                        Err(e) => last_err = Some(e),
                    }
                } else {
                    descend.push((p, superior));
                }
            }
            // Depth first, in hint order.
            stack.extend(descend.into_iter().rev());
        }
        Err(last_err.unwrap_or_else(|| FederationError::NoPathToAnchor {
            entity: entity.chars().take(256).collect(),
            reason: "no authority_hints".into(),
        }))
    }

    /// Resolves `entity`, verifies its trust marks (resolving each non-anchor trust mark
    /// issuer's own chain for its keys) and requires `required`.
    pub async fn resolve_with_marks(
        &self,
        entity: &str,
        required: &[String],
        now: i64,
    ) -> Result<TrustChain, FederationError> {
        let mut chain = self.resolve(entity, now).await?;
        self.verify_trust_marks(&mut chain, required, now).await?;
        Ok(chain)
    }

    /// Verifies a chain's trust marks (also for chains validated offline).
    pub async fn verify_trust_marks(
        &self,
        chain: &mut TrustChain,
        required: &[String],
        now: i64,
    ) -> Result<(), FederationError> {
        let mut keys: HashMap<String, JwkSet> = HashMap::new();
        if let (Some(anchor), Some(leaf)) = (&chain.anchor_configuration, chain.statements.first())
        {
            for m in &leaf.trust_marks {
                let allowed = anchor
                    .trust_mark_issuers
                    .get(&m.trust_mark_type)
                    .cloned()
                    .unwrap_or_default();
                for iss in allowed {
                    if iss == anchor.iss || keys.contains_key(&iss) || iss == chain.entity_id {
                        continue;
                    }
                    // Named by the anchor's configuration: resolving it is within policy.
                    if let Ok(c) = Box::pin(self.resolve(&iss, now)).await
                        && c.anchor_id == chain.anchor_id
                        && let Some(k) = c.statements.first().map(|s| s.jwks.clone())
                    {
                        keys.insert(iss, k);
                    }
                }
            }
        }
        let lookup = |iss: &str| keys.get(iss).cloned();
        chain.verify_trust_marks(required, &lookup, &self.options(now))
    }

    fn anchor(&self, id: &str) -> Option<&TrustAnchor> {
        self.anchors.iter().find(|a| a.entity_id == id)
    }

    /// The superior's configuration and its statement about `sub`.
    async fn step(
        &self,
        superior: &str,
        sub: &str,
        now: i64,
        budget: &mut usize,
    ) -> Result<(EntityStatement, EntityStatement), FederationError> {
        let sup = self.configuration(superior, now, budget).await?;
        let endpoint = sup
            .federation_entity_str("federation_fetch_endpoint")
            .ok_or_else(|| FederationError::NoPathToAnchor {
                entity: superior.chars().take(256).collect(),
                reason: "superior has no federation_fetch_endpoint".into(),
            })?
            .to_owned();
        let url = entity_id::fetch_url(&endpoint, sub)?;
        let st = self.get(&url, now, budget).await?;
        if st.iss != superior || st.sub != sub || st.is_configuration() {
            return Err(FederationError::NoPathToAnchor {
                entity: sub.chars().take(256).collect(),
                reason: format!(
                    "fetch endpoint of {superior} returned a statement about someone else"
                ),
            });
        }
        Ok((sup, st))
    }

    /// An entity's configuration, self-signed and current.
    async fn configuration(
        &self,
        id: &str,
        now: i64,
        budget: &mut usize,
    ) -> Result<EntityStatement, FederationError> {
        let url = entity_id::configuration_url(id)?;
        let ec = self.get(&url, now, budget).await?;
        if !ec.is_configuration() || ec.sub != id {
            return Err(FederationError::StatementShape { position: 0 });
        }
        ec.verify(&ec.jwks)?;
        Ok(ec)
    }

    async fn get(
        &self,
        url: &Url,
        now: i64,
        budget: &mut usize,
    ) -> Result<EntityStatement, FederationError> {
        if *budget == 0 {
            return Err(FederationError::TooManyStatements(
                self.limits.max_statements,
            ));
        }
        *budget -= 1;
        if let Some(hit) = self.cached(url.as_str(), now) {
            return Ok(hit);
        }
        let body = self.fetcher.fetch(url).await.map_err(|f| match f {
            FetchFailure::TooLarge => FederationError::TooLarge(url.to_string()),
            FetchFailure::Other(reason) => FederationError::Fetch {
                url: url.to_string(),
                reason,
            },
        })?;
        if body.len() > self.limits.max_statement_len {
            return Err(FederationError::TooLarge(url.to_string()));
        }
        let text = std::str::from_utf8(&body).map_err(|_| FederationError::Fetch {
            url: url.to_string(),
            reason: "body is not UTF-8".into(),
        })?;
        let st = EntityStatement::parse(text.trim(), self.limits.max_statement_len)?;
        st.check_time(now, self.leeway)?;
        self.store(url.as_str(), &st);
        Ok(st)
    }

    fn cached(&self, url: &str, now: i64) -> Option<EntityStatement> {
        let cache = match self.cache.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        cache.get(url).filter(|s| s.exp > now).cloned()
    }

    fn store(&self, url: &str, st: &EntityStatement) {
        let mut cache = match self.cache.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if cache.len() >= self.limits.max_cached && !cache.contains_key(url) {
            cache.clear();
        }
        cache.insert(url.to_owned(), st.clone());
    }
}
