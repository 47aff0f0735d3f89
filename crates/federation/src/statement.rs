//! Entity statements (OpenID Federation 1.0 §3): strict parsing of the compact JWS, its claims,
//! and verification against a given key set.
//!
//! Parsing checks shape only (`typ` = `entity-statement+jwt`, `alg` allow-list, `kid`
//! required, claim types, `crit`); [`EntityStatement::verify`] checks the signature and
//! [`EntityStatement::check_time`] `iat`/`exp`. The trust chain decides *which* keys must sign.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use tessera_jose::{Alg, JoseError, JwkSet, Jws, Limits};

use crate::FederationError;

/// `typ` of entity statements.
pub const ENTITY_STATEMENT_TYP: &str = "entity-statement+jwt";
/// Default bound on one statement's compact size.
pub const MAX_STATEMENT_LEN: usize = 64 * 1024;
/// Largest `authority_hints` list read.
pub const MAX_AUTHORITY_HINTS: usize = 16;
/// Largest `trust_marks` list read.
pub const MAX_TRUST_MARKS: usize = 32;

/// The JWS limits of federation JWTs: ES256/ES384/RS256, `kid` required.
pub fn limits(max_len: usize) -> Limits {
    Limits {
        max_token_len: max_len,
        algs: Alg::CLIENT.to_vec(),
        require_kid: true,
        ..Limits::ticket()
    }
}

/// A reference to a trust mark inside an entity configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustMarkRef {
    /// `trust_mark_type`.
    pub trust_mark_type: String,
    /// The compact trust mark JWT.
    pub trust_mark: String,
}

/// One `trust_mark_owners` entry (§7.2): the owner's entity ID and its JWK Set.
#[derive(Debug, Clone)]
pub struct TrustMarkOwner {
    /// `sub`: the owner's entity ID (the `iss` of its delegations).
    pub sub: String,
    /// `jwks`: the keys that verify its delegations.
    pub jwks: JwkSet,
}

/// Most `trust_mark_owners` entries read.
pub const MAX_TRUST_MARK_OWNERS: usize = 64;

/// `constraints` of a subordinate statement (§6.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Constraints {
    /// `max_path_length`.
    pub max_path_length: Option<u64>,
    /// `naming_constraints.permitted`.
    pub permitted: Vec<String>,
    /// `naming_constraints.excluded`.
    pub excluded: Vec<String>,
    /// `allowed_entity_types`.
    pub allowed_entity_types: Option<Vec<String>>,
}

/// A parsed (not yet trusted) entity statement.
#[derive(Debug, Clone)]
pub struct EntityStatement {
    /// The compact form, as received.
    pub compact: String,
    /// `iss`.
    pub iss: String,
    /// `sub`.
    pub sub: String,
    /// `iat`.
    pub iat: i64,
    /// `exp`.
    pub exp: i64,
    /// `jwks`: the subject's federation keys.
    pub jwks: JwkSet,
    /// `authority_hints` (entity configurations).
    pub authority_hints: Vec<String>,
    /// `metadata`.
    pub metadata: Map<String, Value>,
    /// `metadata_policy` (subordinate statements).
    pub metadata_policy: Map<String, Value>,
    /// `metadata_policy_crit`.
    pub metadata_policy_crit: Vec<String>,
    /// `constraints`.
    pub constraints: Option<Constraints>,
    /// `trust_marks`.
    pub trust_marks: Vec<TrustMarkRef>,
    /// `trust_mark_issuers` (trust anchor configurations).
    pub trust_mark_issuers: BTreeMap<String, Vec<String>>,
    /// `trust_mark_owners` (trust anchor configurations): per trust mark type, the owner that
    /// delegates issuance, with the keys its delegations verify with (§7.2).
    pub trust_mark_owners: BTreeMap<String, TrustMarkOwner>,
    jws: Jws,
}

