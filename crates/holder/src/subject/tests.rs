//! Matcher unit tests (PT-SUBJ-08): thin demographics, hints, identifiers, ambiguity.

use serde_json::json;
use tessera_ticket::claims::{Identifier, Reference};

use super::*;

#[derive(Default)]
struct Mem(Vec<Value>);

impl Mem {
    fn find(&self, id: &str) -> Option<Value> {
        self.0.iter().find(|p| p["id"] == id).cloned()
    }

    fn matching(&self, keep: impl Fn(&Value) -> bool) -> Vec<Value> {
        self.0.iter().filter(|p| keep(p)).cloned().collect()
    }
}

fn ready<'a, T: Send + 'a>(v: T) -> Lookup<'a, T> {
    Box::pin(std::future::ready(Ok(v)))
}

impl LocalRecords for Mem {
    fn patient<'a>(&'a self, id: &'a str) -> Lookup<'a, Option<Value>> {
        ready(self.find(id))
    }
    fn patients_by_identifier<'a>(
        &'a self,
        system: &'a str,
        value: &'a str,
    ) -> Lookup<'a, Vec<Value>> {
        ready(self.matching(|p| {
            p["identifier"].as_array().is_some_and(|ids| {
                ids.iter()
                    .any(|i| i["system"] == system && i["value"] == value)
            })
        }))
    }
    fn patients_by_birth_date<'a>(&'a self, date: &'a str) -> Lookup<'a, Vec<Value>> {
        ready(self.matching(|p| p["birthDate"] == date))
    }
    fn encounter<'a>(&'a self, _: &'a str) -> Lookup<'a, Option<Value>> {
        ready(None)
    }
    fn coverages<'a>(&'a self, _: &'a str) -> Lookup<'a, Vec<Value>> {
        ready(vec![])
    }
    fn organization<'a>(&'a self, _: &'a str) -> Lookup<'a, Option<Value>> {
        ready(None)
    }
}

/// [`resolve_subject`] run to completion (the in-memory lookups never wait).
fn resolve(
    db: &Mem,
    subject: &Subject,
    evidence: Option<&EvidenceDemographics>,
    bases: &[String],
) -> Result<String, TokenError> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(resolve_subject(db, subject, evidence, bases))
}

fn elena(id: &str) -> Value {
    json!({"resourceType":"Patient","id":id,"birthDate":"1989-09-14","gender":"female",
        "name":[{"family":"Reyes","given":["Elena","Marisol"]}],
        "identifier":[{"system":"http://hospital.example.org/mrn","value":"A12345"}]})
}

fn ticket_patient() -> Patient {
    serde_json::from_value(json!({"resourceType":"Patient",
        "identifier":[{"system":"http://hospital.example.org/mrn","value":"A12345"}],
        "birthDate":"1989-09-14","name":[{"family":"Reyes","given":["Elena"]}]}))
    .unwrap()
}

fn subject(p: Patient) -> Subject {
    Subject {
        patient: p,
        patient_reference: None,
        recipient_record: None,
    }
}

const BASES: &[&str] = &["https://dh.example/fhir"];

fn bases() -> Vec<String> {
    BASES.iter().map(|s| s.to_string()).collect()
}

#[test]
fn identifier_match_resolves() {
    let db = Mem(vec![
        elena("p1"),
        json!({"resourceType":"Patient","id":"p2","birthDate":"1950-01-01"}),
    ]);
    assert_eq!(
        resolve(&db, &subject(ticket_patient()), None, &bases()),
        Ok("p1".into())
    );
}

#[test]
fn identifier_match_with_conflicting_birth_date_is_no_match() {
    // PT-SUBJ-07: an MRN never bypasses demographics.
    let mut p = ticket_patient();
    p.birth_date = Some("1990-01-01".into());
    let db = Mem(vec![elena("p1")]);
    assert_eq!(
        resolve(&db, &subject(p), None, &bases()),
        Err(TokenError::SubjectUnresolved)
    );
}

