//! Small builders for FHIR R4 JSON datatypes, and the per-bundle resource accumulator.
//!
//! Resources are `serde_json::Value`s built with `json!`; the shapes follow the R4 base
//! resources and US Core conventions seen in the shared synthetic corpus.

pub(crate) mod admin;
pub(crate) mod clinical;
pub(crate) mod payer;

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::catalog::codes::{ACT_CODE, Code, Label, UCUM};
use crate::ids::uuid;

/// `Coding`.
pub(crate) fn coding(code: &Code) -> Value {
    json!({"system": code.system, "code": code.code, "display": code.display})
}

/// `CodeableConcept` with one coding.
pub(crate) fn concept(code: &Code, text: &str) -> Value {
    json!({"coding": [coding(code)], "text": text})
}

/// `CodeableConcept` from a terminology.hl7.org code system.
pub(crate) fn hl7_concept(system: &str, code: &str, display: &str) -> Value {
    json!({
        "coding": [{"system": format!("http://terminology.hl7.org/CodeSystem/{system}"), "code": code, "display": display}],
        "text": display
    })
}

/// `Reference` to a resource in the same bundle.
pub(crate) fn reference(resource_type: &str, id: &str, display: Option<&str>) -> Value {
    match display {
        Some(d) => json!({"reference": format!("{resource_type}/{id}"), "display": d}),
        None => json!({"reference": format!("{resource_type}/{id}")}),
    }
}

/// `Quantity` with a UCUM unit.
pub(crate) fn quantity(value: Value, unit: &str) -> Value {
    json!({"value": value, "unit": unit, "system": UCUM, "code": unit})
}

/// A number for a value in tenths: an integer when whole-valued output is wanted.
pub(crate) fn number(tenths: i64, integer: bool) -> Value {
    if integer {
        json!(tenths / 10)
    } else {
        json!(tenths as f64 / 10.0)
    }
}

/// One generated entry: its type, id and JSON.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) resource_type: &'static str,
    pub(crate) id: String,
    pub(crate) resource: Value,
}

/// Collects the resources of one (patient, site) bundle, assigning deterministic ids.
#[derive(Debug)]
pub(crate) struct Accumulator {
    key: [u64; 3],
    counter: u64,
    pub(crate) entries: Vec<Entry>,
}

impl Accumulator {
    /// An accumulator whose ids derive from `(seed, patient, site)`.
    pub(crate) fn new(seed: u64, patient: u64, site: u64) -> Self {
        Self {
            key: [seed, patient, site],
            counter: 0,
            entries: Vec::with_capacity(128),
        }
    }

    /// The id the next `add` will assign.
    pub(crate) fn next_id(&self) -> String {
        uuid(
            "resource",
            &[self.key[0], self.key[1], self.key[2], self.counter],
        )
    }

    /// Add a resource (an object without `resourceType`/`id`/`meta`) with security labels;
    /// returns its id.
    pub(crate) fn add(
        &mut self,
        resource_type: &'static str,
        mut body: Value,
        labels: &BTreeSet<Label>,
    ) -> String {
        let id = self.next_id();
        self.counter += 1;
        if let Some(map) = body.as_object_mut() {
            map.insert("resourceType".into(), json!(resource_type));
            map.insert("id".into(), json!(id));
            if !labels.is_empty() {
                let security: Vec<Value> = labels
                    .iter()
                    .map(|l| json!({"system": ACT_CODE, "code": l.code(), "display": l.display()}))
                    .collect();
                map.insert("meta".into(), json!({"security": security}));
            }
        }
        self.entries.push(Entry {
            resource_type,
            id: id.clone(),
            resource: body,
        });
        id
    }

    /// Add a resource whose id is fixed by the caller (site-level resources shared by bundles).
    pub(crate) fn add_shared(&mut self, resource_type: &'static str, id: &str, resource: &Value) {
        self.entries.push(Entry {
            resource_type,
            id: id.to_owned(),
            resource: resource.clone(),
        });
    }
}

/// Set the `resourceType` and `id` of a shared (site-level) resource body.
pub(crate) fn with_identity(resource_type: &str, id: &str, mut body: Value) -> Value {
    if let Some(map) = body.as_object_mut() {
        map.insert("resourceType".into(), json!(resource_type));
        map.insert("id".into(), json!(id));
    }
    body
}
