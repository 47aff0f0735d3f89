//! Trust marks (§7): a `trust-mark+jwt` about an entity, valid only when its issuer is one the
//! trust anchor lists for that type in `trust_mark_issuers`, its signature verifies with that
//! issuer's federation keys, it has not expired, and its `sub` is the entity.
//!
//! Delegation (§7.2): when the anchor names an owner for the type in `trust_mark_owners`, the
//! mark must carry a `delegation` (`trust-mark-delegation+jwt`) signed by that owner's listed
//! keys, with `iss` = the owner, `sub` = the mark's issuer, the same `trust_mark_type`, and
//! current `iat`/`exp`. A `delegation` for a type without an owner cannot be validated and
//! fails closed.

use serde_json::Value;
use tessera_jose::JwkSet;

use crate::FederationError;
use crate::statement::{EntityStatement, TrustMarkOwner, TrustMarkRef, int_claim, limits};

/// `typ` of trust marks.
pub const TRUST_MARK_TYP: &str = "trust-mark+jwt";
/// `typ` of trust mark delegations (§7.2.1).
pub const TRUST_MARK_DELEGATION_TYP: &str = "trust-mark-delegation+jwt";
/// Largest trust mark accepted.
pub const MAX_TRUST_MARK_LEN: usize = 16 * 1024;

/// A verified trust mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTrustMark {
    /// `trust_mark_type`.
    pub trust_mark_type: String,
    /// Its issuer.
    pub iss: String,
    /// `exp`, if any.
    pub exp: Option<i64>,
}

/// Verifies one trust mark about `entity`. `anchor` is the anchor's entity configuration
/// (whose `trust_mark_issuers` decides who may issue which type); `issuer_keys` yields the
/// federation keys of a trust mark issuer (the anchor's own keys when it issues them itself).
pub fn verify(
    mark: &TrustMarkRef,
    entity: &str,
    anchor: &EntityStatement,
    issuer_keys: &dyn Fn(&str) -> Option<JwkSet>,
    now: i64,
    leeway: i64,
) -> Result<VerifiedTrustMark, FederationError> {
    let fail = |reason: &str| FederationError::TrustMarkInvalid {
        trust_mark_type: mark.trust_mark_type.chars().take(256).collect(),
        reason: reason.to_owned(),
    };
    let jws = tessera_jose::decode(&mark.trust_mark, &limits(MAX_TRUST_MARK_LEN))
        .map_err(|e| fail(&e.to_string()))?;
    if jws.header().typ.as_deref() != Some(TRUST_MARK_TYP) {
        return Err(fail("typ is not trust-mark+jwt"));
    }
    let c = jws.claims();
    let s = |n: &str| c.get(n).and_then(Value::as_str);
    let iss = s("iss").ok_or_else(|| fail("missing iss"))?;
    if s("trust_mark_type") != Some(mark.trust_mark_type.as_str()) {
        return Err(fail(
            "trust_mark_type differs from the entity configuration's",
        ));
    }
    if s("sub") != Some(entity) {
        return Err(fail("sub is not the entity"));
    }
    let allowed = anchor
        .trust_mark_issuers
        .get(&mark.trust_mark_type)
        .is_some_and(|list| list.iter().any(|i| i == iss));
    if !allowed {
        return Err(fail(
            "issuer not allowed by the trust anchor's trust_mark_issuers",
        ));
    }
    let keys = if iss == anchor.iss {
        anchor.jwks.clone()
    } else {
        issuer_keys(iss).ok_or_else(|| fail("issuer keys unavailable"))?
    };
    jws.verify_with_set(&keys)
        .map_err(|_| fail("signature does not verify"))?;
    let exp = check_times(c, now, leeway).map_err(fail)?;
    match (
        anchor.trust_mark_owners.get(&mark.trust_mark_type),
        c.get("delegation"),
    ) {
        (None, None) => {}
        (Some(owner), Some(Value::String(d))) => {
            verify_delegation(d, owner, iss, &mark.trust_mark_type, now, leeway)
                .map_err(|r| fail(&format!("delegation: {r}")))?;
        }
        (Some(_), _) => {
            return Err(fail(
                "delegation required by the trust anchor's trust_mark_owners",
            ));
        }
        (None, Some(_)) => {
            return Err(fail(
                "delegation for a trust mark type the trust anchor names no owner for",
            ));
        }
    }
    Ok(VerifiedTrustMark {
        trust_mark_type: mark.trust_mark_type.clone(),
        iss: iss.to_owned(),
        exp,
    })
}

/// `iat` not in the future, `exp` (optional) not passed; returns `exp`.
fn check_times(
    c: &serde_json::Map<String, Value>,
    now: i64,
    leeway: i64,
) -> Result<Option<i64>, &'static str> {
    let iat = int_claim(c, "iat").map_err(|_| "missing or invalid iat")?;
    if iat > now.saturating_add(leeway) {
        return Err("iat in the future");
    }
    let exp = match c.get("exp") {
        None => None,
        Some(v) => Some(v.as_i64().ok_or("exp is not an integer")?),
    };
    if exp.is_some_and(|e| e <= now.saturating_sub(leeway)) {
        return Err("expired");
    }
    Ok(exp)
}

/// Validates a trust mark delegation (§7.2.2) from `owner` to the mark issuer `mark_iss`.
pub fn verify_delegation(
    delegation: &str,
    owner: &TrustMarkOwner,
    mark_iss: &str,
    trust_mark_type: &str,
    now: i64,
    leeway: i64,
) -> Result<(), String> {
    let jws =
        tessera_jose::decode(delegation, &limits(MAX_TRUST_MARK_LEN)).map_err(|e| e.to_string())?;
    if jws.header().typ.as_deref() != Some(TRUST_MARK_DELEGATION_TYP) {
        return Err("typ is not trust-mark-delegation+jwt".into());
    }
    let c = jws.claims();
    let s = |n: &str| c.get(n).and_then(Value::as_str);
    if s("iss") != Some(owner.sub.as_str()) {
        return Err("iss is not the trust mark owner".into());
    }
    if s("sub") != Some(mark_iss) {
        return Err("sub is not the trust mark issuer".into());
    }
    if s("trust_mark_type") != Some(trust_mark_type) {
        return Err("trust_mark_type differs from the trust mark's".into());
    }
    jws.verify_with_set(&owner.jwks)
        .map_err(|_| "signature does not verify with the owner's keys".to_owned())?;
    check_times(c, now, leeway).map_err(str::to_owned)?;
    Ok(())
}

/// Checks that every type in `required` has a verified mark among `verified`.
pub fn require(required: &[String], verified: &[VerifiedTrustMark]) -> Result<(), FederationError> {
    match required
        .iter()
        .find(|r| !verified.iter().any(|v| &v.trust_mark_type == *r))
    {
        Some(missing) => Err(FederationError::MissingTrustMark(missing.clone())),
        None => Ok(()),
    }
}
