//! The verification record (spec-digest §17, PT-ISS-06): what the minting caller verified
//! before asking for a ticket, sent as the mint request's `verification` member, checked here
//! and kept with the issuance record by `jti` (`GET [iss]/tickets/{jti}`). It is never a ticket
//! claim.
//!
//! Every ticket type needs one, naming at least the facts that type attests:
//!
//! | type              | facts that must be verified |
//! |-------------------|-----------------------------|
//! | self access       | `identity` (the patient)    |
//! | delegated access  | `identity`, `authority` (the delegate's) |
//! | payer claims      | `legal_basis` (the claim under adjudication) |
//! | quality gap       | `legal_basis` (attribution to the measure) |
//! | public health     | `legal_basis` (the reportable case) |

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tessera_ticket::TicketType;

use crate::error::IssueError;

/// Longest free-text member accepted.
pub const MAX_TEXT: usize = 1024;
/// Most evidence references per record.
pub const MAX_EVIDENCE: usize = 32;
/// How old a verification may be when the ticket is minted (a year: standing authorizations
/// are re-verified at least that often).
pub const MAX_AGE: i64 = 365 * 86_400;

/// A fact an issuer attests in a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fact {
    /// The patient's (or the requester's) identity.
    Identity,
    /// A delegate's authority to act for the patient.
    Authority,
    /// The legal basis of the disclosure (claim, attribution, reportable case).
    LegalBasis,
    /// The requested access is appropriate for the purpose (minimum necessary).
    ScopeAppropriateness,
    /// Re-disclosure of identity evidence the client obtained was authorized (PT-EVID-15).
    EvidenceRedisclosure,
}

/// One supporting document or check, by reference (the document stays where it is kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRef {
    /// Kind, e.g. `drivers_license`, `power_of_attorney`, `claim`, `lab_report`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Where it is kept (document id, case number, URL).
    pub reference: String,
}

/// What was verified, by whom, how and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationRecord {
    /// The facts verified.
    pub facts: Vec<Fact>,
    /// How (e.g. `in-person photo ID check`, `NIST IAL2 remote proofing`).
    pub method: String,
    /// Who verified (staff member or system).
    pub verified_by: String,
    /// When (NumericDate); not in the future, at most [`MAX_AGE`] old.
    pub verified_at: i64,
    /// Supporting documents.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceRef>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The facts a type's tickets attest, which its verification record must name.
pub fn required_facts(t: TicketType) -> &'static [Fact] {
    match t {
        TicketType::SelfAccess => &[Fact::Identity],
        TicketType::DelegatedAccess => &[Fact::Identity, Fact::Authority],
        TicketType::PayerClaims | TicketType::QualityGap | TicketType::PublicHealth => {
            &[Fact::LegalBasis]
        }
    }
}

/// Parses and checks the request's `verification` member for a ticket of type `t`.
/// `extra` are facts this particular request needs besides the type's (evidence
/// re-disclosure). The clock leeway tolerates a verifier's clock slightly ahead.
pub fn check(
    value: Option<Value>,
    t: TicketType,
    extra: &[Fact],
    now: i64,
) -> Result<VerificationRecord, IssueError> {
    let bad = |why: String| IssueError::Verification(why);
    let value = value.ok_or_else(|| {
        bad(format!(
            "a `verification` record is required: which facts were verified ({}), how, by whom and when",
            names(required_facts(t))
        ))
    })?;
    let record: VerificationRecord = serde_json::from_value(value)
        .map_err(|e| bad(format!("`verification` is malformed: {e}")))?;
    for (name, text) in [
        ("method", &record.method),
        ("verified_by", &record.verified_by),
    ] {
        if text.trim().is_empty() || text.len() > MAX_TEXT {
            return Err(bad(format!(
                "`verification.{name}` must be 1 to {MAX_TEXT} characters"
            )));
        }
    }
    if record.note.as_ref().is_some_and(|n| n.len() > MAX_TEXT) {
        return Err(bad(format!(
            "`verification.note` is over {MAX_TEXT} characters"
        )));
    }
    if record.evidence.len() > MAX_EVIDENCE
        || record.evidence.iter().any(|e| {
            e.kind.is_empty()
                || e.reference.is_empty()
                || e.kind.len() + e.reference.len() > MAX_TEXT
        })
    {
        return Err(bad(format!(
            "`verification.evidence`: at most {MAX_EVIDENCE} entries with a non-empty `type` and `reference`"
        )));
    }
    if record.verified_at > now + LEEWAY {
        return Err(bad("`verification.verified_at` is in the future".into()));
    }
    if now - record.verified_at > MAX_AGE {
        return Err(bad(
            "`verification.verified_at` is more than a year old: verify again".into(),
        ));
    }
    let missing: Vec<Fact> = required_facts(t)
        .iter()
        .chain(extra)
        .copied()
        .filter(|f| !record.facts.contains(f))
        .collect();
    if !missing.is_empty() {
        return Err(bad(format!(
            "`verification.facts` must include {} for this ticket",
            names(&missing)
        )));
    }
    Ok(record)
}

/// Seconds a `verified_at` may lie ahead of our clock.
const LEEWAY: i64 = 60;

fn names(facts: &[Fact]) -> String {
    facts
        .iter()
        .map(|f| match f {
            Fact::Identity => "identity",
            Fact::Authority => "authority",
            Fact::LegalBasis => "legal_basis",
            Fact::ScopeAppropriateness => "scope_appropriateness",
            Fact::EvidenceRedisclosure => "evidence_redisclosure",
        })
        .collect::<Vec<_>>()
        .join(", ")
}
