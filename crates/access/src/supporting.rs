//! Supporting resources (PT-RS-02): Practitioner, PractitionerRole, Organization, Location and
//! Medication hold no patient data, but they are released only when released data references
//! them. "Referenced" means: a `reference` anywhere in a resource the grant releases for the
//! patient (every constraint honoured: scopes and their narrowings, `data_period`,
//! `claim_linkage`, sensitivity), or in the patient's own Patient resource
//! (`generalPractitioner`, `managingOrganization`, `contact.organization`), names the shared
//! resource as `Type/id` (relative, absolute or with `_history`).
//!
//! The Data Holder collects these references once, at redemption, with the grant's own
//! filters ([`crate::Grant::with_supporting`]); the Grant then compiles them into the storage
//! predicate ([`crate::Filter::IdIn`]), so reads, searches and totals agree.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::grant::SHARED_TYPES;

/// Upper bound on supporting references kept in one grant (beyond it, fewer are released).
pub const MAX_SUPPORTING: usize = 5_000;
/// Nesting depth searched for references.
const MAX_DEPTH: usize = 32;

/// Every `Type/id` reference to a shared type anywhere in `resource`.
pub fn shared_references(resource: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    collect(resource, 0, &mut out);
    out
}

fn collect(v: &Value, depth: usize, out: &mut BTreeSet<String>) {
    if depth > MAX_DEPTH {
        return;
    }
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("reference")
                && let Some(key) = shared_key(r)
            {
                out.insert(key);
            }
            for child in map.values() {
                collect(child, depth + 1, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                collect(item, depth + 1, out);
            }
        }
        _ => {}
    }
}

/// `Type/id` of the last `Type/id` segment pair of a reference whose type is shared.
fn shared_key(reference: &str) -> Option<String> {
    let segments: Vec<&str> = reference.split('/').collect();
    segments.windows(2).rev().find_map(|w| match w {
        [t, id] if SHARED_TYPES.contains(t) && !id.is_empty() && *id != "_history" => {
            Some(format!("{t}/{id}"))
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn references_anywhere_in_the_resource() {
        let r = json!({"resourceType": "Encounter", "id": "e",
            "participant": [{"individual": {"reference": "Practitioner/p1"}}],
            "serviceProvider": {"reference": "https://x.example/fhir/Organization/o1/_history/3"},
            "location": [{"location": {"reference": "Location/l1"}}],
            "subject": {"reference": "Patient/x"},
            "basedOn": [{"reference": "urn:uuid:1"}]});
        let got: Vec<String> = shared_references(&r).into_iter().collect();
        assert_eq!(
            got,
            vec!["Location/l1", "Organization/o1", "Practitioner/p1"]
        );
    }
}