impl EntityStatement {
    /// Parses a compact entity statement of at most `max_len` bytes.
    pub fn parse(compact: &str, max_len: usize) -> Result<EntityStatement, FederationError> {
        let jws = tessera_jose::decode(compact, &limits(max_len))?;
        let typ = jws.header().typ.clone();
        if typ.as_deref() != Some(ENTITY_STATEMENT_TYP) {
            return Err(FederationError::WrongType {
                expected: ENTITY_STATEMENT_TYP,
                found: typ,
            });
        }
        let c = jws.claims();
        if let Some(crit) = c.get("crit") {
            let list = string_list(Some(crit), "crit", 64)?;
            if let Some(first) = list.first() {
                // `crit` may name only extension claims and we implement none: a standard
                // claim there is a defect, an unknown extension must fail closed (§3.1.1).
                return Err(FederationError::UnsupportedCritical(first.clone()));
            }
        }
        let jwks_value = c.get("jwks").ok_or(FederationError::MissingClaim("jwks"))?;
        let jwks = parse_jwks(jwks_value, "jwks")?;
        let st = EntityStatement {
            compact: compact.to_owned(),
            iss: entity_claim(c, "iss")?,
            sub: entity_claim(c, "sub")?,
            iat: int_claim(c, "iat")?,
            exp: int_claim(c, "exp")?,
            jwks,
            authority_hints: string_list(
                c.get("authority_hints"),
                "authority_hints",
                MAX_AUTHORITY_HINTS,
            )?,
            metadata: object_claim(c, "metadata")?,
            metadata_policy: object_claim(c, "metadata_policy")?,
            metadata_policy_crit: string_list(
                c.get("metadata_policy_crit"),
                "metadata_policy_crit",
                64,
            )?,
            constraints: constraints(c.get("constraints"))?,
            trust_marks: trust_marks(c.get("trust_marks"))?,
            trust_mark_issuers: trust_mark_issuers(c.get("trust_mark_issuers"))?,
            trust_mark_owners: trust_mark_owners(c.get("trust_mark_owners"))?,
            jws,
        };
        Ok(st)
    }

    /// Whether this is an entity configuration (`iss` = `sub`).
    pub fn is_configuration(&self) -> bool {
        self.iss == self.sub
    }

    /// Verifies the signature with `keys` (the header `kid` selects the key).
    pub fn verify(&self, keys: &JwkSet) -> Result<(), FederationError> {
        self.jws.verify_with_set(keys).map_err(|e| match e {
            JoseError::UnknownKid => FederationError::UnknownKid {
                iss: self.iss.clone(),
                sub: self.sub.clone(),
            },
            _ => FederationError::BadSignature {
                iss: self.iss.clone(),
                sub: self.sub.clone(),
            },
        })
    }

    /// Checks `iat` ≤ now + leeway and `exp` > now − leeway.
    pub fn check_time(&self, now: i64, leeway: i64) -> Result<(), FederationError> {
        if self.iat > now + leeway {
            return Err(FederationError::NotYetValid {
                iss: self.iss.clone(),
                sub: self.sub.clone(),
            });
        }
        if self.exp <= now - leeway {
            return Err(FederationError::Expired {
                iss: self.iss.clone(),
                sub: self.sub.clone(),
            });
        }
        Ok(())
    }

    /// The `federation_entity` metadata member `name`, if a string.
    pub fn federation_entity_str(&self, name: &str) -> Option<&str> {
        self.metadata
            .get("federation_entity")
            .and_then(|m| m.get(name))
            .and_then(Value::as_str)
    }
}

/// Parses a `jwks` claim value into a key set with at least one key.
pub fn parse_jwks(v: &Value, claim: &'static str) -> Result<JwkSet, FederationError> {
    let bytes = serde_json::to_vec(v).map_err(|e| invalid(claim, e.to_string()))?;
    let set = JwkSet::from_json(&bytes).map_err(|e| invalid(claim, e.to_string()))?;
    if set.keys.is_empty() {
        return Err(invalid(claim, "no usable key".into()));
    }
    Ok(set)
}

pub(crate) fn invalid(claim: &'static str, reason: String) -> FederationError {
    FederationError::InvalidClaim { claim, reason }
}

fn entity_claim(c: &Map<String, Value>, name: &'static str) -> Result<String, FederationError> {
    match c.get(name) {
        Some(Value::String(s)) => {
            crate::entity_id::check(s)?;
            Ok(s.clone())
        }
        Some(_) => Err(invalid(name, "not a string".into())),
        None => Err(FederationError::MissingClaim(name)),
    }
}

pub(crate) fn int_claim(
    c: &Map<String, Value>,
    name: &'static str,
) -> Result<i64, FederationError> {
    match c.get(name) {
        Some(v) => v
            .as_i64()
            .ok_or_else(|| invalid(name, "not an integer".into())),
        None => Err(FederationError::MissingClaim(name)),
    }
}

