//! The facts about one FHIR resource that access decisions depend on, extracted once.
//!
//! The same extraction feeds [`crate::Filter::matches`] (single-resource decisions) and the
//! storage index (searches), so the two cannot disagree about what a resource is.
//!
//! [`extract_facts`] is total: any JSON value yields facts (possibly empty) and never panics.
//! Which element holds what, per resource type:
//!
//! - **patient**: `Patient.id` for a Patient; otherwise the first of `subject`, `patient`,
//!   `beneficiary` (a Reference or an array of them) whose `reference` contains `Patient/`;
//!   the id is the segment after the last `Patient/` (so absolute URLs and `_history`
//!   suffixes work). Other shapes (`urn:uuid:`, `Group/`) give no patient.
//! - **codes**: `medicationCodeableConcept` for the Medication* request/event types,
//!   `vaccineCode` for Immunization, `type` for DocumentReference, otherwise `code`.
//! - **categories**: `category` (array or single; CodeableConcept, Coding or bare `code`
//!   strings such as AllergyIntolerance's, which give tokens without a system); for
//!   Encounter `class` (Coding) and `type` (CodeableConcepts) instead.
//! - **security**: `meta.security` Codings.
//! - **clinical_date**: the designated element of [`crate::designated::date_rule`], widened
//!   by [`crate::date`]'s precision rules.
//! - **encounters**: an Encounter's own id; otherwise ids from `encounter`, `context`
//!   (when it points at an Encounter), `context.encounter`, `item[].encounter`.
//! - **currently_relevant** (OP-13/OP-34): Condition with `clinicalStatus` `active` and a
//!   `problem-list-item` category; AllergyIntolerance with `clinicalStatus` `active`;
//!   MedicationRequest with `status` `active`. Only the exact code `active` counts.

use serde_json::Value;

use crate::date::{Strictness, parse_range, period_range};
use crate::designated::{DateElement, DateRule, date_rule};

/// A `(system, code)` token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token {
    /// Code system URI, if the coding has one.
    pub system: Option<String>,
    /// The code.
    pub code: String,
}

impl Token {
    /// FHIR token matching: `None` = any system, `Some("")` = no system, else exact.
    pub fn matches(&self, system: Option<&str>, code: &str) -> bool {
        if self.code != code {
            return false;
        }
        match system {
            None => true,
            Some("") => self.system.is_none(),
            Some(s) => self.system.as_deref() == Some(s),
        }
    }
}

/// Everything the access algebra needs to know about a resource.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceFacts {
    /// `resourceType`.
    pub resource_type: String,
    /// Logical id.
    pub id: String,
    /// Local id of the patient whose compartment holds the resource, if any.
    pub patient: Option<String>,
    /// Primary code tokens.
    pub codes: Vec<Token>,
    /// Category tokens.
    pub categories: Vec<Token>,
    /// `meta.security` tokens.
    pub security: Vec<Token>,
    /// Designated clinical date as a closed UTC range in unix seconds (precision-widened).
    pub clinical_date: Option<(i64, i64)>,
    /// Encounter ids this resource is or references.
    pub encounters: Vec<String>,
    /// Active allergy / active problem-list condition / active medication.
    pub currently_relevant: bool,
}

const CONDITION_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
const ALLERGY_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";
const CONDITION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/condition-category";

