//! The one error enum of the federation boundary. Each variant names the check that failed,
//! so a caller can map it onto its protocol code (`invalid_client`, `invalid_grant`) and still
//! tell the operator exactly why.

use tessera_jose::JoseError;

/// Every way federation processing can fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FederationError {
    /// Not a compact JWS we accept (size, shape, `alg` allow-list, missing `kid`).
    #[error("entity statement is not an acceptable JWS: {0}")]
    Jose(JoseError),
    /// The JWS `typ` header is not the one this kind of JWT must carry.
    #[error("wrong JWT typ: expected {expected}, found {found:?}")]
    WrongType {
        /// Required `typ`.
        expected: &'static str,
        /// What the header carried.
        found: Option<String>,
    },
    /// A required claim is absent.
    #[error("missing claim {0}")]
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type or an unacceptable value.
    #[error("invalid claim {claim}: {reason}")]
    InvalidClaim {
        /// The claim.
        claim: &'static str,
        /// Why.
        reason: String,
    },
    /// `iat` lies in the future.
    #[error("statement by {iss} about {sub} is not yet valid")]
    NotYetValid {
        /// Issuer.
        iss: String,
        /// Subject.
        sub: String,
    },
    /// `exp` has passed.
    #[error("statement by {iss} about {sub} has expired")]
    Expired {
        /// Issuer.
        iss: String,
        /// Subject.
        sub: String,
    },
    /// No key with the header `kid` among the keys that must sign it.
    #[error("statement by {iss} about {sub}: no key with its kid")]
    UnknownKid {
        /// Issuer.
        iss: String,
        /// Subject.
        sub: String,
    },
    /// The signature does not verify with the keys that must sign it.
    #[error("statement by {iss} about {sub}: signature does not verify")]
    BadSignature {
        /// Issuer.
        iss: String,
        /// Subject.
        sub: String,
    },
    /// An entity configuration whose `iss` and `sub` differ, or a subordinate statement
    /// where one is expected but `iss` = `sub`.
    #[error("statement at chain position {position} has the wrong iss/sub shape")]
    StatementShape {
        /// Index in the chain (0 = leaf).
        position: usize,
    },
    /// `ES[j].iss` ≠ `ES[j+1].sub`: the chain does not link.
    #[error("trust chain broken at position {position}")]
    ChainBroken {
        /// Index in the chain.
        position: usize,
    },
    /// The chain is empty or has no statement by the anchor.
    #[error("trust chain too short")]
    ChainTooShort,
    /// The chain ends at an entity that is not a configured trust anchor.
    #[error("trust chain ends at {0}, which is not a configured trust anchor")]
    UnknownAnchor(String),
    /// The chain's leaf is not the expected entity.
    #[error("trust chain is about {found}, not {expected}")]
    WrongSubject {
        /// Expected entity.
        expected: String,
        /// The chain's leaf.
        found: String,
    },
    /// More intermediates than a superior's `max_path_length` allows.
    #[error("{set_by} allows at most {allowed} intermediates, the chain has {actual}")]
    MaxPathLength {
        /// The entity whose constraint failed.
        set_by: String,
        /// `max_path_length`.
        allowed: u64,
        /// Intermediates below it.
        actual: u64,
    },
    /// An entity ID outside a superior's `naming_constraints`.
    #[error("{entity} violates the naming constraints of {set_by}")]
    NamingConstraint {
        /// The entity whose constraint failed.
        set_by: String,
        /// The entity ID outside it.
        entity: String,
    },
    /// `crit` names a claim we do not understand (fail closed).
    #[error("unsupported critical claim {0}")]
    UnsupportedCritical(String),
    /// `metadata_policy_crit` names an operator we do not implement (fail closed).
    #[error("unsupported critical metadata policy operator {0}")]
    UnsupportedPolicyOperator(String),
    /// A policy is malformed (operator value of the wrong type, disallowed combination).
    #[error("invalid metadata policy for {entity_type}.{parameter}: {reason}")]
    PolicyInvalid {
        /// Entity type (`oauth_client`, …).
        entity_type: String,
        /// Metadata parameter.
        parameter: String,
        /// Why.
        reason: String,
    },
    /// Two statements' policies cannot be merged.
    #[error("conflicting metadata policies for {entity_type}.{parameter}: {operator}")]
    PolicyConflict {
        /// Entity type.
        entity_type: String,
        /// Metadata parameter.
        parameter: String,
        /// The operator that conflicts.
        operator: &'static str,
    },
    /// The metadata does not satisfy the resolved policy.
    #[error("metadata {entity_type}.{parameter} violates policy operator {operator}")]
    PolicyViolation {
        /// Entity type.
        entity_type: String,
        /// Metadata parameter.
        parameter: String,
        /// The failing operator.
        operator: &'static str,
    },
    /// A required trust mark is absent or none of its instances verified.
    #[error("required trust mark {0} missing or invalid")]
    MissingTrustMark(String),
    /// A trust mark failed verification.
    #[error("trust mark {trust_mark_type}: {reason}")]
    TrustMarkInvalid {
        /// Its type.
        trust_mark_type: String,
        /// Why.
        reason: String,
    },
    /// A fetch failed (the fetcher's message).
    #[error("fetching {url} failed: {reason}")]
    Fetch {
        /// URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A fetched statement exceeds the size bound.
    #[error("statement from {0} exceeds the size bound")]
    TooLarge(String),
    /// Resolution would exceed the depth bound.
    #[error("no trust chain within {0} statements of depth")]
    TooDeep(usize),
    /// Resolution would fetch more statements than the bound.
    #[error("trust chain resolution exceeded {0} statements")]
    TooManyStatements(usize),
    /// No `authority_hints` path reaches a configured anchor.
    #[error("no trust chain from {entity} to a configured anchor: {reason}")]
    NoPathToAnchor {
        /// The entity.
        entity: String,
        /// The last failure met on the way.
        reason: String,
    },
    /// An identifier is not an acceptable entity ID (https URL, no query or fragment).
    #[error("invalid entity identifier {0}")]
    InvalidEntityId(String),
}

impl From<JoseError> for FederationError {
    fn from(e: JoseError) -> Self {
        FederationError::Jose(e)
    }
}
