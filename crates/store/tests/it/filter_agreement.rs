//! The compiled SQL of every Filter shape agrees with `Filter::matches` (the reference
//! semantics) over the whole corpus, for every type.

use std::collections::BTreeSet;

use tessera_access::{Filter, Token, TokenDim, extract_facts};
use tessera_fhir::RESOURCES;
use tessera_store::{ResourceStore, Scope};

use crate::{all, loaded};

const ELENA_AUSTIN: &str = "7f3a1c5e-9b2d-4e8f-a6c0-1d3e5a7b9c2f";

fn filters(enc: &str) -> Vec<Filter> {
    let tok = |dim, system: Option<&str>, code: &str| Filter::Token {
        dim,
        system: system.map(str::to_owned),
        code: code.to_owned(),
    };
    let y2022 = 1_640_995_200;
    vec![
        Filter::All,
        Filter::Nothing,
        Filter::PatientIs(ELENA_AUSTIN.into()),
        Filter::Not(Box::new(Filter::PatientIs(ELENA_AUSTIN.into()))),
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
        Filter::IdIn(vec![enc.to_owned(), ELENA_AUSTIN.into()]),
        Filter::IdIn(vec![]),
        Filter::Not(Box::new(Filter::IdIn(vec![enc.to_owned()]))),
        Filter::Not(Box::new(Filter::SecurityLabelOutside(vec![Token {
            system: Some("http://terminology.hl7.org/CodeSystem/v3-ActCode".into()),
            code: "SEX".into(),
        }]))),
        Filter::And(vec![
            Filter::PatientIs(ELENA_AUSTIN.into()),
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
fn sql_filters_agree_with_filter_matches_on_the_corpus() {
    let store = loaded();
    let enc = format!(
        "{}-enc-000",
        tessera_store::site_code("central-austin-family-medicine")
    );
    let everything: Vec<_> = RESOURCES
        .iter()
        .flat_map(|d| {
            all(
                store.as_ref(),
                Scope::Network,
                d.resource_type,
                &[],
                &Filter::All,
            )
        })
        .collect();
    assert_eq!(everything.len(), 3911);
    let mut nonempty = 0;
    for f in filters(&enc) {
        let expected: BTreeSet<(String, String)> = everything
            .iter()
            .filter(|r| f.matches(&extract_facts(r)))
            .map(|r| {
                (
                    r["resourceType"].as_str().unwrap().to_owned(),
                    r["id"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let got: BTreeSet<(String, String)> = RESOURCES
            .iter()
            .flat_map(|d| all(store.as_ref(), Scope::Network, d.resource_type, &[], &f))
            .map(|r| {
                (
                    r["resourceType"].as_str().unwrap().to_owned(),
                    r["id"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(got, expected, "filter {f:?}");
        nonempty += usize::from(!expected.is_empty() && expected.len() < everything.len());
        // Reads agree too (sampled: the first and last resource of the corpus).
        for r in [everything.first().unwrap(), everything.last().unwrap()] {
            let (t, id) = (
                r["resourceType"].as_str().unwrap(),
                r["id"].as_str().unwrap(),
            );
            let read = store.read(Scope::Network, t, id, &f).unwrap().is_some();
            assert_eq!(
                read,
                f.matches(&extract_facts(r)),
                "read {t}/{id} under {f:?}"
            );
        }
    }
    assert!(
        nonempty >= 12,
        "the filters must actually discriminate ({nonempty})"
    );
}
