//! Opt-in checks over an external corpus of FHIR bundles (one directory per patient, one
//! bundle file per site, like the synthetic data set's layout): they run only when the
//! `TESSERA_CORPUS` environment variable names a directory, and otherwise print one line
//! saying they were skipped. Expected counts come from the corpus files themselves.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tessera_store::{IngestOptions, ResourceStore, SiteMode, SqliteStore, ingest_path};

use crate::filter_agreement::agree;
use crate::{NOW, json_files, opts};

/// The corpus directory, or `None` (after saying so) when `TESSERA_CORPUS` is unset. A value
/// that is not a directory fails the test: a mistyped path must not pass silently.
fn corpus(test: &str) -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("TESSERA_CORPUS") else {
        eprintln!("{test}: skipped: TESSERA_CORPUS is not set (it names an external corpus)");
        return None;
    };
    let dir = PathBuf::from(dir);
    assert!(
        dir.is_dir(),
        "TESSERA_CORPUS={} is not a directory",
        dir.display()
    );
    Some(dir)
}

/// Resources per type and bundle sites, read straight from the corpus files.
fn file_counts(dir: &std::path::Path) -> (BTreeMap<String, usize>, usize, usize) {
    let mut counts = BTreeMap::new();
    let mut sites = std::collections::BTreeSet::new();
    let mut entries = 0;
    let mut seen = std::collections::BTreeSet::new();
    for file in json_files(dir) {
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        if doc["resourceType"] != "Bundle" {
            continue;
        }
        let site = tessera_store::site_id_from(file.file_stem().unwrap().to_str().unwrap());
        for e in doc["entry"].as_array().unwrap() {
            let r = &e["resource"];
            entries += 1;
            let rtype = r["resourceType"].as_str().unwrap().to_owned();
            // Non-UUID ids are namespaced per site at ingest: count per (site, id) for those.
            let id = r["id"].as_str().unwrap_or_default();
            let key = if id.len() == 36 {
                (rtype.clone(), String::new(), id.to_owned())
            } else {
                (rtype.clone(), site.clone(), id.to_owned())
            };
            if seen.insert(key) {
                *counts.entry(rtype).or_default() += 1;
            }
        }
        sites.insert(site);
    }
    (counts, sites.len(), entries)
}

#[test]
fn external_corpus_ingests_completely_and_idempotently() {
    let Some(dir) = corpus("external_corpus_ingests_completely_and_idempotently") else {
        return;
    };
    let (expected, sites, entries) = file_counts(&dir);
    let tmp = tempfile::tempdir().unwrap();
    let store = tessera_store::open_url(&format!(
        "sqlite://{}",
        tmp.path().join("corpus.db").display()
    ))
    .unwrap();
    let first = ingest_path(store.as_ref(), &dir, &opts()).unwrap();
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    assert_eq!(first.resources, entries);
    let stored: BTreeMap<String, usize> = store
        .type_counts()
        .unwrap()
        .into_iter()
        .map(|(t, n)| (t, n as usize))
        .collect();
    assert_eq!(stored, expected);
    assert_eq!(store.sites().unwrap().len(), sites);
    let later = IngestOptions {
        now: NOW + 3600,
        sites: SiteMode::PerBundleFile,
    };
    let again = ingest_path(store.as_ref(), &dir, &later).unwrap();
    assert_eq!(
        (again.created, again.updated, again.unchanged),
        (0, 0, entries)
    );
}

#[test]
fn external_corpus_sql_filters_agree_with_filter_matches() {
    let Some(dir) = corpus("external_corpus_sql_filters_agree_with_filter_matches") else {
        return;
    };
    let store = SqliteStore::open_in_memory().unwrap();
    let report = ingest_path(&store, &dir, &opts()).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // The patient and encounter the filters name: the first Encounter's.
    let enc = crate::all(
        &store,
        tessera_store::Scope::Network,
        "Encounter",
        &[],
        &tessera_access::Filter::All,
    );
    let enc = enc.first().expect("the corpus has encounters");
    let patient = enc["subject"]["reference"]
        .as_str()
        .unwrap()
        .trim_start_matches("Patient/");
    let n = agree(&store, patient, enc["id"].as_str().unwrap());
    assert_eq!(
        n as u64,
        store
            .type_counts()
            .unwrap()
            .iter()
            .map(|(_, n)| n)
            .sum::<u64>()
    );
}

/// The corpus's own cross-site person identifier, configured as an enterprise system, links
/// each patient directory's records into one person (issue 14): expected persons and their
/// records are read from the files (every Patient's value in that system).
#[test]
fn external_corpus_links_each_person_across_sites() {
    const PERSON: &str = "urn:example:smart-permission-ticket-demo:person-id";
    let Some(dir) = corpus("external_corpus_links_each_person_across_sites") else {
        return;
    };
    let mut want: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for file in json_files(&dir) {
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        for e in doc["entry"].as_array().into_iter().flatten() {
            let r = &e["resource"];
            if r["resourceType"] != "Patient" {
                continue;
            }
            for i in r["identifier"].as_array().into_iter().flatten() {
                if i["system"] == PERSON {
                    want.entry(i["value"].as_str().unwrap().to_owned())
                        .or_default()
                        .insert(r["id"].as_str().unwrap().to_owned());
                }
            }
        }
    }
    let store = SqliteStore::open_in_memory().unwrap();
    ingest_path(&store, &dir, &opts()).unwrap();
    let rules = tessera_store::linkage::LinkageRules {
        enterprise_systems: vec![PERSON.to_owned()],
        patient_link: true,
    };
    let summary = store.rebuild_linkage(&rules, NOW, "test").unwrap();
    assert!(summary.conflicts.is_empty(), "{:?}", summary.conflicts);
    let records = store.linked_records().unwrap();
    let mut got: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for r in &records {
        got.entry(r.person.clone())
            .or_default()
            .insert(r.record.clone());
    }
    let want: std::collections::BTreeSet<_> = want.into_values().collect();
    let got: std::collections::BTreeSet<_> = got
        .into_values()
        .filter(|set| set.iter().any(|id| want.iter().any(|w| w.contains(id))))
        .collect();
    assert_eq!(got, want);
}
