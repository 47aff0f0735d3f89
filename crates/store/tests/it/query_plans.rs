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

/// The searches the FHIR API issues, by type and parameters.
fn cases(patient: &str) -> Vec<(&'static str, Vec<(&'static str, &str)>)> {
    vec![
        ("Observation", vec![]),
        ("Observation", vec![("_count", "50")]),
        ("Observation", vec![("code", "4548-4")]),
        ("Observation", vec![("code", "http://loinc.org|4548-4")]),
        ("Observation", vec![("code", "http://loinc.org|")]),
        ("Observation", vec![("category", "laboratory")]),
        ("Observation", vec![("date", "ge2020-01-01")]),
        (
            "Observation",
            vec![("date", "ge2020-01-01"), ("date", "lt2024-01-01")],
        ),
        ("Observation", vec![("patient", patient)]),
        ("Observation", vec![("_cursor", "100"), ("_count", "50")]),
        ("Condition", vec![("code", "44054006")]),
        ("Encounter", vec![("date", "ge2021")]),
        ("Patient", vec![]),
        ("Patient", vec![("family", "Re")]),
    ]
}

fn first_patient() -> String {
    synth().patient(0)["sites"][0]["patient_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn fhir_searches_use_indexes_not_table_scans() {
    let store = loaded();
    let patient = first_patient();
    let grants = [("open", Filter::All), ("patient", patient_grant(&patient))];
    for (rtype, pairs) in &cases(&patient) {
        let q = query(rtype, pairs);
        for (name, grant) in &grants {
            let plan = store.explain_search(Scope::Network, &q, grant).unwrap();
            assert_index_driven(&format!("{rtype}?{pairs:?} under {name} grant"), &plan);
        }
    }
}

/// Under a grant pinned to a patient, a search costs what the patient's record holds: the
/// compartment drives, and every fact or search-index table is only probed for a candidate
/// row's `rid` — never read for all its rows of a parameter (a `LIST SUBQUERY`, or a search
/// on `(param=?)` alone), which would grow with every patient the store holds.
#[test]
fn patient_searches_probe_index_tables_by_row() {
    let store = loaded();
    let patient = first_patient();
    let grant = patient_grant(&patient);
    for (rtype, pairs) in &cases(&patient) {
        let q = query(rtype, pairs);
        let plan = store.explain_search(Scope::Network, &q, &grant).unwrap();
        let what = format!("{rtype}?{pairs:?}");
        assert!(
            !plan.iter().any(|l| l.contains("LIST SUBQUERY")),
            "{what}: a subquery evaluated whole in {plan:#?}"
        );
        let unbounded: Vec<&String> = plan
            .iter()
            .filter(|l| {
                ["SEARCH x ", "SEARCH f ", "SEARCH e "]
                    .iter()
                    .any(|t| l.starts_with(t))
                    && !l.contains("rid=?")
            })
            .collect();
        assert!(
            unbounded.is_empty(),
            "{what}: index tables read without the row's rid: {unbounded:?} in {plan:#?}"
        );
        assert!(
            plan.iter()
                .any(|l| l.starts_with("SEARCH r ") && l.contains("(patient=?")),
            "{what}: the compartment does not drive: {plan:#?}"
        );
    }
}
