//! Every enforcement dimension on reads, searches, paging and counts: the API releases exactly
//! what `Grant::decide` (the reference semantics) allows, and nothing else (PT-RS-02..04,
//! PT-SCOPE-04/06, PT-DP-01/02, PT-ACC-08).

use std::collections::BTreeSet;

use axum::http::StatusCode;
use serde_json::{Value, json};
use tessera_access::{Decision, Grant, Interaction};

use crate::fhir_support::*;

const ACT: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

fn key(r: &Value) -> (String, String) {
    (
        r["resourceType"].as_str().unwrap().to_owned(),
        r["id"].as_str().unwrap().to_owned(),
    )
}

/// Searches every type (all pages) and reads a sample, comparing with `decide`.
async fn check(g: Value, label: &str) -> usize {
    let grant: Grant = grant(g);
    let app = app(Some(grant.clone()));
    let expected: BTreeSet<(String, String)> = data()
        .resources
        .iter()
        .filter(|r| grant.decide(r, Interaction::Search) == Decision::Allow)
        .map(key)
        .collect();
    let mut got = BTreeSet::new();
    for t in grant.allowed_types() {
        if grant.to_filter(t, Interaction::Search).is_err() {
            continue;
        }
        let (total, all) = get_all(&app, &format!("/{t}?_count=50")).await;
        assert_eq!(
            total as usize,
            all.len(),
            "{label}: total counts only released resources"
        );
        let count = get(&app, &format!("/{t}?_summary=count")).await;
        assert_eq!(
            count.body["total"].as_u64().unwrap(),
            total,
            "{label}: _summary=count"
        );
        got.extend(all.iter().map(key));
    }
    assert_eq!(
        got, expected,
        "{label}: searches release exactly the granted set"
    );
    // Reads: a sample of released and withheld resources.
    let mut denied_reads = 0;
    for r in data().resources.iter().step_by(37) {
        let (t, id) = key(r);
        let resp = get(&app, &format!("/{t}/{id}")).await;
        match grant.decide(r, Interaction::Read) {
            Decision::Allow => assert_eq!(resp.status, StatusCode::OK, "{label}: read {t}/{id}"),
            Decision::Deny { reasons }
                if reasons.contains(&tessera_access::Violation::NotGranted) =>
            {
                outcome(&resp, StatusCode::FORBIDDEN);
            }
            Decision::Deny { .. } => {
                let diag = outcome(&resp, StatusCode::NOT_FOUND);
                assert_eq!(
                    diag, "resource not found",
                    "same answer as a nonexistent id"
                );
                denied_reads += 1;
            }
        }
    }
    let missing = get(&app, "/Observation/no-such-id").await;
    if grant.to_filter("Observation", Interaction::Read).is_ok() {
        assert_eq!(
            outcome(&missing, StatusCode::NOT_FOUND),
            "resource not found"
        );
    }
    assert!(
        denied_reads > 0,
        "{label}: the sample must include withheld resources"
    );
    expected.len()
}

fn scopes(types: &[&str], perms: u8) -> Vec<Value> {
    types
        .iter()
        .map(|t| json!({"type": t, "perms": perms, "context": "patient"}))
        .collect()
}

#[tokio::test]
async fn patient_confinement() {
    let n = check(grant_all(patient(), 18), "patient").await;
    assert!(n > 50);
}

#[tokio::test]
async fn type_and_interaction_gating() {
    let g = json!({"patient": patient(), "scopes": scopes(&["Observation", "Patient"], 18)});
    check(g.clone(), "types").await;
    let app = app(Some(grant(g)));
    outcome(&get(&app, "/Condition").await, StatusCode::FORBIDDEN);
    outcome(&get(&app, "/Condition/x").await, StatusCode::FORBIDDEN);
    outcome(
        &get(&app, &format!("/Patient/{}/$everything", patient())).await,
        StatusCode::FORBIDDEN,
    );
    // Read-only scope: search is 403, read works (PT-SCOPE-06).
    let read_only = app_with(json!({"patient": patient(), "scopes": scopes(&["Patient"], 2)}));
    outcome(&get(&read_only, "/Patient").await, StatusCode::FORBIDDEN);
    assert_eq!(
        get(&read_only, &format!("/Patient/{}", patient()))
            .await
            .status,
        StatusCode::OK
    );
}

fn app_with(g: Value) -> axum::Router {
    app(Some(grant(g)))
}

#[tokio::test]
async fn data_period_window() {
    let mut g = grant_all(patient(), 18);
    // 2022-01-01 .. 2022-12-31T23:59:59Z
    g["window"] = json!({"start": 1_640_995_200, "end": 1_672_531_199});
    check(g, "data_period").await;
}

#[tokio::test]
async fn security_labels_withheld() {
    // A patient with sexual-health records (the cast's "sexual-health" archetype).
    let labelled = data()
        .resources
        .iter()
        .find(|r| {
            r["resourceType"] == "Patient" && {
                let id = r["id"].as_str().unwrap();
                data().resources.iter().any(|o| {
                    o["subject"]["reference"] == format!("Patient/{id}")
                        && o["meta"]["security"]
                            .as_array()
                            .is_some_and(|l| l.iter().any(|x| x["code"] == "SEX"))
                })
            }
        })
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .unwrap();
    let mut g = grant_all(&labelled, 18);
    g["withhold"] = json!([{"system": ACT, "code": "SEX"}, {"system": ACT, "code": "MH"}]);
    check(g, "labels").await;
}

#[tokio::test]
async fn claim_linkage_encounters() {
    let enc = data()
        .resources
        .iter()
        .find(|r| {
            r["resourceType"] == "Encounter"
                && r["subject"]["reference"] == format!("Patient/{}", patient())
        })
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .unwrap();
    let mut g = grant_all(patient(), 18);
    g["encounters"] = json!([enc]);
    check(g, "claim_linkage").await;
}

#[tokio::test]
async fn granular_code_and_category_scopes() {
    // One of the anchor's own condition codes, so the Condition scope releases something.
    let condition = data()
        .resources
        .iter()
        .find(|r| {
            r["resourceType"] == "Condition"
                && r["subject"]["reference"] == format!("Patient/{}", patient())
        })
        .map(|r| r["code"]["coding"][0]["code"].as_str().unwrap().to_owned())
        .unwrap();
    let g = json!({"patient": patient(), "scopes": [
        {"type": "Observation", "perms": 18, "context": "patient",
         "query": [{"param": "category", "values": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}]},
        {"type": "Condition", "perms": 18, "context": "patient",
         "query": [{"param": "code", "values": [{"code": condition}]}]},
        {"type": "Patient", "perms": 18, "context": "patient"}
    ]});
    check(g, "granular").await;
}