fn object_claim(
    c: &Map<String, Value>,
    name: &'static str,
) -> Result<Map<String, Value>, FederationError> {
    match c.get(name) {
        None => Ok(Map::new()),
        Some(Value::Object(m)) => {
            if m.values().any(|v| !v.is_object()) {
                return Err(invalid(name, "every member must be an object".into()));
            }
            Ok(m.clone())
        }
        Some(_) => Err(invalid(name, "not an object".into())),
    }
}

pub(crate) fn string_list(
    v: Option<&Value>,
    name: &'static str,
    max: usize,
) -> Result<Vec<String>, FederationError> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let Value::Array(items) = v else {
        return Err(invalid(name, "not an array".into()));
    };
    if items.len() > max {
        return Err(invalid(name, format!("more than {max} entries")));
    }
    items
        .iter()
        .map(|i| {
            i.as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid(name, "entry is not a string".into()))
        })
        .collect()
}

fn constraints(v: Option<&Value>) -> Result<Option<Constraints>, FederationError> {
    let Some(v) = v else { return Ok(None) };
    let Value::Object(m) = v else {
        return Err(invalid("constraints", "not an object".into()));
    };
    let max_path_length = match m.get("max_path_length") {
        None => None,
        Some(n) => Some(
            n.as_u64()
                .ok_or_else(|| invalid("constraints", "max_path_length".into()))?,
        ),
    };
    let (permitted, excluded) = match m.get("naming_constraints") {
        None => (Vec::new(), Vec::new()),
        Some(Value::Object(n)) => (
            string_list(n.get("permitted"), "constraints", 64)?,
            string_list(n.get("excluded"), "constraints", 64)?,
        ),
        Some(_) => return Err(invalid("constraints", "naming_constraints".into())),
    };
    let allowed_entity_types = match m.get("allowed_entity_types") {
        None => None,
        v => Some(string_list(v, "constraints", 64)?),
    };
    Ok(Some(Constraints {
        max_path_length,
        permitted,
        excluded,
        allowed_entity_types,
    }))
}

fn trust_marks(v: Option<&Value>) -> Result<Vec<TrustMarkRef>, FederationError> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let Value::Array(items) = v else {
        return Err(invalid("trust_marks", "not an array".into()));
    };
    if items.len() > MAX_TRUST_MARKS {
        return Err(invalid("trust_marks", "too many".into()));
    }
    items
        .iter()
        .map(|i| {
            let t = i.get("trust_mark_type").and_then(Value::as_str);
            let m = i.get("trust_mark").and_then(Value::as_str);
            match (t, m) {
                (Some(t), Some(m)) => Ok(TrustMarkRef {
                    trust_mark_type: t.to_owned(),
                    trust_mark: m.to_owned(),
                }),
                _ => Err(invalid(
                    "trust_marks",
                    "entry needs trust_mark_type and trust_mark strings".into(),
                )),
            }
        })
        .collect()
}

fn trust_mark_issuers(v: Option<&Value>) -> Result<BTreeMap<String, Vec<String>>, FederationError> {
    let Some(v) = v else {
        return Ok(BTreeMap::new());
    };
    let Value::Object(m) = v else {
        return Err(invalid("trust_mark_issuers", "not an object".into()));
    };
    m.iter()
        .map(|(k, v)| Ok((k.clone(), string_list(Some(v), "trust_mark_issuers", 64)?)))
        .collect()
}

fn trust_mark_owners(
    v: Option<&Value>,
) -> Result<BTreeMap<String, TrustMarkOwner>, FederationError> {
    let Some(v) = v else {
        return Ok(BTreeMap::new());
    };
    let Value::Object(m) = v else {
        return Err(invalid("trust_mark_owners", "not an object".into()));
    };
    if m.len() > MAX_TRUST_MARK_OWNERS {
        return Err(invalid("trust_mark_owners", "too many".into()));
    }
    m.iter()
        .map(|(t, o)| {
            let sub = match o.get("sub") {
                Some(Value::String(s)) => {
                    crate::entity_id::check(s)?;
                    s.clone()
                }
                _ => {
                    return Err(invalid(
                        "trust_mark_owners",
                        "entry needs a sub entity ID".into(),
                    ));
                }
            };
            let jwks = parse_jwks(
                o.get("jwks")
                    .ok_or(FederationError::MissingClaim("trust_mark_owners jwks"))?,
                "trust_mark_owners",
            )?;
            Ok((t.clone(), TrustMarkOwner { sub, jwks }))
        })
        .collect()
}
