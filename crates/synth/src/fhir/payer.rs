//! Payer-side resources: Coverage and Claim.

use serde_json::{Value, json};

use super::{coding, hl7_concept, reference};
use crate::catalog::codes::Code;

/// Coverage of the patient (self as subscriber) by a payer Organization.
pub(crate) fn coverage(
    patient_id: &str,
    patient_name: &str,
    payer_id: &str,
    payer_name: &str,
    member: (&str, &str),
    start: &str,
) -> Value {
    json!({
        "identifier": [{"type": hl7_concept("v2-0203", "MB", "Member Number"), "system": member.0, "value": member.1}],
        "status": "active",
        "type": hl7_concept("v3-ActCode", "HIP", "health insurance plan policy"),
        "subscriber": reference("Patient", patient_id, Some(patient_name)),
        "subscriberId": member.1,
        "beneficiary": reference("Patient", patient_id, Some(patient_name)),
        "relationship": hl7_concept("subscriber-relationship", "self", "Self"),
        "period": {"start": start},
        "payor": [reference("Organization", payer_id, Some(payer_name))]
    })
}

/// What a Claim refers to.
#[derive(Debug)]
pub(crate) struct ClaimParts<'a> {
    pub(crate) patient: (&'a str, &'a str),
    pub(crate) provider: (&'a str, &'a str),
    pub(crate) insurer: (&'a str, &'a str),
    pub(crate) coverage_id: &'a str,
    pub(crate) encounter_id: &'a str,
    pub(crate) practitioner_id: &'a str,
    /// Provider claim control number (X12 837 CLM01) and its system.
    pub(crate) control_number: (&'a str, &'a str),
    pub(crate) created: &'a str,
    pub(crate) service_date: &'a str,
    pub(crate) institutional: bool,
    pub(crate) service: &'a Code,
    pub(crate) charge_cents: i64,
    /// Diagnoses recorded in the encounter: Condition ids.
    pub(crate) diagnoses: &'a [String],
}

/// Claim for one encounter, as the provider submitted it.
pub(crate) fn claim(p: &ClaimParts<'_>) -> Value {
    let (claim_type, claim_display) = if p.institutional {
        ("institutional", "Institutional")
    } else {
        ("professional", "Professional")
    };
    let money = json!({"value": p.charge_cents as f64 / 100.0, "currency": "USD"});
    let diagnosis: Vec<Value> = p
        .diagnoses
        .iter()
        .enumerate()
        .map(|(n, id)| json!({"sequence": n + 1, "diagnosisReference": reference("Condition", id, None)}))
        .collect();
    let mut body = json!({
        "identifier": [{"system": p.control_number.0, "value": p.control_number.1}],
        "status": "active",
        "type": hl7_concept("claim-type", claim_type, claim_display),
        "use": "claim",
        "patient": reference("Patient", p.patient.0, Some(p.patient.1)),
        "billablePeriod": {"start": p.service_date, "end": p.service_date},
        "created": p.created,
        "insurer": reference("Organization", p.insurer.0, Some(p.insurer.1)),
        "provider": reference("Organization", p.provider.0, Some(p.provider.1)),
        "priority": hl7_concept("processpriority", "normal", "Normal"),
        "careTeam": [{"sequence": 1, "provider": reference("Practitioner", p.practitioner_id, None)}],
        "insurance": [{"sequence": 1, "focal": true, "coverage": reference("Coverage", p.coverage_id, None)}],
        "item": [{
            "sequence": 1,
            "careTeamSequence": [1],
            "productOrService": {"coding": [coding(p.service)], "text": p.service.display},
            "servicedDate": p.service_date,
            "unitPrice": money,
            "net": money,
            "encounter": [reference("Encounter", p.encounter_id, None)]
        }],
        "total": money
    });
    if !diagnosis.is_empty() {
        body["diagnosis"] = json!(diagnosis);
        body["item"][0]["diagnosisSequence"] = json!((1..=p.diagnoses.len()).collect::<Vec<_>>());
    }
    body
}
