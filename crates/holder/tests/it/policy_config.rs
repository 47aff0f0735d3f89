//! `[policy]`: the local release policy is configuration, not code. A narrowed release set or
//! served-type list narrows a real redemption and the FHIR API behind it; sensitivity
//! settings reach the grant; every invalid value fails at start-up naming its key; and the
//! quality-gap relationship can come from a contract panel (OP-35).

use serde_json::json;
use tessera_holder::Config;
use tessera_holder::config::ConfigError;

use crate::token_support::*;

fn holder(policy: &str) -> Holder {
    Holder::with_config(&config_toml(policy))
}

#[tokio::test]
async fn narrowed_release_set_narrows_a_redemption() {
    let h = holder(&format!(
        "[policy.release_types]\n\"{T_SELF}\" = [\"Condition\", \"Patient\"]\n"
    ));
    let got = h.redeem(&mint(&baseline()), &[]).await;
    assert_eq!(got.0, 200, "{}", got.1);
    // The ticket asks for Observation and Condition; local policy releases only Condition.
    assert_eq!(got.1["scope"], "patient/Condition.rs");
    let auth = format!("Bearer {}", got.1["access_token"].as_str().unwrap());
    let (s, _, _) = h
        .get("/fhir/Observation", &[("authorization", &auth)])
        .await;
    assert_eq!(s, 403);
    let (s, _, b) = h.get("/fhir/Condition", &[("authorization", &auth)]).await;
    assert_eq!(s, 200);
    assert_eq!(b["total"], 1, "{b}");
    // Another ticket type keeps its default.
    let defaults = Holder::new();
    let got = defaults.redeem(&mint(&baseline()), &[]).await;
    assert_eq!(
        got.1["scope"],
        "patient/Condition.rs patient/Observation.rs"
    );
}

#[tokio::test]
async fn release_set_excluding_everything_requested_is_no_authorized_scopes() {
    let h = holder(&format!(
        "[policy.release_types]\n\"{T_SELF}\" = [\"Patient\"]\n"
    ));
    assert_error(
        &h.redeem(&mint(&baseline()), &[]).await,
        400,
        "invalid_scope",
        Some("No authorized scopes"),
    );
}

#[tokio::test]
async fn served_types_and_never_auto_release_narrow_every_type() {
    let h = holder(
        "[policy]\nserved_types = [\"Patient\", \"Condition\", \"Observation\"]\nnever_auto_release = [\"Observation\"]\n",
    );
    let got = h.redeem(&mint(&baseline()), &[]).await;
    assert_eq!(got.1["scope"], "patient/Condition.rs", "{}", got.1);
}

#[tokio::test]
async fn sensitivity_profile_off_rejects_sensitivity_withhold() {
    let mut t = baseline();
    t["access"]["sensitivity_withhold"] = json!({"unlisted": true});
    let on = Holder::new();
    assert_eq!(on.redeem(&mint(&t), &[]).await.0, 200);
    let off = holder("[policy.sensitivity]\nprofile = false\n");
    assert_error(
        &off.redeem(&mint(&t), &[]).await,
        400,
        "invalid_grant",
        Some("Unsupported access constraint: sensitivity_withhold"),
    );
}

#[tokio::test]
async fn local_withhold_labels_are_never_released() {
    let labelled = json!({"resourceType":"Condition","id":"cond-sud","subject":{"reference":"Patient/elena"},
        "recordedDate":"2022-02-01","meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"SUD"}]},
        "code":{"coding":[{"system":"http://snomed.info/sct","code":"7200002"}]}});
    let toml = config_toml(&format!(
        "[policy.sensitivity.local_withhold]\n\"{T_SELF}\" = [{{ system = \"http://terminology.hl7.org/CodeSystem/v3-ActCode\", code = \"SUD\" }}]\n"
    ));
    let count = |h: Holder| async move {
        let got = h.redeem(&mint(&baseline()), &[]).await;
        let auth = format!("Bearer {}", got.1["access_token"].as_str().unwrap());
        let (_, _, b) = h.get("/fhir/Condition", &[("authorization", &auth)]).await;
        b["total"].clone()
    };
    let default = Holder::build(
        &config_toml(""),
        fixture_store(std::slice::from_ref(&labelled)),
    );
    assert_eq!(count(default).await, 2);
    let withheld = Holder::build(&toml, fixture_store(&[labelled]));
    assert_eq!(count(withheld).await, 1);
}

fn config_error(policy: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    for name in ["issuer.json", "client.json", "payer.json", "idp.json"] {
        std::fs::write(dir.path().join(name), public_set(&keys().issuer)).unwrap();
    }
    match Config::from_toml(&config_toml(policy), dir.path()) {
        Ok(_) => panic!("accepted: {policy}"),
        Err(e @ ConfigError::Invalid { .. }) | Err(e @ ConfigError::Parse { .. }) => e.to_string(),
        Err(e) => panic!("unexpected {e}"),
    }
}

