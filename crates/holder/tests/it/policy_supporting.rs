//! PT-RS-02 through the token endpoint and the FHIR API: Practitioner, Organization and
//! Location are released only when data the grant releases references them (or the patient's
//! own Patient resource does) — in reads, searches and `_total`/`_summary=count`.

use serde_json::{Value, json};

use crate::token_support::*;

/// Elena's record with supporting resources: her GP (from Patient.generalPractitioner), the
/// clinic named by her Observation, a practitioner only Maria's record names, and an
/// organization nothing references.
fn records() -> Vec<Value> {
    vec![
        json!({"resourceType":"Practitioner","id":"pr-obs","name":[{"family":"Okonkwo"}]}),
        json!({"resourceType":"Practitioner","id":"pr-gp","name":[{"family":"Tran"}]}),
        json!({"resourceType":"Practitioner","id":"pr-maria","name":[{"family":"Villanueva"}]}),
        json!({"resourceType":"Practitioner","id":"pr-old","name":[{"family":"Old"}]}),
        json!({"resourceType":"Organization","id":"org-clinic","name":"Eastbay Primary Care"}),
        json!({"resourceType":"Organization","id":"org-unused","name":"Nobody's Clinic"}),
        json!({"resourceType":"Location","id":"loc-clinic","name":"Eastbay, Suite 2"}),
        json!({"resourceType":"Patient","id":"elena-2","gender":"female","birthDate":"1989-09-14",
            "name":[{"family":"Other","given":["Person"]}],
            "generalPractitioner":[{"reference":"Practitioner/pr-maria"}]}),
        json!({"resourceType":"Observation","id":"obs-supported","status":"final",
            "subject":{"reference":"Patient/elena"},"effectiveDateTime":"2023-06-01",
            "performer":[{"reference":"Practitioner/pr-obs"},{"reference":"Organization/org-clinic"}],
            "code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]}}),
        // Outside the baseline's data_period: its practitioner is not released.
        json!({"resourceType":"Observation","id":"obs-2019-performer","status":"final",
            "subject":{"reference":"Patient/elena"},"effectiveDateTime":"2019-02-01",
            "performer":[{"reference":"Practitioner/pr-old"}],
            "code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]}}),
        json!({"resourceType":"Encounter","id":"enc-maria","status":"finished","class":{"code":"AMB"},
            "subject":{"reference":"Patient/maria"},"period":{"start":"2023-01-01","end":"2023-01-01"},
            "participant":[{"individual":{"reference":"Practitioner/pr-maria"}}],
            "location":[{"location":{"reference":"Location/loc-clinic"}}]}),
    ]
}

/// The fixture's Elena with a GP, replacing her Patient resource.
fn elena_with_gp() -> Value {
    json!({"resourceType":"Patient","id":"elena","gender":"female","birthDate":"1989-09-14",
        "name":[{"family":"Reyes","given":["Elena","Marisol"]}],
        "identifier":[{"system":"http://hospital.example.org/mrn","value":"A12345"}],
        "generalPractitioner":[{"reference":"Practitioner/pr-gp"}],
        "managingOrganization":{"reference":"Organization/org-clinic"}})
}

fn holder() -> Holder {
    let mut extra = records();
    extra.push(elena_with_gp());
    Holder::build(&config_toml(""), fixture_store(&extra))
}

/// A Bearer token for the baseline ticket (`jkt`-bound to the client, no DPoP proof) with
/// these scopes.
async fn bearer(h: &Holder, scopes: Value) -> String {
    let mut t = baseline();
    t["access"]["smart_scopes"] = scopes;
    let got = h.redeem(&mint(&t), &[]).await;
    assert_eq!(got.0, 200, "{}", got.1);
    assert_eq!(got.1["token_type"], "Bearer");
    got.1["access_token"].as_str().unwrap().to_owned()
}

async fn get(h: &Holder, token: &str, path: &str) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let (s, _, b) = h
        .get(&format!("/fhir/{path}"), &[("authorization", &auth)])
        .await;
    (s.as_u16(), b)
}

fn ids(b: &Value) -> Vec<String> {
    let mut out: Vec<String> = b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["resource"]["id"].as_str().map(str::to_owned))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn pt_rs_02_reads_release_only_referenced_supporting_resources() {
    let h = holder();
    let tok = bearer(
        &h,
        json!([
            "patient/Observation.rs",
            "patient/Practitioner.rs",
            "patient/Organization.rs",
            "patient/Location.rs"
        ]),
    )
    .await;
    for (path, status) in [
        ("Practitioner/pr-obs", 200),     // performer of a released Observation
        ("Practitioner/pr-gp", 200),      // her generalPractitioner (Patient not granted)
        ("Organization/org-clinic", 200), // performer and managingOrganization
        ("Practitioner/pr-old", 404),     // only on an Observation outside data_period
        ("Practitioner/pr-maria", 404),   // only on another patient's records
        ("Organization/org-unused", 404), // referenced by nothing
        ("Location/loc-clinic", 404),     // only on another patient's Encounter
    ] {
        assert_eq!(get(&h, &tok, path).await.0, status, "{path}");
    }
}

#[tokio::test]
async fn pt_rs_02_searches_and_totals_see_only_referenced_supporting_resources() {
    let h = holder();
    let tok = bearer(
        &h,
        json!([
            "patient/Observation.rs",
            "patient/Practitioner.rs",
            "patient/Organization.rs",
            "patient/Location.rs"
        ]),
    )
    .await;
    let (s, b) = get(&h, &tok, "Practitioner").await;
    assert_eq!(s, 200);
    assert_eq!(ids(&b), vec!["pr-gp", "pr-obs"]);
    assert_eq!(b["total"], 2);
    let (_, b) = get(&h, &tok, "Practitioner?_summary=count").await;
    assert_eq!(b["total"], 2, "{b}");
    let (_, b) = get(&h, &tok, "Practitioner?_id=pr-maria").await;
    assert_eq!(b["total"], 0, "{b}");
    let (_, b) = get(&h, &tok, "Organization").await;
    assert_eq!(ids(&b), vec!["org-clinic"]);
    let (_, b) = get(&h, &tok, "Location?_summary=count").await;
    assert_eq!(b["total"], 0, "{b}");
}

#[tokio::test]
async fn pt_rs_02_a_shared_scope_alone_releases_only_the_patients_own_references() {
    let h = holder();
    let tok = bearer(&h, json!(["patient/Practitioner.rs"])).await;
    let (_, b) = get(&h, &tok, "Practitioner").await;
    // Nothing clinical is released; only the GP named by her own Patient resource.
    assert_eq!(ids(&b), vec!["pr-gp"]);
    assert_eq!(b["total"], 1);
}
