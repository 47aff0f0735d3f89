//! Trust chain validation (§10.2): from the leaf's entity configuration, through subordinate
//! statements, to a configured trust anchor — every signature by the superior's keys, every
//! `iat`/`exp`, every superior's constraints — then the resolved metadata (§6.1.4).
//!
//! Entities are numbered from the leaf: `E0` = leaf = `ES[0].iss`; for `k ≥ 1`, `ES[k]` is
//! issued by `Ek` about `E(k-1)`, so the intermediates between `Ek` and the leaf are
//! `E1..E(k-1)`: `k − 1` of them.

use serde_json::{Map, Value};
use tessera_jose::JwkSet;

use crate::FederationError;
use crate::constraints;
use crate::policy::{self, Policy};
use crate::statement::{EntityStatement, MAX_STATEMENT_LEN};
use crate::trust_mark::{self, VerifiedTrustMark};

/// Longest chain (statements) accepted by default.
pub const DEFAULT_MAX_CHAIN_LEN: usize = 6;

/// A configured trust anchor: its entity ID and its keys, known out of band.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustAnchor {
    /// Entity ID.
    pub entity_id: String,
    /// Federation keys (configuration, not fetched).
    pub jwks: JwkSet,
}

/// Bounds and the clock of a validation.
#[derive(Debug, Clone, Copy)]
pub struct ChainOptions {
    /// Current time.
    pub now: i64,
    /// Clock leeway, seconds.
    pub leeway: i64,
    /// Largest statement, bytes.
    pub max_statement_len: usize,
    /// Most statements in a chain.
    pub max_chain_len: usize,
}

impl ChainOptions {
    /// Defaults at `now`.
    pub fn at(now: i64) -> ChainOptions {
        ChainOptions {
            now,
            leeway: 60,
            max_statement_len: MAX_STATEMENT_LEN,
            max_chain_len: DEFAULT_MAX_CHAIN_LEN,
        }
    }
}

/// A validated trust chain with its resolved metadata.
#[derive(Debug, Clone)]
pub struct TrustChain {
    /// The leaf entity ID.
    pub entity_id: String,
    /// The anchor it chains to.
    pub anchor_id: String,
    /// The statements, leaf first.
    pub statements: Vec<EntityStatement>,
    /// The leaf's metadata after the superior's overrides and the merged policy.
    pub metadata: Map<String, Value>,
    /// The merged policy that was applied.
    pub policy: Policy,
    /// Earliest `exp` of the chain: it is valid until then.
    pub exp: i64,
    /// Trust marks of the leaf that verified (see [`TrustChain::verify_trust_marks`]).
    pub trust_marks: Vec<VerifiedTrustMark>,
    /// The anchor's entity configuration, when the chain carries it.
    pub anchor_configuration: Option<EntityStatement>,
}

impl TrustChain {
    /// The leaf's federation keys as its immediate superior vouches for them. These sign
    /// federation statements only; protocol keys come from `metadata` (PT-TRUST-03).
    pub fn federation_keys(&self) -> Option<&JwkSet> {
        self.statements.get(1).map(|s| &s.jwks)
    }

    /// The resolved metadata of one entity type.
    pub fn entity_metadata(&self, entity_type: &str) -> Option<&Map<String, Value>> {
        self.metadata.get(entity_type).and_then(Value::as_object)
    }

    /// The `jwks` of one entity type's resolved metadata.
    pub fn metadata_jwks(&self, entity_type: &str) -> Result<JwkSet, FederationError> {
        let md = self
            .entity_metadata(entity_type)
            .ok_or(FederationError::MissingClaim("metadata entity type"))?;
        let v = md
            .get("jwks")
            .ok_or(FederationError::MissingClaim("metadata jwks"))?;
        crate::statement::parse_jwks(v, "metadata jwks")
    }

    /// Verifies the leaf's trust marks against the anchor configuration, keeping those that
    /// pass, then requires every type in `required`.
    pub fn verify_trust_marks(
        &mut self,
        required: &[String],
        issuer_keys: &dyn Fn(&str) -> Option<JwkSet>,
        opts: &ChainOptions,
    ) -> Result<(), FederationError> {
        let mut ok = Vec::new();
        let mut failures: Vec<FederationError> = Vec::new();
        if let (Some(anchor), Some(leaf)) = (&self.anchor_configuration, self.statements.first()) {
            for m in &leaf.trust_marks {
                let r = trust_mark::verify(
                    m,
                    &self.entity_id,
                    anchor,
                    issuer_keys,
                    opts.now,
                    opts.leeway,
                );
                match r {
                    Ok(v) => ok.push(v),
                    Err(e) => failures.push(e),
                }
            }
        }
        self.trust_marks = ok;
        trust_mark::require(required, &self.trust_marks).map_err(|missing| {
            // A mark that is present but failed says more than "missing".
            let FederationError::MissingTrustMark(t) = &missing else {
                return missing;
            };
            failures
                .into_iter()
                .find(|f| matches!(f, FederationError::TrustMarkInvalid { trust_mark_type, .. } if trust_mark_type == t))
                .unwrap_or(missing)
        })
    }
}