#[test]
fn invalid_policy_values_name_their_key() {
    let cases = [
        (
            "[policy]\nserved_types = [\"Patient\", \"Obsrvation\"]\n",
            "config key `policy.served_types[1]`: \"Obsrvation\" is not a resource type this server implements",
        ),
        (
            "[policy]\nserved_types = []\n",
            "config key `policy.served_types`: empty: nothing would be served",
        ),
        (
            "[policy.release_types]\n\"https://example.org/other-type\" = [\"Patient\"]\n",
            "config key `policy.release_types.\"https://example.org/other-type\"`: https://example.org/other-type is not a known ticket type URI",
        ),
        (
            "[policy.sensitivity]\nsensitive_labels = [{ system = \"\", code = \"HIV\" }]\n",
            "config key `policy.sensitivity.sensitive_labels[0]`: needs system and code",
        ),
        (
            "[[policy.public_health]]\nname = \"x\"\ncondition = [{ system = \"http://snomed.info/sct\", code = \"1\" }]\nrelease = [\"Observation.read\"]\n",
            "config key `policy.public_health[0].release`: \"Observation.read\" is not a SMART v2 resource scope",
        ),
        (
            "[[policy.public_health]]\nname = \"x\"\ncondition = [{ system = \"http://snomed.info/sct\", code = \"1\" }]\nrelease = [\"patient/Specimen.rs\"]\n",
            "config key `policy.public_health[0].release`: \"Specimen\" is not a resource type this server implements",
        ),
        (
            "[[policy.public_health]]\nname = \"a\"\ncondition = [{ system = \"http://snomed.info/sct\", code = \"1\" }]\nrelease = [\"patient/Patient.rs\"]\n[[policy.public_health]]\nname = \"b\"\ncondition = [{ system = \"http://snomed.info/sct\", code = \"1\" }]\nrelease = [\"patient/Patient.rs\"]\n",
            "config key `policy.public_health`: coding http://snomed.info/sct|1 is claimed by policies a and b",
        ),
        (
            "[[policy.public_health]]\nname = \"a\"\ncondition = []\nrelease = [\"patient/Patient.rs\"]\n",
            "config key `policy.public_health`: policy a: no selecting codings",
        ),
        (
            "[[policy.contract_panel]]\npayer = { system = \"http://hl7.org/fhir/sid/us-npi\", value = \"1\" }\nmembers = []\n",
            "config key `policy.contract_panel[0].members`: empty",
        ),
    ];
    for (toml, expected) in cases {
        assert_eq!(config_error(toml), expected, "{toml}");
    }
    // Unknown keys are parse errors, as everywhere in the file.
    let unknown = config_error("[policy]\nserved_type = [\"Patient\"]\n");
    assert!(unknown.contains("served_type"), "{unknown}");
}

// ---- OP-35: quality-gap relationship from a contract panel ------------------------------

/// Maria (national MPI `pt-555`) has no Coverage from the payer.
fn maria_gap() -> serde_json::Value {
    let mut t = crate::token_pipeline::quality_gap();
    t["subject"]["patient"] = json!({"resourceType": "Patient", "birthDate": "1948-06-15",
        "name": [{"family": "Reyes", "given": ["Maria"]}],
        "identifier": [{"system": "https://national-mpi.net", "value": "pt-555"}]});
    t
}

fn panel(payer: &str, member: &str) -> String {
    format!(
        "[[policy.contract_panel]]\npayer = {{ system = \"{NPI}\", value = \"{payer}\" }}\nmembers = [{{ system = \"https://national-mpi.net\", value = \"{member}\" }}]\n"
    )
}

async fn as_payer(h: &Holder, t: &serde_json::Value) -> (http::StatusCode, serde_json::Value) {
    h.redeem_as("payer", &keys().payer, &mint(t), &[]).await
}

#[tokio::test]
async fn op_35_contract_panel_alone_establishes_the_relationship() {
    let h = holder(&panel(PAYER_NPI, "pt-555"));
    let t = maria_gap();
    let got = as_payer(&h, &t).await;
    assert_eq!(got.0, 200, "{}", got.1);
    let rows = h.audit(t["jti"].as_str().unwrap());
    let details: serde_json::Value = serde_json::from_str(&rows[0].details).unwrap();
    assert_eq!(details["relationship"], "contract_panel");
}

#[tokio::test]
async fn op_35_neither_coverage_nor_panel_is_refused() {
    let refused = Some("Requester relationship not established");
    // No panel at all.
    assert_error(
        &as_payer(&Holder::new(), &maria_gap()).await,
        400,
        "invalid_grant",
        refused,
    );
    // A panel of this payer that does not list her.
    let other_member = holder(&panel(PAYER_NPI, "pt-999"));
    assert_error(
        &as_payer(&other_member, &maria_gap()).await,
        400,
        "invalid_grant",
        refused,
    );
    // Another payer's panel listing her establishes nothing for this requester.
    let other_payer = holder(&panel("1111111112", "pt-555"));
    assert_error(
        &as_payer(&other_payer, &maria_gap()).await,
        400,
        "invalid_grant",
        refused,
    );
}

// ---- PT-TYPE-16: optional narrowing to the measure's data -------------------------------

#[tokio::test]
async fn pt_type_16_measure_policy_narrows_quality_gap_release() {
    let measure = "[[policy.quality_gap_measure]]\nname = \"cms122\"\nmeasure = [{ system = \"https://www.cms.gov/medicare/quality/measures\", code = \"CMS122v12\" }]\nrelease = [\"patient/Observation.rs?code=http://loinc.org|17856-6\"]\n";
    let released = |h: Holder| async move {
        let got = as_payer(&h, &crate::token_pipeline::quality_gap()).await;
        assert_eq!(got.0, 200, "{}", got.1);
        let auth = format!("Bearer {}", got.1["access_token"].as_str().unwrap());
        let (s, _, b) = h
            .get("/fhir/Observation", &[("authorization", &auth)])
            .await;
        assert_eq!(s, 200);
        (
            got.1["scope"].as_str().unwrap().to_owned(),
            b["total"].clone(),
        )
    };
    let (scope, total) = released(Holder::new()).await;
    assert_eq!(scope, "patient/Observation.rs?code=http://loinc.org|4548-4");
    assert_eq!(total, 1);
    // The measure's policy is ANDed with the ticket's own narrowing: nothing is both.
    let (scope, total) = released(holder(measure)).await;
    assert_eq!(
        scope,
        "patient/Observation.rs?code=http://loinc.org|17856-6&code=http://loinc.org|4548-4"
    );
    assert_eq!(total, 0);
}