#[test]
fn demographics_without_identifier_and_normalization() {
    let mut p = ticket_patient();
    p.identifier.clear();
    p.name = vec![HumanName {
        family: Some("REYES".into()),
        given: vec!["élena".into()],
        text: None,
    }];
    let db = Mem(vec![elena("p1")]);
    assert_eq!(resolve(&db, &subject(p), None, &bases()), Ok("p1".into()));
}

#[test]
fn name_alone_never_matches() {
    let mut p = ticket_patient();
    p.identifier.clear();
    p.birth_date = None;
    let db = Mem(vec![elena("p1")]);
    assert_eq!(
        resolve(&db, &subject(p), None, &bases()),
        Err(TokenError::SubjectUnresolved)
    );
}

#[test]
fn two_identical_patients_are_ambiguous() {
    // PT-SUBJ-03.
    let db = Mem(vec![elena("p1"), elena("p2")]);
    assert_eq!(
        resolve(&db, &subject(ticket_patient()), None, &bases()),
        Err(TokenError::SubjectAmbiguous)
    );
}

#[test]
fn hints_resolve_but_are_checked() {
    let other = json!({"resourceType":"Patient","id":"p9","birthDate":"1950-01-01","name":[{"family":"Smith","given":["Ann"]}]});
    let db = Mem(vec![elena("p1"), other]);
    // PT-SUBJ-04/06: absolute hint at our base (J24 recipient_record).
    let mut s = subject(ticket_patient());
    s.recipient_record = Some(Reference {
        reference: Some("https://dh.example/fhir/Patient/p1".into()),
        ..Reference::default()
    });
    assert_eq!(resolve(&db, &s, None, &bases()), Ok("p1".into()));
    // PT-SUBJ-05: hint to an inconsistent record.
    let mut s = subject(ticket_patient());
    s.patient_reference = Some("Patient/p9".into());
    assert_eq!(
        resolve(&db, &s, None, &bases()),
        Err(TokenError::SubjectUnresolved)
    );
    // Unresolvable hint falls back to matching.
    let mut s = subject(ticket_patient());
    s.patient_reference = Some("https://elsewhere.example/Patient/zz".into());
    assert_eq!(resolve(&db, &s, None, &bases()), Ok("p1".into()));
    // Two hints naming different records.
    let mut s = subject(ticket_patient());
    s.patient_reference = Some("Patient/p1".into());
    s.recipient_record = Some(Reference {
        reference: Some("Patient/p9".into()),
        ..Reference::default()
    });
    assert_eq!(
        resolve(&db, &s, None, &bases()),
        Err(TokenError::SubjectAmbiguous)
    );
}

#[test]
fn evidence_must_agree_with_the_local_record() {
    let db = Mem(vec![elena("p1")]);
    let ev = EvidenceDemographics {
        family: Some("Reyes".into()),
        given: Some("Elena".into()),
        birth_date: Some("1989-09-14".into()),
    };
    assert_eq!(
        resolve(&db, &subject(ticket_patient()), Some(&ev), &bases()),
        Ok("p1".into())
    );
    let ev = EvidenceDemographics {
        family: Some("Chen".into()),
        ..ev
    };
    assert_eq!(
        resolve(&db, &subject(ticket_patient()), Some(&ev), &bases()),
        Err(TokenError::SubjectUnresolved)
    );
}

#[test]
fn local_id_accepts_only_own_bases() {
    let b = bases();
    assert_eq!(local_id("Patient/x1", "Patient", &b), Some("x1".into()));
    assert_eq!(
        local_id("https://dh.example/fhir/Patient/x1", "Patient", &b),
        Some("x1".into())
    );
    assert_eq!(
        local_id("https://other/fhir/Patient/x1", "Patient", &b),
        None
    );
    assert_eq!(local_id("Encounter/x1", "Patient", &b), None);
    let _ = Identifier::default();
}
