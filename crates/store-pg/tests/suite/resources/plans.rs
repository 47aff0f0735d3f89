//! PostgreSQL searches stay index-driven at scale (SQLite's counterpart is
//! crates/store/tests/it/query_plans.rs): over enough rows that a sequential scan would be a
//! real choice, with fresh statistics, `EXPLAIN` of the exact statements a search runs
//! (the total and the page in one) under an open and a patient-compartment grant uses indexes
//! and never scans a table sequentially — planned for the values, and, for the shapes a
//! connection keeps one plan for, as the generic plan made without them. Structure only: no
//! timing.

use tessera_access::{Filter, TokenDim};
use tessera_fhir::parse_search;
use tessera_store::{ResourceStore as _, Scope};

/// Rows generated: a network's mix of types, 2,000 patients, each row about as wide as a
/// real resource (~1 KB of JSON), since row width decides whether reading the heap or an
/// index is the cheaper way to count.
const ROWS: i64 = 20_000;

const FILL: &str = "
INSERT INTO resource (type, id, json, content_hash, last_updated, patient, date_lo, date_hi,
                      currently_relevant)
SELECT t, 'r' || g, convert_to('{\"resourceType\":\"' || t || '\",\"id\":\"r' || g || '\",\"text\":\"' || repeat(md5(g::text), 30) || '\"}', 'UTF8'),
       sha256(int8send(g)), 1767225600 + g % 86400, 'p' || (g % 2000),
       1262304000 + g * 24000, 1262304000 + g * 24000 + 3600, g % 9 = 0
FROM generate_series(1, $ROWS) AS g,
     LATERAL (SELECT (ARRAY['Observation','Observation','Observation','Observation',
        'Observation','Condition','Encounter','Encounter','Procedure','MedicationRequest',
        'Immunization','DiagnosticReport','AllergyIntolerance','DocumentReference',
        'ServiceRequest','Coverage'])[1 + (g * 7) % 16] AS t) AS ty;
UPDATE resource SET patient = NULL WHERE type = 'Coverage' AND rid % 2 = 0;
INSERT INTO idx_token (rid, param, system, code)
  SELECT rid, 'code', 'http://loinc.org', CASE WHEN rid % 400 = 0 THEN '4548-4' ELSE 'c' || (rid % 1500) END FROM resource
  UNION ALL SELECT rid, 'category', 'http://terminology.hl7.org/CodeSystem/observation-category',
        (ARRAY['laboratory','vital-signs','social-history','survey','imaging'])[1 + rid % 5]
        FROM resource WHERE type = 'Observation';
INSERT INTO idx_date (rid, param, lo, hi) SELECT rid, 'date', date_lo, date_hi FROM resource;
INSERT INTO idx_ref (rid, param, target_type, target_id)
  SELECT rid, p, 'Patient', patient FROM resource, unnest(ARRAY['patient','subject']) AS p
  WHERE patient IS NOT NULL;
INSERT INTO fact_token (rid, dim, system, code)
  SELECT rid, 0, 'http://loinc.org', 'c' || (rid % 1500) FROM resource
  UNION ALL SELECT rid, 2, 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', 'R'
        FROM resource WHERE rid % 50 = 0;
INSERT INTO resource_site (rid, site_id) SELECT rid, 'site-' || (rid % 12) FROM resource;
";

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

/// Never a sequential scan of the resource table; for a selective search, of no table at all.
/// (A search matching a large share of a narrow index table may rightly read it whole.)
fn assert_index_driven(what: &str, plan: &[String], selective: bool) {
    assert!(!plan.is_empty(), "{what}: no plan");
    let scans: Vec<&String> = plan
        .iter()
        .filter(|l| l.contains("Seq Scan on resource ") || (selective && l.contains("Seq Scan")))
        .collect();
    assert!(
        scans.is_empty(),
        "{what}: sequential scans {scans:?} in plan {plan:#?}"
    );
    assert!(
        plan.iter().any(|l| l.contains("Index")),
        "{what}: no index in plan {plan:#?}"
    );
}