/// Extracts the access-relevant facts of one FHIR resource. Total and panic-free.
pub fn extract_facts(resource: &Value) -> ResourceFacts {
    let resource_type = str_at(resource, "resourceType")
        .unwrap_or_default()
        .to_owned();
    let id = str_at(resource, "id").unwrap_or_default().to_owned();
    let rt = resource_type.as_str();

    let patient = if rt == "Patient" {
        (!id.is_empty()).then(|| id.clone())
    } else {
        ["subject", "patient", "beneficiary"]
            .iter()
            .find_map(|k| resource.get(k).and_then(|v| first_ref_id(v, "Patient/")))
    };

    let code_element = match rt {
        "MedicationRequest"
        | "MedicationAdministration"
        | "MedicationDispense"
        | "MedicationStatement" => "medicationCodeableConcept",
        "Immunization" => "vaccineCode",
        "DocumentReference" => "type",
        _ => "code",
    };
    let codes = sorted(tokens(resource.get(code_element)));

    let categories = if rt == "Encounter" {
        let mut t = tokens(resource.get("class"));
        t.extend(tokens(resource.get("type")));
        sorted(t)
    } else {
        sorted(tokens(resource.get("category")))
    };

    let security = sorted(tokens(resource.get("meta").and_then(|m| m.get("security"))));

    let clinical_date = match date_rule(rt) {
        DateRule::Element(element) => date_of(resource, element),
        DateRule::Exempt | DateRule::NoElement => None,
    };

    let mut encounters = Vec::new();
    if rt == "Encounter" {
        if !id.is_empty() {
            encounters.push(id.clone());
        }
    } else {
        let context = resource.get("context");
        let items = resource.get("item").and_then(Value::as_array);
        let sources = [
            resource.get("encounter"),
            context,
            context.and_then(|c| c.get("encounter")),
        ];
        let item_refs = items.into_iter().flatten().map(|i| i.get("encounter"));
        for v in sources.into_iter().chain(item_refs).flatten() {
            encounters.extend(ref_ids(v, "Encounter/"));
        }
        encounters.sort();
        encounters.dedup();
    }

    let currently_relevant = match rt {
        "Condition" => {
            has_active(resource, CONDITION_CLINICAL)
                && categories.iter().any(|t| {
                    t.code == "problem-list-item"
                        && t.system.as_deref().is_none_or(|s| s == CONDITION_CATEGORY)
                })
        }
        "AllergyIntolerance" => has_active(resource, ALLERGY_CLINICAL),
        "MedicationRequest" => str_at(resource, "status") == Some("active"),
        _ => false,
    };

    ResourceFacts {
        resource_type,
        id,
        patient,
        codes,
        categories,
        security,
        clinical_date,
        encounters,
        currently_relevant,
    }
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn sorted(mut t: Vec<Token>) -> Vec<Token> {
    t.sort();
    t.dedup();
    t
}

/// `clinicalStatus` has a coding `active` (in `system`, or without a system).
fn has_active(resource: &Value, system: &str) -> bool {
    tokens(resource.get("clinicalStatus"))
        .iter()
        .any(|t| t.code == "active" && t.system.as_deref().is_none_or(|s| s == system))
}

/// Tokens of a CodeableConcept, Coding, bare code string, or an array of any of them.
fn tokens(v: Option<&Value>) -> Vec<Token> {
    let mut out = Vec::new();
    if let Some(v) = v {
        collect_tokens(v, &mut out, 0);
    }
    out
}

fn collect_tokens(v: &Value, out: &mut Vec<Token>, depth: u8) {
    match v {
        Value::String(code) if !code.is_empty() => {
            out.push(Token {
                system: None,
                code: code.clone(),
            });
        }
        Value::Array(items) if depth == 0 => {
            for item in items {
                collect_tokens(item, out, 1);
            }
        }
        Value::Object(o) => {
            if let Some(Value::Array(codings)) = o.get("coding") {
                for c in codings {
                    push_coding(c, out);
                }
            } else {
                push_coding(v, out);
            }
        }
        _ => {}
    }
}

fn push_coding(c: &Value, out: &mut Vec<Token>) {
    if let Some(code) = str_at(c, "code").filter(|s| !s.is_empty()) {
        let system = str_at(c, "system")
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        out.push(Token {
            system,
            code: code.to_owned(),
        });
    }
}

/// Ids of `marker` references in a Reference or an array of References.
fn ref_ids(v: &Value, marker: &str) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().filter_map(|r| ref_id(r, marker)).collect(),
        other => ref_id(other, marker).into_iter().collect(),
    }
}

fn first_ref_id(v: &Value, marker: &str) -> Option<String> {
    ref_ids(v, marker).into_iter().next()
}

/// The id after the last `marker` in a Reference's `reference`, up to the next `/`.
fn ref_id(r: &Value, marker: &str) -> Option<String> {
    let reference = str_at(r, "reference")?;
    let at = reference.rfind(marker)?;
    // `Patient/` must start a path segment: reject e.g. `RelatedPatient/1`.
    if at > 0 && reference.as_bytes().get(at - 1) != Some(&b'/') {
        return None;
    }
    let tail = reference.get(at + marker.len()..)?;
    let id = tail.split('/').next().unwrap_or_default();
    (!id.is_empty()).then(|| id.to_owned())
}

/// The precision-widened range of a designated date element.
fn date_of(resource: &Value, element: DateElement) -> Option<(i64, i64)> {
    match element {
        DateElement::Plain(name) => resource.get(name).and_then(value_range),
        DateElement::Choice(name) => choice_range(resource, name),
        DateElement::GoalTargetDue => {
            let targets = resource.get("target")?.as_array()?;
            let ranges: Vec<(i64, i64)> = targets
                .iter()
                .filter_map(|t| str_at(t, "dueDate"))
                .filter_map(|d| parse_range(d, Strictness::Lenient))
                .collect();
            let lo = ranges.iter().map(|r| r.0).min()?;
            let hi = ranges.iter().map(|r| r.1).max()?;
            Some((lo, hi))
        }
        DateElement::SpecimenCollected => choice_range(resource.get("collection")?, "collected"),
    }
}

fn choice_range(v: &Value, name: &str) -> Option<(i64, i64)> {
    ["DateTime", "Instant", "Date", "Period"]
        .iter()
        .find_map(|suffix| v.get(format!("{name}{suffix}")))
        .and_then(value_range)
}

/// A date-ish string or a `Period` object.
fn value_range(v: &Value) -> Option<(i64, i64)> {
    match v {
        Value::String(s) => parse_range(s, Strictness::Lenient),
        Value::Object(_) => {
            let start = v.get("start");
            let end = v.get("end");
            // A present but non-string bound is malformed, not open.
            if start.is_some_and(|s| !s.is_string()) || end.is_some_and(|e| !e.is_string()) {
                return None;
            }
            period_range(start.and_then(Value::as_str), end.and_then(Value::as_str))
        }
        _ => None,
    }
}
