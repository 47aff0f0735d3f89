//! The compiled SQL of every Filter shape agrees with `Filter::matches` (the reference
//! semantics) over a whole data set, for every type: the synthetic one always, an external
//! corpus too when `TESSERA_CORPUS` names one (see `external`).

use std::collections::BTreeSet;

use serde_json::Value;
use tessera_access::{Filter, Token, TokenDim, extract_facts};
use tessera_fhir::RESOURCES;
use tessera_store::{ResourceStore, Scope};

use crate::{all, loaded, synth};

/// Every Filter shape, built around one patient and one of its encounters.
fn filters(patient: &str, enc: &str) -> Vec<Filter> {
    let tok = |dim, system: Option<&str>, code: &str| Filter::Token {
        dim,
        system: system.map(str::to_owned),
        code: code.to_owned(),
    };
    let y2022 = 1_640_995_200;
    vec![
        Filter::All,
        Filter::Nothing,
        Filter::PatientIs(patient.into()),
        Filter::Not(Box::new(Filter::PatientIs(patient.into()))),
        tok(TokenDim::Code, Some("http://loinc.org"), "4548-4"),
        tok(TokenDim::Code, None, "4548-4"),
        tok(TokenDim::Code, Some(""), "4548-4"),
        tok(
            TokenDim::Category,
            Some("http://terminology.hl7.org/CodeSystem/observation-category"),
            "laboratory",
        ),
        tok(TokenDim::Category, Some(""), "medication"),
        tok(TokenDim::Security, None, "SEX"),
        Filter::Not(Box::new(tok(TokenDim::Security, None, "MH"))),
        Filter::ClinicalDateOverlaps {
            start: Some(y2022),
            end: None,
        },
        Filter::ClinicalDateOverlaps {
            start: None,
            end: Some(y2022),
        },
        Filter::Not(Box::new(Filter::ClinicalDateOverlaps {
            start: Some(y2022),
            end: Some(y2022 + 86_400 * 365),
        })),
        Filter::EncounterIn(vec![enc.to_owned()]),
        Filter::EncounterIn(vec![]),
        Filter::CurrentlyRelevant,
        Filter::SecurityLabelOutside(vec![]),
        Filter::IdIn(vec![enc.to_owned(), patient.into()]),
        Filter::IdIn(vec![]),
        Filter::Not(Box::new(Filter::IdIn(vec![enc.to_owned()]))),
        Filter::Not(Box::new(Filter::SecurityLabelOutside(vec![Token {
            system: Some("http://terminology.hl7.org/CodeSystem/v3-ActCode".into()),
            code: "SEX".into(),
        }]))),
        Filter::And(vec![
            Filter::PatientIs(patient.into()),
            Filter::Or(vec![
                Filter::CurrentlyRelevant,
                Filter::EncounterIn(vec![enc.to_owned()]),
            ]),
        ]),
        Filter::Or(vec![]),
        Filter::And(vec![]),
    ]
}

#[test]
fn sql_filters_agree_with_filter_matches_on_the_synthetic_data() {
    let s = synth();
    let rec = &s.patient(0)["sites"][0];
    let patient = rec["patient_id"].as_str().unwrap();
    let enc = s
        .resources()
        .into_iter()
        .find(|r| {
            r["resourceType"] == "Encounter"
                && r["subject"]["reference"] == format!("Patient/{patient}")
        })
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .unwrap();
    let everything = agree(loaded().as_ref(), patient, &enc);
    assert_eq!(everything, s.resources().len());
}

/// Checks every filter over every resource of `store`; returns how many resources there are.
pub fn agree(store: &dyn ResourceStore, patient: &str, enc: &str) -> usize {
    let everything: Vec<Value> = RESOURCES
        .iter()
        .flat_map(|d| all(store, Scope::Network, d.resource_type, &[], &Filter::All))
        .collect();
    let mut nonempty = 0;
    for f in filters(patient, enc) {
        let expected: BTreeSet<(String, String)> = everything
            .iter()
            .filter(|r| f.matches(&extract_facts(r)))
            .map(key)
            .collect();
        let got: BTreeSet<(String, String)> = RESOURCES
            .iter()
            .flat_map(|d| all(store, Scope::Network, d.resource_type, &[], &f))
            .map(|r| key(&r))
            .collect();
        assert_eq!(got, expected, "filter {f:?}");
        nonempty += usize::from(!expected.is_empty() && expected.len() < everything.len());
        // Reads agree too (sampled: the first and last resource of each type).
        for d in RESOURCES {
            let of_type: Vec<&Value> = everything
                .iter()
                .filter(|r| r["resourceType"] == d.resource_type)
                .collect();
            for r in [of_type.first().copied(), of_type.last().copied()]
                .into_iter()
                .flatten()
            {
                let (t, id) = key(r);
                let read = store.read(Scope::Network, &t, &id, &f).unwrap().is_some();
                assert_eq!(
                    read,
                    f.matches(&extract_facts(r)),
                    "read {t}/{id} under {f:?}"
                );
            }
        }
    }
    assert!(
        nonempty >= 12,
        "the filters must actually discriminate ({nonempty})"
    );
    everything.len()
}

fn key(r: &Value) -> (String, String) {
    (
        r["resourceType"].as_str().unwrap().to_owned(),
        r["id"].as_str().unwrap().to_owned(),
    )
}
