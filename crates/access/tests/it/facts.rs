//! `extract_facts` on corpus shapes and on hostile JSON.

use serde_json::{Value, json};
use tessera_access::{Token, extract_facts};

use crate::common::{PATIENT, corpus, resource};

fn tok(system: &str, code: &str) -> Token {
    Token {
        system: Some(system.to_owned()),
        code: code.to_owned(),
    }
}

#[test]
fn corpus_observation() {
    let f = extract_facts(&resource("Observation/enc-004-a1c"));
    assert_eq!(f.resource_type, "Observation");
    assert_eq!(f.id, "enc-004-a1c");
    assert_eq!(f.patient.as_deref(), Some(PATIENT));
    assert!(f.codes.contains(&tok("http://loinc.org", "4548-4")));
    assert!(f.categories.contains(&tok(
        "http://terminology.hl7.org/CodeSystem/observation-category",
        "laboratory"
    )));
    assert_eq!(f.encounters, vec!["enc-004".to_owned()]);
    // 2022-11-18T09:00:00-08:00 is exactly 17:00:00Z.
    assert_eq!(f.clinical_date, Some((1_668_790_800, 1_668_790_800)));
    assert!(!f.currently_relevant);
}

#[test]
fn corpus_document_reference_with_security() {
    let f = extract_facts(&resource("DocumentReference/enc-001-note"));
    assert_eq!(
        f.security,
        vec![tok(
            "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "SEX"
        )]
    );
    assert_eq!(f.encounters, vec!["enc-001".to_owned()]);
    assert!(
        f.codes
            .iter()
            .any(|t| t.system.as_deref() == Some("http://loinc.org"))
    );
    assert!(f.clinical_date.is_some());
}

#[test]
fn corpus_currently_relevant() {
    let relevant = |name: &str| extract_facts(&resource(name)).currently_relevant;
    assert!(
        relevant("Condition/enc-005-ra"),
        "active + problem-list-item"
    );
    assert!(
        !relevant("Condition/enc-006-ra"),
        "active encounter-diagnosis only"
    );
    assert!(!relevant("Condition/enc-002-gdm"), "resolved");
    assert!(relevant("AllergyIntolerance/enc-000-amoxicillin-allergy"));
    assert!(relevant("MedicationRequest/enc-005-acetaminophen"));
}

#[test]
fn corpus_allergy_category_and_encounter_self() {
    let f = extract_facts(&resource("AllergyIntolerance/enc-000-amoxicillin-allergy"));
    assert_eq!(
        f.categories,
        vec![Token {
            system: None,
            code: "medication".to_owned()
        }]
    );
    let e = extract_facts(&resource("Encounter/enc-005"));
    assert_eq!(e.encounters, vec!["enc-005".to_owned()]);
    assert!(e.categories.iter().any(|t| t.code == "AMB"));
}

#[test]
fn every_corpus_resource_has_type_id_and_patient_or_is_shared() {
    for (name, r) in corpus() {
        let f = extract_facts(&r);
        assert_eq!(format!("{}/{}", f.resource_type, f.id), name);
        let shared = tessera_access::SHARED_TYPES.contains(&f.resource_type.as_str());
        assert_eq!(f.patient.is_some(), !shared, "{name}");
    }
}

#[test]
fn references_in_many_shapes() {
    let r = json!({"resourceType": "Observation", "id": "o",
        "subject": {"reference": "https://fhir.example.org/r4/Patient/abc/_history/3"},
        "encounter": {"reference": "Encounter/e1"}});
    let f = extract_facts(&r);
    assert_eq!(f.patient.as_deref(), Some("abc"));
    let r = json!({"resourceType": "Observation", "id": "o",
        "subject": {"reference": "RelatedPatient/abc"}});
    assert_eq!(extract_facts(&r).patient, None);
    let r =
        json!({"resourceType": "Observation", "id": "o", "subject": {"reference": "urn:uuid:1"}});
    assert_eq!(extract_facts(&r).patient, None);
    let r =
        json!({"resourceType": "Coverage", "id": "c", "beneficiary": {"reference": "Patient/p"}});
    assert_eq!(extract_facts(&r).patient.as_deref(), Some("p"));
    let r = json!({"resourceType": "Claim", "id": "c", "patient": {"reference": "Patient/p"},
        "item": [{"encounter": [{"reference": "Encounter/b"}, {"reference": "Encounter/a"}]}]});
    assert_eq!(
        extract_facts(&r).encounters,
        vec!["a".to_owned(), "b".to_owned()]
    );
    let r = json!({"resourceType": "Patient", "id": "p"});
    assert_eq!(extract_facts(&r).patient.as_deref(), Some("p"));
}

#[test]
fn period_and_choice_dates() {
    let f = |v: Value| extract_facts(&v).clinical_date;
    let open = json!({"resourceType": "Encounter", "id": "e", "period": {"start": "2024-01-01"}});
    assert_eq!(f(open), Some((1_704_067_200, i64::MAX)));
    let bad = json!({"resourceType": "Encounter", "id": "e", "period": {"start": 5}});
    assert_eq!(f(bad), None);
    let inverted = json!({"resourceType": "Encounter", "id": "e",
        "period": {"start": "2024-02-01", "end": "2024-01-01"}});
    assert_eq!(f(inverted), None);
    let goal = json!({"resourceType": "Goal", "id": "g",
        "target": [{"dueDate": "2024-05-01"}, {"dueDate": "2024-01-01"}]});
    assert_eq!(f(goal), Some((1_704_067_200, 1_714_607_999)));
    let specimen = json!({"resourceType": "Specimen", "id": "s",
        "collection": {"collectedDateTime": "2024-01-01"}});
    assert_eq!(f(specimen), Some((1_704_067_200, 1_704_153_599)));
    let exempt = json!({"resourceType": "Patient", "id": "p", "birthDate": "2000-01-01"});
    assert_eq!(f(exempt), None);
}

#[test]
fn hostile_json_never_panics() {
    for v in [
        json!(null),
        json!(5),
        json!("Observation"),
        json!([{"resourceType": "Observation"}]),
        json!({"resourceType": 5, "id": []}),
        json!({"resourceType": "Observation", "code": "x", "category": [[{"code": "nested"}]],
               "meta": {"security": "ETH"}, "subject": [1, {"reference": 2}],
               "effectivePeriod": [], "encounter": "Encounter/x"}),
        json!({"resourceType": "Condition", "clinicalStatus": [], "category": {"coding": "x"}}),
        json!({"resourceType": "DocumentReference", "context": {"encounter": {"reference": "Encounter/"}}}),
    ] {
        let f = extract_facts(&v);
        assert!(f.encounters.iter().all(|e| !e.is_empty()));
    }
}