#[test]
fn postgres_searches_use_indexes_not_sequential_scans() {
    // A database of its own: the parallel tests' open snapshots in the shared one would hold
    // back VACUUM's visibility map and, under load, tip the planner to sequential scans.
    let Some(db) = tessera_store_pg::testing::TestDb::new_database() else {
        return;
    };
    let store =
        tessera_store_pg::open_resources(db.url(), tessera_store_pg::PoolOptions::default())
            .unwrap();
    {
        let mut client = store.pool().get().unwrap();
        client
            .batch_execute(&FILL.replace("$ROWS", &ROWS.to_string()))
            .unwrap();
    }
    // What `tessera ingest` and `tessera serve`'s `load` do after writing rows.
    store.settle_after_load().unwrap();
    let patient = "p17";
    // (type, query, selective): dates run from 2010 to 2025.
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, bool);
    let cases: Vec<Case<'_>> = vec![
        ("Observation", vec![], false),
        ("Observation", vec![("_count", "50")], false),
        (
            "Observation",
            vec![("_cursor", "10000"), ("_count", "50")],
            false,
        ),
        ("Observation", vec![("code", "4548-4")], true),
        (
            "Observation",
            vec![("code", "http://loinc.org|4548-4")],
            true,
        ),
        ("Observation", vec![("category", "imaging")], true),
        ("Observation", vec![("date", "ge2025-03-01")], true),
        ("Observation", vec![("date", "gt2025-03")], true),
        (
            "Observation",
            vec![("date", "ge2012-01-01"), ("date", "lt2012-02-01")],
            true,
        ),
        ("Observation", vec![("date", "lt2010-02")], true),
        ("Observation", vec![("patient", patient)], true),
        ("Condition", vec![("code", "c44")], true),
        ("Encounter", vec![("date", "ge2025")], true),
        ("Coverage", vec![], true),
        // The other two statement shapes: the page alone, the total alone.
        ("Observation", vec![("_total", "none")], false),
        (
            "Observation",
            vec![("_summary", "count"), ("code", "4548-4")],
            true,
        ),
    ];
    let grants = [("open", Filter::All), ("patient", patient_grant(patient))];
    let mut checked = 0;
    let mut reused = 0;
    for (rtype, pairs, selective) in &cases {
        let q = query(rtype, pairs);
        for (name, grant) in &grants {
            let keeps_plan = tessera_store_pg::PgStore::reuses_plan(&q, grant);
            let plan = store.explain_search(Scope::Network, &q, grant).unwrap();
            // The patient compartment is selective whatever the query.
            let selective = *selective || *name == "patient";
            let what = format!("{rtype}?{pairs:?} under {name} grant");
            assert_index_driven(&what, &plan, selective);
            // A patient's page without clauses comes in rid order from the compartment index
            // (V7): no sort of the wide rows at any level.
            if *name == "patient" && q.clauses.is_empty() {
                assert!(
                    !plan.iter().any(|l| l.contains("Sort")),
                    "{what}: the page is sorted: {plan:#?}"
                );
            }
            // The page keeps its order: the statement never sorts the page's wide rows again
            // after the total is attached.
            assert!(
                !plan[0].starts_with("Sort"),
                "{what}: the outer query sorts: {plan:#?}"
            );
            if *name == "patient" {
                let probes = assert_probed_by_row(&what, &plan);
                if !q.clauses.is_empty() {
                    assert!(probes > 0, "{what}: no index table probed: {plan:#?}");
                }
            }
            if keeps_plan {
                let generic = store
                    .explain_search_generic(Scope::Network, &q, grant)
                    .unwrap();
                let what = format!("generic plan of {what}");
                assert_index_driven(&what, &generic, selective);
                assert!(
                    !generic[0].starts_with("Sort"),
                    "{what}: the outer query sorts: {generic:#?}"
                );
                // Under the patient grant the compartment drives, whatever range or code is
                // asked, and each index table is only probed by the row's rid.
                if *name == "patient" {
                    assert!(
                        generic.iter().any(|l| l.contains("resource_patient")),
                        "{what}: the compartment does not drive: {generic:#?}"
                    );
                    assert_eq!(
                        assert_probed_by_row(&what, &generic),
                        assert_probed_by_row(&what, &plan),
                        "{what}: the generic and custom plans probe alike"
                    );
                }
                reused += 1;
            }
            checked += 1;
        }
    }
    // The page the bench drives, a cursor's page, a patient's, `_total=none`, Coverage and the
    // plain page keep their plans under both grants; the five code and category searches
    // under both grants (a fenced probe by row under the patient's); the five date searches
    // under the patient grant.
    assert_eq!(
        reused,
        6 * grants.len() + 5 * 2 + 5,
        "shapes keeping a plan"
    );
    for (name, grant) in &grants {
        let generic = store
            .explain_read_generic(Scope::Network, "Observation", "r35", grant)
            .unwrap();
        assert_index_driven(
            &format!("generic plan of a read under {name} grant"),
            &generic,
            true,
        );
    }
    let q = query("Observation", &[]);
    let plan = store
        .explain_search(Scope::Site("site-3"), &q, &patient_grant(patient))
        .unwrap();
    assert_index_driven("Observation at a site under patient grant", &plan, true);
    assert_eq!(checked, cases.len() * grants.len());
}

/// Every scan of an index table in `plan` is a probe of one row: its index condition starts
/// with the row's `rid` (`tessera_store::sql::Probe::FromResource`, fenced on PostgreSQL so
/// the planner cannot turn the probe into a semi-join driven from the index table).
fn assert_probed_by_row(what: &str, plan: &[String]) -> usize {
    let mut probes = 0;
    for (i, line) in plan.iter().enumerate() {
        let table = ["idx_token", "idx_date", "idx_string", "idx_ref"]
            .into_iter()
            .find(|t| line.contains(&format!(" on {t} ")));
        if table.is_none() {
            continue;
        }
        let cond = plan[i + 1..]
            .iter()
            .find(|l| l.trim_start().starts_with("Index Cond:"))
            .unwrap_or_else(|| panic!("{what}: no index condition after {line:?}: {plan:#?}"));
        assert!(
            cond.contains("Index Cond: ((rid = r") || cond.contains("Index Cond: (rid = r"),
            "{what}: an index table read without the row's rid: {line:?} {cond:?} in {plan:#?}"
        );
        probes += 1;
    }
    probes
}
