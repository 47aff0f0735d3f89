//! Public-health tickets through the real token endpoint and FHIR API: the local disclosure
//! policy narrows a `patient/*.rs` ticket to the named condition (PT-TYPE-18), a condition
//! without a policy is refused, the condition and every profile claim are audited
//! (PT-AUDIT-01), and the type is advertised only when its policy exists (PT-DISC-03).

use serde_json::{Value, json};

use crate::token_support::*;

pub const T_PH: &str =
    "https://smarthealthit.org/permission-ticket-type/public-health-investigation-v1";
const PH_ISSUER: &str = "https://ph-issuer.example";
const SNOMED: &str = "http://snomed.info/sct";

/// An issuer trusted for public health (the payer client acts for the requester).
fn ph_issuer(extra: &str) -> String {
    config_toml(&format!(
        r#"
[[issuer]]
iss = "{PH_ISSUER}"
jwks_file = "issuer.json"
ticket_types = ["{T_PH}"]
{extra}
"#
    ))
}

/// Elena's COVID-19 episode besides her diabetes record from the fixture.
fn covid_records() -> Vec<Value> {
    let p = json!({"reference": "Patient/elena"});
    vec![
        json!({"resourceType":"Condition","id":"cond-covid","subject":p,"recordedDate":"2025-12-10",
            "code":{"coding":[{"system":SNOMED,"code":"840539006"}]}}),
        json!({"resourceType":"Observation","id":"obs-pcr","status":"final","subject":p,
            "effectiveDateTime":"2025-12-10",
            "code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]}}),
        json!({"resourceType":"Immunization","id":"imm-covid","status":"completed","patient":p,
            "occurrenceDateTime":"2025-10-01",
            "vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"208"}]}}),
        json!({"resourceType":"Immunization","id":"imm-flu","status":"completed","patient":p,
            "occurrenceDateTime":"2025-10-01",
            "vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"150"}]}}),
    ]
}

fn holder(extra: &str) -> Holder {
    Holder::build(&ph_issuer(extra), fixture_store(&covid_records()))
}

pub fn public_health(condition: Value) -> Value {
    json!({
        "iss": PH_ISSUER, "aud": BASE, "exp": NOW + 3600, "iat": NOW - 60,
        "jti": uuid::Uuid::new_v4().to_string(), "ticket_type": T_PH,
        "subject": {"patient": {"resourceType": "Patient", "birthDate": "1989-09-14",
            "name": [{"family": "Reyes", "given": ["Elena"]}],
            "identifier": [{"system": "http://hospital.example.org/mrn", "value": "A12345"}]}},
        "requester": {"resourceType": "Organization", "name": "County Epidemiology",
            "identifier": [{"system": NPI, "value": PAYER_NPI}]},
        "reportable_condition": condition,
        "access": {"smart_scopes": ["patient/*.rs"]}
    })
}

fn covid() -> Value {
    json!({"coding": [{"system": SNOMED, "code": "840539006", "display": "COVID-19"}]})
}

async fn redeem(h: &Holder, t: &Value) -> (http::StatusCode, Value) {
    h.redeem_as("payer", &keys().payer, &mint(t), &[]).await
}

/// Ids returned by a search with the access token.
async fn ids(h: &Holder, token: &str, query: &str) -> Vec<String> {
    let auth = format!("Bearer {token}");
    let (s, _, b) = h
        .get(&format!("/fhir/{query}"), &[("authorization", &auth)])
        .await;
    assert_eq!(s, 200, "{query}: {b}");
    let mut out: Vec<String> = b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["resource"]["id"].as_str().map(str::to_owned))
        .collect();
    out.sort();
    out
}

/// The details of the ticket's one redemption row (its token's FHIR refusals are rows of the
/// same `jti` under `fhir_access`).
fn audit_details(h: &Holder, jti: &str) -> Value {
    let rows: Vec<_> = h
        .audit(jti)
        .into_iter()
        .filter(|r| r.event == "token_exchange")
        .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    serde_json::from_str(&rows[0].details).unwrap()
}

#[tokio::test]
async fn pt_type_18_wildcard_ticket_narrowed_to_the_condition() {
    let h = holder("");
    let t = public_health(covid());
    let got = redeem(&h, &t).await;
    assert_eq!(got.0, 200, "{}", got.1);
    let scope = got.1["scope"].as_str().unwrap();
    // Not every served type: only what the COVID-19 policy names, narrowed by code.
    assert!(!scope.contains("Encounter"), "{scope}");
    assert!(!scope.contains("DocumentReference"), "{scope}");
    assert!(
        scope.contains("patient/Condition.rs?code=http://hl7.org/fhir/sid/icd-10-cm|U07.1,http://snomed.info/sct|840539006"),
        "{scope}"
    );
    let token = got.1["access_token"].as_str().unwrap();
    // The diabetes Condition and the A1c results are outside the named condition.
    assert_eq!(ids(&h, token, "Condition").await, vec!["cond-covid"]);
    assert_eq!(ids(&h, token, "Observation").await, vec!["obs-pcr"]);
    assert_eq!(ids(&h, token, "Immunization").await, vec!["imm-covid"]);
    let auth = format!("Bearer {token}");
    let (s, _, _) = h
        .get("/fhir/Condition/cond-elena", &[("authorization", &auth)])
        .await;
    assert_eq!(s, 404);
    let (s, _, _) = h.get("/fhir/Encounter", &[("authorization", &auth)]).await;
    assert_eq!(s, 403);
    // PT-AUDIT-01: the condition is on the redemption's audit row.
    let details = audit_details(&h, t["jti"].as_str().unwrap());
    assert_eq!(details["reportable_condition"], covid());
}

#[tokio::test]
async fn pt_type_18_condition_without_policy_is_refused() {
    let h = holder("");
    let t = public_health(
        json!({"coding": [{"system": SNOMED, "code": "14189004", "display": "Measles"}]}),
    );
    assert_error(
        &redeem(&h, &t).await,
        400,
        "invalid_grant",
        Some("No local disclosure policy for reportable_condition"),
    );
    // PT-AUDIT-01: refused redemptions keep the condition too.
    let rows = h.audit(t["jti"].as_str().unwrap());
    assert_eq!(rows[0].outcome, "rejected");
    let details: Value = serde_json::from_str(&rows[0].details).unwrap();
    assert_eq!(
        details["reportable_condition"]["coding"][0]["code"],
        "14189004"
    );
}

#[tokio::test]
async fn pt_type_18_configured_policy_replaces_the_default() {
    let h = holder(
        r#"
[[policy.public_health]]
name = "measles"
condition = [{ system = "http://snomed.info/sct", code = "14189004" }]
release = ["patient/Immunization.rs?code=http://hl7.org/fhir/sid/cvx|03"]
"#,
    );
    let measles = public_health(json!({"coding": [{"system": SNOMED, "code": "14189004"}]}));
    let got = redeem(&h, &measles).await;
    assert_eq!(got.0, 200, "{}", got.1);
    assert_eq!(
        got.1["scope"],
        "patient/Immunization.rs?code=http://hl7.org/fhir/sid/cvx|03"
    );
    // The built-in COVID-19 policy is gone.
    assert_error(
        &redeem(&h, &public_health(covid())).await,
        400,
        "invalid_grant",
        Some("No local disclosure policy for reportable_condition"),
    );
}

async fn advertised(h: &Holder) -> Vec<Value> {
    let (s, _, b) = h.get("/fhir/.well-known/smart-configuration", &[]).await;
    assert_eq!(s, 200);
    b["smart_permission_ticket_types_supported"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn pt_disc_03_public_health_advertised_only_with_a_disclosure_policy() {
    let with = holder("");
    assert!(advertised(&with).await.contains(&json!(T_PH)));
    // An advertised type accepts its valid baseline ticket.
    assert_eq!(redeem(&with, &public_health(covid())).await.0, 200);

    let without = holder("[policy]\npublic_health = []\n");
    let types = advertised(&without).await;
    assert!(!types.contains(&json!(T_PH)), "{types:?}");
    assert!(types.contains(&json!(T_SELF)), "{types:?}");
    assert_error(
        &redeem(&without, &public_health(covid())).await,
        400,
        "invalid_grant",
        Some("Unsupported ticket type"),
    );
}

#[tokio::test]
async fn pt_audit_01_quality_gap_profile_claims_audited() {
    let h = Holder::new();
    let t = crate::token_pipeline::quality_gap();
    let got = h.redeem_as("payer", &keys().payer, &mint(&t), &[]).await;
    assert_eq!(got.0, 200, "{}", got.1);
    let details = audit_details(&h, t["jti"].as_str().unwrap());
    assert_eq!(details["measure"], t["measure"]);
    assert_eq!(details["relationship"], "coverage");
    let rows = h.audit(t["jti"].as_str().unwrap());
    let requester: Value = serde_json::from_str(rows[0].requester.as_deref().unwrap()).unwrap();
    assert_eq!(requester["identifier"], t["requester"]["identifier"]);
}
