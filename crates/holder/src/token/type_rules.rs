//! Type-specific processing that needs the resolved patient and local records: payer claims'
//! `claim_linkage` encounters (PT-CL-02, OP-34) and the quality-gap relationship check
//! (PT-TYPE-15, OP-35: a local Coverage or a configured contract panel).

use serde_json::Value;
use tessera_ticket::claims::{Identifier, Requester, TicketClaims};

use crate::config::ContractPanel;
use crate::state::HolderState;
use crate::subject::local_id;
use crate::token::error::TokenError;

/// Largest number of linked encounters accepted.
pub const MAX_LINKED_ENCOUNTERS: usize = 64;

/// Resolves `claim_linkage.encounter` to local Encounter ids, each of which must exist and
/// belong to the resolved patient: one of the person's records (issue 14).
pub async fn claim_encounters(
    state: &HolderState,
    claims: &TicketClaims,
    patient_records: &[String],
) -> Result<Vec<String>, TokenError> {
    let Some(linkage) = &claims.access.claim_linkage else {
        return Err(TokenError::ClaimLinkage("missing"));
    };
    if linkage.encounter.is_empty() || linkage.encounter.len() > MAX_LINKED_ENCOUNTERS {
        return Err(TokenError::ClaimLinkage("encounter count"));
    }
    let bases = &state.inner.config.base_urls;
    let mut ids = Vec::with_capacity(linkage.encounter.len());
    for r in &linkage.encounter {
        let id = r
            .reference
            .as_deref()
            .and_then(|r| local_id(r, "Encounter", bases))
            .ok_or(TokenError::ClaimLinkage(
                "not a reference to a local Encounter",
            ))?;
        ids.push(id);
    }
    // At most MAX_LINKED_ENCOUNTERS index reads, on this task (see the subject step).
    let records = state.inner.records.as_ref();
    for id in &ids {
        let enc = records
            .encounter(id)
            .await
            .map_err(TokenError::Internal)?
            .ok_or(TokenError::ClaimLinkage("unknown encounter"))?;
        let subject = enc
            .pointer("/subject/reference")
            .and_then(Value::as_str)
            .and_then(tessera_fhir::split_reference);
        if !subject.is_some_and(|(t, p)| t == "Patient" && patient_records.iter().any(|r| r == p)) {
            return Err(TokenError::ClaimLinkage("encounter of another patient"));
        }
    }
    Ok(ids)
}

/// Quality gap (OP-35): the requester's relationship with the patient is established by a
/// local Coverage of the patient, active now, whose payor is the requester (by identifier,
/// or by reference to a local Organization carrying the identifier), or else by a configured
/// contract panel of the requester (`[[policy.contract_panel]]`) listing one of the
/// patient's identifiers. The patient is the person: any of its records (issue 14). Returns
/// which one, for the audit.
pub async fn check_relationship(
    state: &HolderState,
    claims: &TicketClaims,
    patient_records: &[String],
    now: i64,
) -> Result<&'static str, TokenError> {
    let wanted: Vec<(String, String)> = match &claims.requester {
        Some(Requester::Organization(o)) => o.identifier.iter().filter_map(pair).collect(),
        _ => Vec::new(),
    };
    if wanted.is_empty() {
        return Err(TokenError::RelationshipNotEstablished);
    }
    let records = state.inner.records.as_ref();
    let panels: Vec<&ContractPanel> = state
        .inner
        .config
        .policy
        .contract_panels
        .iter()
        .filter(|p| wanted.contains(&p.payer))
        .collect();
    // A person's records and their coverages: bounded index reads, on this task.
    for patient in patient_records {
        for cov in records
            .coverages(patient)
            .await
            .map_err(TokenError::Internal)?
        {
            if !active(&cov, now) {
                continue;
            }
            for payor in cov
                .get("payor")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if payor_matches(records, payor, &wanted).await? {
                    return Ok("coverage");
                }
            }
        }
    }
    for patient in patient_records {
        if !panels.is_empty()
            && let Some(p) = records
                .patient(patient)
                .await
                .map_err(TokenError::Internal)?
        {
            let ids = identifier_pairs(p.get("identifier"));
            if panels
                .iter()
                .any(|panel| ids.iter().any(|id| panel.members.contains(id)))
            {
                return Ok("contract_panel");
            }
        }
    }
    Err(TokenError::RelationshipNotEstablished)
}

fn pair(i: &Identifier) -> Option<(String, String)> {
    Some((i.system.clone()?, i.value.clone()?))
}

fn identifier_pairs(v: Option<&Value>) -> Vec<(String, String)> {
    let one = |i: &Value| {
        Some((
            i.get("system")?.as_str()?.to_owned(),
            i.get("value")?.as_str()?.to_owned(),
        ))
    };
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(one).collect(),
        Some(obj @ Value::Object(_)) => one(obj).into_iter().collect(),
        _ => Vec::new(),
    }
}

async fn payor_matches(
    records: &dyn crate::subject::LocalRecords,
    payor: &Value,
    wanted: &[(String, String)],
) -> Result<bool, TokenError> {
    let hit = |ids: Vec<(String, String)>| ids.iter().any(|p| wanted.contains(p));
    if hit(identifier_pairs(payor.get("identifier"))) {
        return Ok(true);
    }
    let org_id = payor
        .get("reference")
        .and_then(Value::as_str)
        .and_then(tessera_fhir::split_reference)
        .filter(|(t, _)| *t == "Organization")
        .map(|(_, id)| id.to_owned());
    if let Some(id) = org_id
        && let Some(org) = records
            .organization(&id)
            .await
            .map_err(TokenError::Internal)?
    {
        return Ok(hit(identifier_pairs(org.get("identifier"))));
    }
    Ok(false)
}

/// Coverage status `active` (or absent) and `period` covering `now` (when present).
fn active(cov: &Value, now: i64) -> bool {
    if cov
        .get("status")
        .and_then(Value::as_str)
        .is_some_and(|s| s != "active")
    {
        return false;
    }
    match cov.get("period") {
        None => true,
        Some(p) => {
            let start = p.get("start").and_then(Value::as_str);
            let end = p.get("end").and_then(Value::as_str);
            match tessera_access::date::period_range(start, end) {
                Some((lo, hi)) => lo <= now && now <= hi,
                None => start.is_none() && end.is_none(),
            }
        }
    }
}
