//! The data-driven access vectors in `test-vectors/access/cases/*.json`, all run by one
//! `check()`. Format: see `test-vectors/access/README.md`.

use serde_json::Value;
use tessera_access::{
    Decision, Grant, Interaction, SHARED_TYPES, Violation, extract_facts, shared_references,
};

use crate::common::{Inputs, corpus, policy_with, ticket_type, vectors_dir};

fn interaction(s: &str) -> Interaction {
    match s {
        "read" => Interaction::Read,
        "vread" => Interaction::Vread,
        "search" => Interaction::Search,
        "create" => Interaction::Create,
        "update" => Interaction::Update,
        "delete" => Interaction::Delete,
        "operation" => Interaction::Operation,
        other => panic!("unknown interaction {other}"),
    }
}

fn violation_name(v: Violation) -> String {
    serde_json::to_value(v)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

fn inputs(case: &Value) -> Inputs {
    let ty = ticket_type(case["ticket_type"].as_str().unwrap_or("self"));
    let mut inputs = Inputs::new(ty, case["access"].clone());
    if let Some(r) = case.get("release_authorized") {
        inputs.release_authorized = Some(serde_json::from_value(r.clone()).unwrap());
    }
    if let Some(c) = case.get("reportable_condition") {
        inputs.reportable_condition = Some(serde_json::from_value(c.clone()).unwrap());
    }
    if let Some(m) = case.get("measure") {
        inputs.measure = Some(serde_json::from_value(m.clone()).unwrap());
    }
    inputs.scope = case.get("scope").and_then(Value::as_str).map(str::to_owned);
    if let Some(c) = case.get("client_scopes") {
        inputs.client_scopes = Some(serde_json::from_value(c.clone()).unwrap());
    }
    if let Some(e) = case.get("claim_encounters") {
        inputs.claim_encounters = serde_json::from_value(e.clone()).unwrap();
    }
    if let Some(h) = case.get("holder") {
        inputs.holder = serde_json::from_value(h.clone()).unwrap();
    }
    inputs.policy = policy_with(case.get("policy"));
    inputs
}

/// What the Data Holder does at redemption (PT-RS-02), over the vector corpus and the case's
/// inline resources: the shared-type references of every non-shared resource the grant
/// releases, and of the patient's own Patient resource.
fn supported(grant: Grant, case: &Value) -> Grant {
    let inline = case["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i.get("resource").cloned());
    let mut refs = std::collections::BTreeSet::new();
    for r in corpus().into_values().chain(inline) {
        let facts = extract_facts(&r);
        if SHARED_TYPES.contains(&facts.resource_type.as_str()) {
            continue;
        }
        let own_patient =
            facts.resource_type == "Patient" && facts.patient.as_deref() == Some(grant.patient());
        let released = [Interaction::Read, Interaction::Search]
            .into_iter()
            .any(|i| grant.decide(&r, i) == Decision::Allow);
        if own_patient || released {
            refs.extend(shared_references(&r));
        }
    }
    grant.with_supporting(refs)
}

/// Runs one case; returns the mismatches.
fn check(case: &Value) -> Vec<String> {
    let mut failures = Vec::new();
    let inputs = inputs(case);
    let result = inputs.grant();
    if let Some(expected) = case.get("expect_error") {
        match result {
            Ok(g) => failures.push(format!("expected {expected}, granted {}", g.scope_string())),
            Err(e) => {
                let (code, desc) = e.oauth();
                let got = serde_json::json!([code.as_str(), desc]);
                if &got != expected {
                    failures.push(format!("expected error {expected}, got {got}"));
                }
            }
        }
        return failures;
    }
    let grant = match result {
        Ok(g) => supported(g, case),
        Err(e) => return vec![format!("unexpected error {e}")],
    };
    if let Some(scope) = case.get("expect_scope").and_then(Value::as_str)
        && grant.scope_string() != scope
    {
        failures.push(format!(
            "scope: expected {scope:?}, got {:?}",
            grant.scope_string()
        ));
    }
    // The grant survives storage unchanged.
    let stored: Grant = serde_json::from_str(&serde_json::to_string(&grant).unwrap()).unwrap();
    if stored != grant {
        failures.push("grant does not round-trip through JSON".to_owned());
    }
    let corpus = corpus();
    for item in case["resources"].as_array().into_iter().flatten() {
        let resource = match item.get("ref").and_then(Value::as_str) {
            Some(name) => corpus
                .get(name)
                .cloned()
                .unwrap_or_else(|| panic!("no {name}")),
            None => item["resource"].clone(),
        };
        let label = item
            .get("ref")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("inline {}", resource["id"]));
        let inter = interaction(
            item.get("interaction")
                .and_then(Value::as_str)
                .unwrap_or("read"),
        );
        let got = match grant.decide(&resource, inter) {
            Decision::Allow => Value::from("allow"),
            Decision::Deny { reasons } => reasons
                .into_iter()
                .map(violation_name)
                .map(Value::from)
                .collect(),
        };
        if got != item["expect"] {
            failures.push(format!(
                "{label} {inter:?}: expected {}, got {got}",
                item["expect"]
            ));
        }
        // decide and to_filter agree on every vector resource.
        let facts = extract_facts(&resource);
        let by_filter = grant
            .to_filter(&facts.resource_type, inter)
            .is_ok_and(|f| f.matches(&facts));
        if by_filter != (got == "allow") {
            failures.push(format!("{label}: to_filter disagrees with decide"));
        }
    }
    failures
}

#[test]
fn access_vectors() {
    let dir = vectors_dir().join("cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut report = Vec::new();
    let mut count = 0;
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "json"))
    {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for case in doc["cases"].as_array().unwrap() {
            count += 1;
            let name = case["name"].as_str().unwrap();
            assert!(
                case["cites"].is_array(),
                "{name}: every case cites its requirements"
            );
            for failure in check(case) {
                report.push(format!(
                    "{}: {name}: {failure}",
                    file.file_name().unwrap().display()
                ));
            }
        }
    }
    assert!(count >= 40, "only {count} vector cases found");
    assert!(
        report.is_empty(),
        "{} failures:\n{}",
        report.len(),
        report.join("\n")
    );
}
