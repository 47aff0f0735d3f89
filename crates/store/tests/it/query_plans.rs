//! The searches the FHIR API issues stay index-driven (issue 12, scale of data): for reads by
//! type, code, date, patient and a paging cursor, under an open grant and under a typical
//! patient-compartment grant, `EXPLAIN QUERY PLAN` of the exact statements the store runs
//! (count and page) shows only `SEARCH … USING [COVERING] INDEX` / `INTEGER PRIMARY KEY`
//! steps — never a `SCAN` of a table. Structure only: no timing.

use tessera_access::{Filter, TokenDim};
use tessera_fhir::parse_search;
use tessera_store::Scope;

use crate::{loaded, synth};

fn query(rtype: &str, pairs: &[(&str, &str)]) -> tessera_fhir::SearchQuery {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    parse_search(rtype, &pairs).unwrap()
}

/// The grant shape of a patient-scoped ticket: the compartment, minus a sensitive label.
fn patient_grant(patient: &str) -> Filter {
    Filter::And(vec![
        Filter::PatientIs(patient.to_owned()),
        Filter::Not(Box::new(Filter::Token {
            dim: TokenDim::Security,
            system: None,
            code: "R".into(),
        })),
    ])
}

fn assert_index_driven(what: &str, plan: &[String]) {
    assert!(!plan.is_empty(), "{what}: no plan");
    let scans: Vec<&String> = plan.iter().filter(|l| l.starts_with("SCAN")).collect();
    assert!(
        scans.is_empty(),
        "{what}: full scans {scans:?} in plan {plan:#?}"
    );
    assert!(
        plan.iter().any(|l| l.contains("USING")),
        "{what}: no index in plan {plan:#?}"
    );
}

#[test]
fn fhir_searches_use_indexes_not_table_scans() {
    let store = loaded();
    let patient = synth().patient(0)["sites"][0]["patient_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("Observation", vec![]),
        ("Observation", vec![("_count", "50")]),
        ("Observation", vec![("code", "4548-4")]),
        ("Observation", vec![("code", "http://loinc.org|4548-4")]),
        ("Observation", vec![("category", "laboratory")]),
        ("Observation", vec![("date", "ge2020-01-01")]),
        (
            "Observation",
            vec![("date", "ge2020-01-01"), ("date", "lt2024-01-01")],
        ),
        ("Observation", vec![("patient", patient.as_str())]),
        ("Observation", vec![("_cursor", "100"), ("_count", "50")]),
        ("Condition", vec![("code", "44054006")]),
        ("Encounter", vec![("date", "ge2021")]),
        ("Patient", vec![]),
    ];
    let grants = [("open", Filter::All), ("patient", patient_grant(&patient))];
    for (rtype, pairs) in &cases {
        let q = query(rtype, pairs);
        for (name, grant) in &grants {
            let plan = store.explain_search(Scope::Network, &q, grant).unwrap();
            assert_index_driven(&format!("{rtype}?{pairs:?} under {name} grant"), &plan);
        }
    }
}
