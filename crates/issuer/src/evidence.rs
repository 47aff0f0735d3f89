//! Embedded identity evidence at minting (PT-EVID-15, PT-ISS-09): an ID token goes into a
//! ticket only when its audience shows who obtained it.
//!
//! - `aud` names one of the issuer's own OIDC client ids (`evidence_client_ids`): the issuer
//!   obtained it itself.
//! - `aud` names the authenticated minting client: client-obtained evidence, embedded only if
//!   the verification record states that its re-disclosure was authorized
//!   ([`Fact::EvidenceRedisclosure`]).
//! - anything else (another party's token, or no authenticated client to compare with) is
//!   refused. With several audiences, `azp` must name the party.
//!
//! Self-issued evidence (`iss` = this issuer) is refused: it is no independent evidence and the
//! spec asks issuers to omit it. Subject evidence must agree with `subject.patient` where both
//! state a birth date or a family name. The token's signature is the Data Holder's to verify
//! (against its own evidence-trust policy); the issuer reads the claims only to decide whether
//! to embed.

use serde_json::{Map, Value};
use tessera_jose::{Limits, decode};

use crate::error::IssueError;
use crate::issuer::Caller;
use crate::verification::Fact;

/// The evidence slots of a ticket.
const SLOTS: [&str; 2] = ["subject_identity_evidence", "requester_identity_evidence"];

/// Checks every embedded evidence token; returns the facts the verification record must then
/// also name.
pub fn check_evidence(
    payload: &Map<String, Value>,
    caller: &Caller,
    issuer: &str,
    own_client_ids: &[String],
) -> Result<Vec<Fact>, IssueError> {
    let mut extra = Vec::new();
    for slot in SLOTS {
        let Some(ev) = payload.get(slot) else {
            continue;
        };
        let bad = |why: &str| IssueError::Request(format!("`{slot}`: {why}"));
        let jwt = ev
            .get("jwt")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("an embedded ID token (`jwt`) is required"))?;
        let claims = decode(jwt, &Limits::id_token())
            .map_err(|_| bad("the ID token is not a well-formed JWS"))?
            .into_claims();
        if claims.get("iss").and_then(Value::as_str) == Some(issuer) {
            return Err(bad(
                "self-issued evidence (iss is this issuer) is no independent evidence; omit it",
            ));
        }
        match obtained_by(&claims, caller, own_client_ids) {
            Some(Obtainer::Issuer) => {}
            Some(Obtainer::Client) => {
                if !extra.contains(&Fact::EvidenceRedisclosure) {
                    extra.push(Fact::EvidenceRedisclosure);
                }
            }
            None => {
                return Err(bad(
                    "the ID token's aud (with azp) names neither this issuer's OIDC client nor \
                     the authenticated minting client",
                ));
            }
        }
        if slot == "subject_identity_evidence" && !consistent_with_subject(&claims, payload) {
            return Err(bad(
                "the ID token's birthdate or family_name contradicts subject.patient",
            ));
        }
    }
    Ok(extra)
}

enum Obtainer {
    Issuer,
    Client,
}

/// Who the token was issued to, by `aud` (and `azp` when `aud` has several values).
fn obtained_by(claims: &Map<String, Value>, caller: &Caller, own: &[String]) -> Option<Obtainer> {
    let auds: Vec<&str> = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    let party = match auds.as_slice() {
        [one] => *one,
        [] => return None,
        _ => {
            let azp = claims.get("azp").and_then(Value::as_str)?;
            if !auds.contains(&azp) {
                return None;
            }
            azp
        }
    };
    if own.iter().any(|o| o == party) {
        return Some(Obtainer::Issuer);
    }
    match caller {
        Caller::Client(id) if id == party => Some(Obtainer::Client),
        _ => None,
    }
}

fn consistent_with_subject(claims: &Map<String, Value>, payload: &Map<String, Value>) -> bool {
    let patient = payload.get("subject").and_then(|s| s.get("patient"));
    let Some(patient) = patient else {
        return true;
    };
    if let (Some(a), Some(b)) = (
        claims.get("birthdate").and_then(Value::as_str),
        patient.get("birthDate").and_then(Value::as_str),
    ) && a != b
    {
        return false;
    }
    if let Some(family) = claims.get("family_name").and_then(Value::as_str) {
        let names: Vec<&str> = patient
            .get("name")
            .and_then(Value::as_array)
            .map(|ns| {
                ns.iter()
                    .filter_map(|n| n.get("family").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default();
        if !names.is_empty() && !names.iter().any(|n| n.eq_ignore_ascii_case(family)) {
            return false;
        }
    }
    true
}
