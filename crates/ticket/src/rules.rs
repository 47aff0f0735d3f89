//! Per-type rules (ticket-types.md §2, PT-TYPE, OP-16/17): which claims each type requires or
//! forbids, the requester shape, the delegated authority code, quality-gap narrowing.
//! Step 13, plus the binding-required check of step 10.

use crate::TicketType;
use crate::claims::{Access, CodeableConcept, Requester, TicketClaims};
use crate::error::ClaimsError;
use crate::shape::scope_is_narrowed;

/// v3-RoleCode, the closed authority value set's code system.
pub const ROLE_CODE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-RoleCode";
/// The closed set of delegated-authority codes (PT-TYPE-06).
pub const AUTHORITY_CODES: [&str; 6] = [
    "DELEGATEE",
    "HPOWATT",
    "DPOWATT",
    "POWATT",
    "SPOWATT",
    "GUARD",
];

/// Step 10 (type part): self and delegated access must carry `presenter_binding`.
pub(crate) fn check_binding_required(t: TicketType, c: &TicketClaims) -> Result<(), ClaimsError> {
    if t.requires_binding() && c.presenter_binding.is_none() {
        return Err(ClaimsError::BindingRequired);
    }
    Ok(())
}

/// Step 13: the type's required and forbidden claims.
pub(crate) fn check_type_rules(
    t: TicketType,
    c: &TicketClaims,
    access: &Access,
) -> Result<(), ClaimsError> {
    check_binding_required(t, c)?;
    match t {
        TicketType::SelfAccess => {
            if c.requester.is_some() {
                return Err(ClaimsError::RequesterNotAllowed);
            }
            require_scopes(access)?;
            forbid_claim_linkage(access)
        }
        TicketType::DelegatedAccess => {
            match &c.requester {
                None => return Err(ClaimsError::Missing("requester")),
                Some(Requester::RelatedPerson(rp)) => check_authority(&rp.relationship)?,
                Some(_) => return Err(ClaimsError::InvalidRequester),
            }
            require_scopes(access)?;
            forbid_claim_linkage(access)
        }
        TicketType::PayerClaims => {
            require_organization(c)?;
            if access.claim_linkage.is_none() {
                return Err(ClaimsError::Missing("claim_linkage"));
            }
            // The spec's one explicit SHALL NOT (PT-TYPE-09); smart_scopes and
            // data_holder_filter only narrow and are enforced (OP-16).
            if access.data_period.is_some() {
                return Err(ClaimsError::ConstraintNotAllowed("data_period"));
            }
            Ok(())
        }
        TicketType::QualityGap => {
            require_organization(c)?;
            require_concept(c.measure.as_ref(), "measure")?;
            let scopes = require_scopes(access)?;
            if access.data_period.is_none() {
                return Err(ClaimsError::Missing("data_period"));
            }
            if !scopes.iter().all(|s| scope_is_narrowed(s)) {
                return Err(ClaimsError::Missing("narrowed smart_scopes"));
            }
            forbid_claim_linkage(access)
        }
        TicketType::PublicHealth => {
            require_organization(c)?;
            require_concept(c.reportable_condition.as_ref(), "reportable_condition")?;
            require_scopes(access)?;
            forbid_claim_linkage(access)
        }
    }
}

fn require_scopes(access: &Access) -> Result<&[String], ClaimsError> {
    access
        .smart_scopes
        .as_deref()
        .ok_or(ClaimsError::Missing("smart_scopes"))
}

/// `claim_linkage` is enforceable only for self-issued claims tickets (OP-16).
fn forbid_claim_linkage(access: &Access) -> Result<(), ClaimsError> {
    if access.claim_linkage.is_some() {
        return Err(ClaimsError::ConstraintNotAllowed("claim_linkage"));
    }
    Ok(())
}

fn require_organization(c: &TicketClaims) -> Result<(), ClaimsError> {
    match &c.requester {
        None => Err(ClaimsError::Missing("requester")),
        Some(Requester::Organization(_)) => Ok(()),
        Some(_) => Err(ClaimsError::InvalidRequester),
    }
}

fn require_concept(cc: Option<&CodeableConcept>, name: &'static str) -> Result<(), ClaimsError> {
    let cc = cc.ok_or(ClaimsError::Missing(name))?;
    let coded = cc
        .coding
        .iter()
        .any(|c| c.code.as_deref().is_some_and(|s| !s.is_empty()));
    let texted = cc.text.as_deref().is_some_and(|s| !s.is_empty());
    if coded || texted {
        Ok(())
    } else {
        Err(ClaimsError::Malformed(name))
    }
}

/// Exactly one coding across `relationship`, from v3-RoleCode's closed authority set.
fn check_authority(relationship: &[CodeableConcept]) -> Result<(), ClaimsError> {
    let mut codings = relationship.iter().flat_map(|cc| cc.coding.iter());
    match (codings.next(), codings.next()) {
        (Some(c), None)
            if c.system.as_deref() == Some(ROLE_CODE_SYSTEM)
                && c.code
                    .as_deref()
                    .is_some_and(|code| AUTHORITY_CODES.contains(&code)) =>
        {
            Ok(())
        }
        _ => Err(ClaimsError::InvalidAuthority),
    }
}
