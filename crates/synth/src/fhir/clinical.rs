//! Clinical resource bodies: Encounter, Observation, Condition, MedicationRequest,
//! Immunization, AllergyIntolerance, Procedure, ServiceRequest, DiagnosticReport,
//! DocumentReference. Each returns the JSON without `resourceType`/`id`/`meta`, which the
//! [`super::Accumulator`] adds.

use serde_json::{Value, json};

use super::{coding, concept, hl7_concept, quantity, reference};
use crate::catalog::codes::{Code, ConditionSpec, MedSpec};

/// References shared by everything recorded in one encounter.
#[derive(Debug)]
pub(crate) struct Context<'a> {
    pub(crate) patient_id: &'a str,
    pub(crate) patient_name: &'a str,
    pub(crate) encounter_id: &'a str,
    pub(crate) practitioner_id: &'a str,
    pub(crate) practitioner_name: &'a str,
    pub(crate) location_id: &'a str,
    pub(crate) site_name: &'a str,
    /// `YYYY-MM-DDTHH:MM:SSZ` of the encounter start.
    pub(crate) when: &'a str,
    /// `YYYY-MM-DD` of the encounter start.
    pub(crate) day: &'a str,
}

impl Context<'_> {
    pub(crate) fn subject(&self) -> Value {
        reference("Patient", self.patient_id, Some(self.patient_name))
    }
    pub(crate) fn encounter(&self) -> Value {
        reference("Encounter", self.encounter_id, None)
    }
    pub(crate) fn practitioner(&self) -> Value {
        reference(
            "Practitioner",
            self.practitioner_id,
            Some(self.practitioner_name),
        )
    }
}

/// Encounter.
#[allow(clippy::too_many_arguments)]
pub(crate) fn encounter(
    ctx: &Context<'_>,
    class: (&str, &str),
    kind: &Code,
    kind_text: &str,
    start: &str,
    end: &str,
    reason: Option<&ConditionSpec>,
    organization_id: &str,
) -> Value {
    let mut body = json!({
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": class.0, "display": class.1},
        "type": [concept(kind, kind_text)],
        "subject": ctx.subject(),
        "participant": [{
            "type": [hl7_concept("v3-ParticipationType", "ATND", "attender")],
            "period": {"start": start, "end": end},
            "individual": ctx.practitioner()
        }],
        "period": {"start": start, "end": end},
        "location": [{"location": reference("Location", ctx.location_id, Some(ctx.site_name))}],
        "serviceProvider": reference("Organization", organization_id, Some(ctx.site_name))
    });
    if let Some(r) = reason {
        body["reasonCode"] = json!([concept(&r.snomed, r.text)]);
    }
    body
}

fn observation_base(ctx: &Context<'_>, category: &str, code: &Code, text: &str) -> Value {
    let category_display = match category {
        "vital-signs" => "Vital Signs",
        "survey" => "Survey",
        "social-history" => "Social History",
        _ => "Laboratory",
    };
    json!({
        "status": "final",
        "category": [hl7_concept("observation-category", category, category_display)],
        "code": concept(code, text),
        "subject": ctx.subject(),
        "encounter": ctx.encounter(),
        "effectiveDateTime": ctx.when,
        "issued": ctx.when,
        "performer": [ctx.practitioner()]
    })
}

/// An Observation with a `valueQuantity` and optional reference range (same unit).
pub(crate) fn quantity_observation(
    ctx: &Context<'_>,
    category: &str,
    code: &Code,
    text: &str,
    value: Value,
    unit: &str,
    range: Option<(Value, Value, Option<&str>)>,
) -> Value {
    let mut body = observation_base(ctx, category, code, text);
    body["valueQuantity"] = quantity(value, unit);
    if let Some((low, high, flag)) = range {
        body["referenceRange"] =
            json!([{"low": quantity(low, unit), "high": quantity(high, unit)}]);
        if let Some(flag) = flag {
            let display = if flag == "H" {
                "High"
            } else if flag == "L" {
                "Low"
            } else {
                "Normal"
            };
            body["interpretation"] =
                json!([hl7_concept("v3-ObservationInterpretation", flag, display)]);
        }
    }
    body
}

/// A blood-pressure panel with systolic/diastolic components.
pub(crate) fn blood_pressure(
    ctx: &Context<'_>,
    panel: &Code,
    systolic: (&Code, i64),
    diastolic: (&Code, i64),
) -> Value {
    let mut body = observation_base(ctx, "vital-signs", panel, "Blood pressure");
    body["component"] = json!([
        {"code": concept(systolic.0, "Systolic blood pressure"), "valueQuantity": quantity(json!(systolic.1), "mm[Hg]")},
        {"code": concept(diastolic.0, "Diastolic blood pressure"), "valueQuantity": quantity(json!(diastolic.1), "mm[Hg]")}
    ]);
    body
}

/// An Observation with a coded value.
pub(crate) fn coded_observation(
    ctx: &Context<'_>,
    category: &str,
    code: &Code,
    text: &str,
    value: &Code,
) -> Value {
    let mut body = observation_base(ctx, category, code, text);
    body["valueCodeableConcept"] = concept(value, value.display);
    body
}

