//! The compiled SQL of every Filter shape agrees with `Filter::matches` (the reference
//! semantics) over the whole data set, for every type, on every backend: the one compiler's
//! two dialects checked the same way.

use std::collections::BTreeSet;

use serde_json::Value;
use tessera_access::{Filter, Token, TokenDim, extract_facts};
use tessera_fhir::RESOURCES;
use tessera_store::Scope;

use super::{all, data, loaded, read};

/// Every Filter shape, built around one patient and one of its encounters.
fn filters(patient: &str, enc: &str) -> Vec<Filter> {
    let tok = |dim, system: Option<&str>, code: &str| Filter::Token {
        dim,
        system: system.map(str::to_owned),
        code: code.to_owned(),
    };
    let y2022 = 1_640_995_200;
    let not = |f| Filter::Not(Box::new(f));
    vec![
        Filter::All,
        Filter::Nothing,
        Filter::PatientIs(patient.into()),
        not(Filter::PatientIs(patient.into())),
        tok(TokenDim::Code, Some("http://loinc.org"), "4548-4"),
        tok(TokenDim::Code, None, "4548-4"),
        tok(TokenDim::Code, Some(""), "4548-4"),
        not(tok(TokenDim::Code, Some(""), "4548-4")),
        tok(
            TokenDim::Category,
            Some("http://terminology.hl7.org/CodeSystem/observation-category"),
            "laboratory",
        ),
        tok(TokenDim::Category, Some(""), "medication"),
        tok(TokenDim::Security, None, "SEX"),
        not(tok(TokenDim::Security, None, "MH")),
        Filter::ClinicalDateOverlaps {
            start: Some(y2022),
            end: None,
        },
        Filter::ClinicalDateOverlaps {
            start: None,
            end: Some(y2022),
        },
        not(Filter::ClinicalDateOverlaps {
            start: Some(y2022),
            end: Some(y2022 + 86_400 * 365),
        }),
        Filter::EncounterIn(vec![enc.to_owned()]),
        not(Filter::EncounterIn(vec![enc.to_owned()])),
        Filter::EncounterIn(vec![]),
        Filter::CurrentlyRelevant,
        not(Filter::CurrentlyRelevant),
        Filter::SecurityLabelOutside(vec![]),
        Filter::IdIn(vec![enc.to_owned(), patient.into()]),
        Filter::IdIn(vec![]),
        not(Filter::IdIn(vec![enc.to_owned()])),
        not(Filter::SecurityLabelOutside(vec![Token {
            system: Some("http://terminology.hl7.org/CodeSystem/v3-ActCode".into()),
            code: "SEX".into(),
        }])),
        not(Filter::SecurityLabelOutside(vec![
            Token {
                system: None,
                code: "SEX".into(),
            },
            Token {
                system: Some("http://terminology.hl7.org/CodeSystem/v3-Confidentiality".into()),
                code: "R".into(),
            },
        ])),
        Filter::And(vec![
            Filter::PatientIs(patient.into()),
            Filter::Or(vec![
                Filter::CurrentlyRelevant,
                Filter::EncounterIn(vec![enc.to_owned()]),
            ]),
        ]),
        not(Filter::And(vec![
            not(Filter::PatientIs(patient.into())),
            not(Filter::Nothing),
        ])),
        Filter::Or(vec![]),
        Filter::And(vec![]),
        not(Filter::Or(vec![])),
    ]
}

fn key(r: &Value) -> (String, String) {
    (
        r["resourceType"].as_str().unwrap().to_owned(),
        r["id"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn sql_filters_agree_with_filter_matches_on_every_backend() {
    let d = data();
    let patient = d.patient_id(0);
    let enc = d
        .resources()
        .into_iter()
        .find(|r| {
            r["resourceType"] == "Encounter"
                && r["subject"]["reference"] == format!("Patient/{patient}")
        })
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .unwrap();
    let everything = d.resources();
    for (name, store) in &loaded().stores {
        let s = store.as_ref();
        let mut discriminating = 0;
        for f in filters(&patient, &enc) {
            let expected: BTreeSet<(String, String)> = everything
                .iter()
                .filter(|r| f.matches(&extract_facts(r)))
                .map(key)
                .collect();
            let got: BTreeSet<(String, String)> = RESOURCES
                .iter()
                .flat_map(|def| all(s, Scope::Network, def.resource_type, &[], &f))
                .map(|r| key(&r))
                .collect();
            assert_eq!(got, expected, "{name}: filter {f:?}");
            discriminating +=
                usize::from(!expected.is_empty() && expected.len() < everything.len());
            // Reads agree too (sampled: the first and last resource of each type).
            for def in RESOURCES {
                let of_type: Vec<&Value> = everything
                    .iter()
                    .filter(|r| r["resourceType"] == def.resource_type)
                    .collect();
                for r in [of_type.first(), of_type.last()].into_iter().flatten() {
                    let (t, id) = key(r);
                    let read = read(s, Scope::Network, &t, &id, &f).is_some();
                    assert_eq!(
                        read,
                        f.matches(&extract_facts(r)),
                        "{name}: read {t}/{id} under {f:?}"
                    );
                }
            }
        }
        assert!(
            discriminating >= 16,
            "{name}: the filters must discriminate ({discriminating})"
        );
    }
}