/// Validates a chain given leaf first (the `trust_chain` header's order, §4.3).
pub fn validate(
    compact: &[String],
    anchors: &[TrustAnchor],
    opts: &ChainOptions,
) -> Result<TrustChain, FederationError> {
    if compact.is_empty() {
        return Err(FederationError::ChainTooShort);
    }
    if compact.len() > opts.max_chain_len {
        return Err(FederationError::TooDeep(opts.max_chain_len));
    }
    let es = compact
        .iter()
        .map(|c| EntityStatement::parse(c, opts.max_statement_len))
        .collect::<Result<Vec<_>, _>>()?;
    validate_statements(es, anchors, opts)
}

/// Validates already parsed statements (leaf first).
pub fn validate_statements(
    es: Vec<EntityStatement>,
    anchors: &[TrustAnchor],
    opts: &ChainOptions,
) -> Result<TrustChain, FederationError> {
    let n = es.len();
    let (Some(leaf), Some(last)) = (es.first(), es.last()) else {
        return Err(FederationError::ChainTooShort);
    };
    if !leaf.is_configuration() {
        return Err(FederationError::StatementShape { position: 0 });
    }
    let anchor = anchors
        .iter()
        .find(|a| a.entity_id == last.iss)
        .ok_or_else(|| FederationError::UnknownAnchor(last.iss.chars().take(256).collect()))?;
    // Shape and linkage first, so a broken chain is reported as such, not as a key miss.
    for (j, s) in es.iter().enumerate() {
        let last_is_anchor_ec = j == n - 1 && s.is_configuration();
        if j > 0 && s.is_configuration() && !last_is_anchor_ec {
            return Err(FederationError::StatementShape { position: j });
        }
        if j > 0 && es.get(j - 1).is_some_and(|prev| prev.iss != s.sub) {
            return Err(FederationError::ChainBroken { position: j });
        }
    }
    for (j, s) in es.iter().enumerate() {
        s.check_time(opts.now, opts.leeway)?;
        // The key that must have signed ES[j]: the next statement's `jwks` (about ES[j].iss),
        // or, at the top, the anchor's configured keys — never the anchor's self-asserted ones.
        let keys = es.get(j + 1).map_or(&anchor.jwks, |next| &next.jwks);
        s.verify(keys)?;
    }
    // The leaf's own configuration must also verify with the keys it publishes.
    leaf.verify(&leaf.jwks)?;
    constraints::check(&es)?;
    let (metadata, policy) = resolve_metadata(&es)?;
    let exp = es.iter().map(|s| s.exp).min().unwrap_or(0);
    let anchor_configuration = es.last().filter(|s| s.is_configuration() && n > 1).cloned();
    let anchor_configuration = match (anchor_configuration, n) {
        (Some(a), _) => Some(a),
        (None, 1) => es.first().cloned(),
        (None, _) => None,
    };
    Ok(TrustChain {
        entity_id: leaf.sub.clone(),
        anchor_id: anchor.entity_id.clone(),
        statements: es,
        metadata,
        policy,
        exp,
        trust_marks: Vec::new(),
        anchor_configuration,
    })
}

/// The leaf metadata, overridden by its immediate superior's `metadata`, with the policies
/// merged from the anchor's statement down to the immediate superior's, then applied.
fn resolve_metadata(
    es: &[EntityStatement],
) -> Result<(Map<String, Value>, Policy), FederationError> {
    let mut metadata = es.first().map(|l| l.metadata.clone()).unwrap_or_default();
    let subordinates: Vec<&EntityStatement> = es
        .iter()
        .skip(1)
        .filter(|s| !s.is_configuration())
        .collect();
    if let Some(sup) = subordinates.first() {
        for (et, params) in &sup.metadata {
            let target = metadata
                .entry(et.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let (Value::Object(t), Value::Object(p)) = (target, params) {
                for (k, v) in p {
                    t.insert(k.clone(), v.clone());
                }
            }
        }
    }
    let mut merged = Policy::new();
    for s in subordinates.iter().rev() {
        let p = policy::parse(&s.metadata_policy, &s.metadata_policy_crit)?;
        merged = policy::merge(&merged, &p)?;
    }
    policy::apply(&merged, &mut metadata)?;
    constraints::filter_entity_types(es, &mut metadata);
    Ok((metadata, merged))
}
