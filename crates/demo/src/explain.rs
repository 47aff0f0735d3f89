//! Released versus held back, and why: the patient's resources as stored, the resources the
//! FHIR API released, and the Grant's own verdict (`Grant::decide`) on each held-back one.
//!
//! The Grant is the one the Data Holder stored with the access token (looked up by the token's
//! hash in its token tables), so the reasons are the enforced decision, not a re-computation.
//! The same pass checks that the API and the Grant agree: every released resource is allowed
//! and every held-back one denied.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use tessera_access::{
    Decision, Filter, Grant, Interaction, SHARED_TYPES, Violation, extract_facts,
};
use tessera_store::{ResourceStore, Scope};

use crate::cast::{Record, resources};
use crate::report::TypeCount;

/// One stored resource.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Resource type.
    pub resource_type: String,
    /// Server id.
    pub id: String,
    /// The stored JSON.
    pub json: Value,
}

/// The patient's resources at the record's site as the store holds them (read with no grant:
/// this is the operator's view).
pub fn in_store(store: &dyn ResourceStore, record: &Record) -> Result<Vec<Stored>, String> {
    let own = Filter::PatientIs(record.patient_id.clone());
    let mut out = Vec::new();
    for r in resources(&record.bundle) {
        let facts = extract_facts(r);
        if !own.matches(&facts) {
            continue;
        }
        let stored = store
            .read(
                Scope::Network,
                &facts.resource_type,
                &facts.id,
                &Filter::All,
            )
            .map_err(|e| format!("store read {}/{}: {e}", facts.resource_type, facts.id))?;
        let Some(bytes) = stored else {
            return Err(format!(
                "{}/{} of the demo data is not in the store",
                facts.resource_type, facts.id
            ));
        };
        let json = serde_json::from_slice(&bytes)
            .map_err(|e| format!("stored {}/{}: {e}", facts.resource_type, facts.id))?;
        out.push(Stored {
            resource_type: facts.resource_type,
            id: facts.id,
            json,
        });
    }
    Ok(out)
}

/// The resources of searchset pages (`search.mode` `match`, or unset).
pub fn released(pages: &[Value]) -> Vec<Stored> {
    pages
        .iter()
        .flat_map(|p| {
            p.get("entry")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter(|e| {
            e.pointer("/search/mode")
                .and_then(Value::as_str)
                .is_none_or(|m| m == "match")
        })
        .filter_map(|e| {
            let r = e.get("resource")?;
            Some(Stored {
                resource_type: r.get("resourceType")?.as_str()?.to_owned(),
                id: r.get("id")?.as_str()?.to_owned(),
                json: r.clone(),
            })
        })
        .collect()
}

/// The per-type table, and every disagreement between the API and the Grant.
pub fn tally(
    stored: &[Stored],
    released: &[Stored],
    grant: &Grant,
) -> (Vec<TypeCount>, Vec<String>) {
    let mut problems = Vec::new();
    let mut types: BTreeMap<String, TypeCount> = BTreeMap::new();
    let entry = |types: &mut BTreeMap<String, TypeCount>, t: &str| {
        types.entry(t.to_owned()).or_insert_with(|| TypeCount {
            resource_type: t.to_owned(),
            in_store: (!SHARED_TYPES.contains(&t)).then_some(0),
            ..TypeCount::default()
        });
    };
    let released_ids: BTreeSet<(&str, &str)> = released
        .iter()
        .map(|r| (r.resource_type.as_str(), r.id.as_str()))
        .collect();
    let own_ids: BTreeSet<(&str, &str)> = stored
        .iter()
        .map(|r| (r.resource_type.as_str(), r.id.as_str()))
        .collect();

    for r in released {
        entry(&mut types, &r.resource_type);
        if let Some(t) = types.get_mut(&r.resource_type) {
            t.released += 1;
        }
        let shared = SHARED_TYPES.contains(&r.resource_type.as_str());
        if !shared && !own_ids.contains(&(r.resource_type.as_str(), r.id.as_str())) {
            problems.push(format!(
                "released {}/{}, which is not one of the patient's records",
                r.resource_type, r.id
            ));
        }
        if let Decision::Deny { reasons } = grant.decide(&r.json, Interaction::Search) {
            problems.push(format!(
                "released {}/{} although the grant denies it ({})",
                r.resource_type,
                r.id,
                reason_text(&reasons)
            ));
        }
    }
    for r in stored {
        entry(&mut types, &r.resource_type);
        let Some(t) = types.get_mut(&r.resource_type) else {
            continue;
        };
        t.in_store = Some(t.in_store.unwrap_or(0) + 1);
        if released_ids.contains(&(r.resource_type.as_str(), r.id.as_str())) {
            continue;
        }
        match grant.decide(&r.json, Interaction::Search) {
            Decision::Deny { reasons } => {
                *t.held_back.entry(reason_text(&reasons)).or_default() += 1;
            }
            Decision::Allow => {
                problems.push(format!(
                    "{}/{} is allowed by the grant but was not released",
                    r.resource_type, r.id
                ));
                *t.held_back.entry("allowed but missing".into()).or_default() += 1;
            }
        }
    }
    (types.into_values().collect(), problems)
}

/// Why a resource was held back, in words.
pub fn reason_text(reasons: &[Violation]) -> String {
    let words: Vec<&str> = reasons.iter().map(|v| reason(*v)).collect();
    words.join(" + ")
}

fn reason(v: Violation) -> &'static str {
    match v {
        Violation::NotGranted => "type not in scope",
        Violation::SmartScopes => "outside the scope's code/category",
        Violation::Patient => "another patient's",
        Violation::DataPeriod => "outside data_period",
        Violation::ClaimLinkage => "not linked to the claim's encounter",
        Violation::SensitivityWithhold => "sensitive label withheld",
        Violation::Restricted => "restricted from the payer (HIPAA self-pay)",
        Violation::LocalPolicy => "withheld by local policy",
        Violation::NotReferenced => "not referenced by released data",
    }
}

/// Whether a resource carries the v3-ActCode security label `code`.
pub fn has_label(resource: &Value, code: &str) -> bool {
    resource
        .pointer("/meta/security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|l| l.get("code").and_then(Value::as_str) == Some(code))
}
