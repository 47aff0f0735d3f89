//! Fuzz target: ingest of a JSON document (a FHIR Bundle or a single resource) into a fresh
//! in-memory SQLite store (`tessera_store::ingest_value`), the path every `tessera ingest`
//! file takes: id assignment and per-site namespacing, reference rewriting, stamping, fact
//! and index extraction, and the transactional write.
//!
//! Input layout: byte 0 selects the site mode (no site, or a site); the rest is the JSON.
//! Checks, beyond "no panic": ingest never fails on hostile content (bad entries are reported,
//! never fatal), its report adds up, what it stored is what it counted, every stored resource
//! is served back as a JSON object with its own type and a valid FHIR id, and the SQL
//! backend's grant filtering agrees with the reference semantics `Filter::matches` on the
//! facts of each stored resource (the store's architecture invariant: a backend may never
//! release what the filter would not).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tessera_access::{Filter, extract_facts};
use tessera_fhir::{is_valid_id, parse_search};
use tessera_store::{
    IngestOptions, IngestReport, ResourceStore, Scope, SiteMode, SqliteStore, ingest_value,
};

const NOW: i64 = 1_750_000_000;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, json)) = data.split_first() else {
        return;
    };
    let Ok(doc) = serde_json::from_slice::<Value>(json) else {
        return;
    };
    let site = (mode & 1 == 1).then_some("site-a");
    let store = SqliteStore::open_in_memory().expect("in-memory store");
    let opts = IngestOptions {
        now: NOW,
        sites: if site.is_some() {
            SiteMode::PerBundleFile
        } else {
            SiteMode::None
        },
    };
    let mut report = IngestReport::default();
    ingest_value(&store, doc, site, &opts, &mut report)
        .expect("hostile content is reported, not fatal");
    assert_eq!(
        report.resources,
        report.created + report.updated + report.unchanged
    );
    assert_eq!(report.by_type.values().sum::<usize>(), report.resources);
    let counts = store.type_counts().expect("counts");
    let stored: u64 = counts.iter().map(|(_, n)| n).sum();
    assert_eq!(
        stored, report.created as u64,
        "stored rows are the created resources"
    );

    let scope = site.map_or(Scope::Network, Scope::Site);
    for (rtype, n) in &counts {
        // Types outside the search registry are stored but never served: nothing to check.
        let Ok(query) = parse_search(rtype, &[("_count".to_owned(), "200".to_owned())]) else {
            continue;
        };
        let all = store.search(scope, &query, &Filter::All).expect("search");
        assert_eq!(all.total, Some(*n));
        if all.next_cursor.is_some() {
            continue; // more than a page: the differential below wants every match at once
        }
        let mut facts = Vec::new();
        for entry in &all.resources {
            let v: Value = serde_json::from_slice(&entry.json).expect("stored JSON parses");
            assert_eq!(
                v.get("resourceType").and_then(Value::as_str),
                Some(rtype.as_str())
            );
            assert_eq!(v.get("id").and_then(Value::as_str), Some(entry.id.as_str()));
            assert!(is_valid_id(&entry.id), "stored id {:?}", entry.id);
            facts.push((entry.id.clone(), extract_facts(&v)));
        }
        let patients = facts.iter().filter_map(|(_, f)| f.patient.clone());
        let mut filters: Vec<Filter> = vec![Filter::Nothing, Filter::CurrentlyRelevant];
        for p in patients.take(2) {
            filters.push(Filter::PatientIs(p.clone()));
            filters.push(Filter::Not(Box::new(Filter::PatientIs(p))));
        }
        for filter in filters {
            let page = store
                .search(scope, &query, &filter)
                .expect("filtered search");
            let mut got: Vec<&str> = page.resources.iter().map(|e| e.id.as_str()).collect();
            let mut want: Vec<&str> = facts
                .iter()
                .filter(|(_, f)| filter.matches(f))
                .map(|(id, _)| id.as_str())
                .collect();
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "{filter:?}");
            assert_eq!(page.total, Some(want.len() as u64));
        }
        // `_total=none`: the same page, nothing counted.
        let uncounted = parse_search(
            rtype,
            &[
                ("_count".to_owned(), "200".to_owned()),
                ("_total".to_owned(), "none".to_owned()),
            ],
        )
        .expect("the same query with _total=none");
        let page = store
            .search(scope, &uncounted, &Filter::All)
            .expect("uncounted search");
        assert_eq!(page.total, None);
        let ids = |p: &tessera_store::SearchPage| -> Vec<String> {
            p.resources.iter().map(|e| e.id.clone()).collect()
        };
        assert_eq!(ids(&page), ids(&all));
    }
});