/// Condition.
pub(crate) fn condition(
    ctx: &Context<'_>,
    spec: &ConditionSpec,
    problem_list: bool,
    onset: &str,
    abatement: Option<&str>,
) -> Value {
    let (category, category_display) = if problem_list {
        ("problem-list-item", "Problem List Item")
    } else {
        ("encounter-diagnosis", "Encounter Diagnosis")
    };
    let (status, status_display) = if abatement.is_some() {
        ("resolved", "Resolved")
    } else {
        ("active", "Active")
    };
    let mut body = json!({
        "clinicalStatus": hl7_concept("condition-clinical", status, status_display),
        "verificationStatus": hl7_concept("condition-ver-status", "confirmed", "Confirmed"),
        "category": [hl7_concept("condition-category", category, category_display)],
        "code": {"coding": [coding(&spec.snomed), coding(&spec.icd10)], "text": spec.text},
        "subject": ctx.subject(),
        "encounter": ctx.encounter(),
        "onsetDateTime": onset,
        "recordedDate": ctx.day,
        "recorder": ctx.practitioner()
    });
    if let Some(at) = abatement {
        body["abatementDateTime"] = json!(at);
    }
    body
}

/// MedicationRequest for `med`, optionally with its reason Condition.
pub(crate) fn medication_request(
    ctx: &Context<'_>,
    med: &MedSpec,
    status: &str,
    reason: Option<(&str, &str)>,
) -> Value {
    let mut body = json!({
        "status": status,
        "intent": "order",
        "category": [hl7_concept("medicationrequest-category", "community", "Community")],
        "medicationCodeableConcept": concept(&med.code, med.text),
        "subject": ctx.subject(),
        "encounter": ctx.encounter(),
        "authoredOn": ctx.day,
        "requester": ctx.practitioner(),
        "dosageInstruction": [{"text": med.sig}]
    });
    if let Some((id, text)) = reason {
        body["reasonReference"] = json!([reference("Condition", id, Some(text))]);
    }
    body
}

/// Immunization.
pub(crate) fn immunization(ctx: &Context<'_>, vaccine: &Code, lot: &str) -> Value {
    json!({
        "status": "completed",
        "vaccineCode": concept(vaccine, vaccine.display),
        "patient": ctx.subject(),
        "encounter": ctx.encounter(),
        "occurrenceDateTime": ctx.when,
        "primarySource": true,
        "lotNumber": lot,
        "location": reference("Location", ctx.location_id, Some(ctx.site_name)),
        "route": hl7_concept("v3-RouteOfAdministration", "IM", "Injection, intramuscular"),
        "performer": [{"actor": ctx.practitioner()}]
    })
}

/// AllergyIntolerance.
pub(crate) fn allergy(
    ctx: &Context<'_>,
    substance: &Code,
    category: &str,
    reaction: &str,
) -> Value {
    json!({
        "clinicalStatus": hl7_concept("allergyintolerance-clinical", "active", "Active"),
        "verificationStatus": hl7_concept("allergyintolerance-verification", "confirmed", "Confirmed"),
        "type": "allergy",
        "category": [category],
        "criticality": if reaction == "Anaphylaxis" { "high" } else { "low" },
        "code": concept(substance, substance.display.trim_end_matches(" (substance)")),
        "patient": ctx.subject(),
        "encounter": ctx.encounter(),
        "recordedDate": ctx.day,
        "recorder": ctx.practitioner(),
        "reaction": [{"manifestation": [{"text": reaction}], "description": reaction}]
    })
}

/// Procedure.
pub(crate) fn procedure(ctx: &Context<'_>, code: &Code, text: &str) -> Value {
    json!({
        "status": "completed",
        "code": concept(code, text),
        "subject": ctx.subject(),
        "encounter": ctx.encounter(),
        "performedDateTime": ctx.when,
        "performer": [{"actor": ctx.practitioner()}],
        "location": reference("Location", ctx.location_id, Some(ctx.site_name))
    })
}

/// ServiceRequest (an order or referral).
pub(crate) fn service_request(
    ctx: &Context<'_>,
    code: &Code,
    text: &str,
    category: (&str, &str),
) -> Value {
    json!({
        "status": "active",
        "intent": "order",
        "category": [{"coding": [{"system": "http://snomed.info/sct", "code": category.0, "display": category.1}], "text": category.1}],
        "code": concept(code, text),
        "subject": ctx.subject(),
        "encounter": ctx.encounter(),
        "authoredOn": ctx.day,
        "requester": ctx.practitioner()
    })
}

/// DiagnosticReport over results in the same bundle.
pub(crate) fn diagnostic_report(
    ctx: &Context<'_>,
    code: &Code,
    text: &str,
    results: &[(String, &str)],
) -> Value {
    let result: Vec<Value> = results
        .iter()
        .map(|(id, t)| reference("Observation", id, Some(t)))
        .collect();
    json!({
        "status": "final",
        "category": [hl7_concept("v2-0074", "LAB", "Laboratory")],
        "code": concept(code, text),
        "subject": ctx.subject(),
        "encounter": ctx.encounter(),
        "effectiveDateTime": ctx.when,
        "issued": ctx.when,
        "performer": [ctx.practitioner()],
        "result": result
    })
}

/// DocumentReference holding a short plain-text note (base64).
pub(crate) fn document_reference(
    ctx: &Context<'_>,
    kind: &Code,
    note_base64: &str,
    period: (&str, &str),
) -> Value {
    json!({
        "status": "current",
        "docStatus": "final",
        "type": concept(kind, kind.display),
        "category": [{
            "coding": [{"system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category", "code": "clinical-note", "display": "Clinical Note"}],
            "text": "Clinical Note"
        }],
        "subject": ctx.subject(),
        "date": ctx.when,
        "author": [ctx.practitioner()],
        "content": [{"attachment": {"contentType": "text/plain", "data": note_base64, "title": kind.display}}],
        "context": {"encounter": [ctx.encounter()], "period": {"start": period.0, "end": period.1}}
    })
}
