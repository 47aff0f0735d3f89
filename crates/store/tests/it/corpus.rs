//! Loading the shared corpus: counts, sites, idempotence, persistence, URL opening.

use std::collections::BTreeMap;

use tessera_access::Filter;
use tessera_store::{IngestOptions, ResourceStore, Scope, SiteMode, ingest_path, open_url};

use crate::{NOW, all, corpus_dir, loaded, opts};

/// Counts per type straight from the corpus files.
fn corpus_counts() -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for patient in std::fs::read_dir(corpus_dir()).unwrap() {
        let patient = patient.unwrap().path();
        for file in std::fs::read_dir(&patient).unwrap() {
            let file = file.unwrap().path();
            if file.file_name().unwrap().to_str().unwrap().starts_with('_') {
                continue;
            }
            let b: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
            for e in b["entry"].as_array().unwrap() {
                *counts
                    .entry(e["resource"]["resourceType"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
        }
    }
    counts
}

#[test]
fn loads_the_whole_corpus_with_its_sites() {
    let store = loaded();
    let expected = corpus_counts();
    assert_eq!(expected.values().sum::<usize>(), 3911);
    let stored: BTreeMap<String, usize> = store
        .type_counts()
        .unwrap()
        .into_iter()
        .map(|(t, n)| (t, n as usize))
        .collect();
    assert_eq!(stored, expected);
    let sites = store.sites().unwrap();
    assert_eq!(sites.len(), 40);
    let austin = sites
        .iter()
        .find(|s| s.id == "central-austin-family-medicine")
        .unwrap();
    assert_eq!(
        austin.name.as_deref(),
        Some("Central Austin Family Medicine")
    );
    assert_eq!(
        austin.identifiers,
        vec![(
            Some("http://hl7.org/fhir/sid/us-npi".to_owned()),
            "1437826095".to_owned()
        )]
    );
    assert_eq!(austin.addresses[0].state.as_deref(), Some("TX"));
    assert_eq!(austin.addresses[0].country.as_deref(), Some("US"));
    // The site base sees only that site's resources.
    let pats = all(
        store.as_ref(),
        Scope::Site("central-austin-family-medicine"),
        "Patient",
        &[],
        &Filter::All,
    );
    assert_eq!(pats.len(), 1);
    assert_eq!(pats[0]["id"], "7f3a1c5e-9b2d-4e8f-a6c0-1d3e5a7b9c2f");
}

#[test]
fn site_ids_are_namespaced_and_references_follow() {
    let store = loaded();
    let code = tessera_store::site_code("central-austin-family-medicine");
    let id = format!("{code}-enc-000-bp");
    let bytes = store
        .read(Scope::Network, "Observation", &id, &Filter::All)
        .unwrap()
        .unwrap();
    let obs: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        obs["encounter"]["reference"],
        format!("Encounter/{code}-enc-000")
    );
    assert_eq!(
        obs["subject"]["reference"],
        "Patient/7f3a1c5e-9b2d-4e8f-a6c0-1d3e5a7b9c2f"
    );
    assert_eq!(obs["meta"]["lastUpdated"], "2026-01-01T00:00:00Z");
    // Encounter facts use server ids, so claim-linkage filters work on them.
    let enc = Filter::EncounterIn(vec![format!("{code}-enc-000")]);
    assert!(
        store
            .read(Scope::Network, "Observation", &id, &enc)
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .read(Scope::Network, "Observation", "enc-000-bp", &Filter::All)
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .read(
                Scope::Site("lone-star-womens-health"),
                "Observation",
                &id,
                &Filter::All
            )
            .unwrap()
            .is_none()
    );
}

#[test]
fn reingest_is_idempotent_and_the_file_store_persists() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    {
        let store = open_url(&url).unwrap();
        let first = ingest_path(store.as_ref(), &corpus_dir(), &opts()).unwrap();
        assert_eq!(
            (first.created, first.resources),
            (3911, 3911),
            "no two sites share an id after namespacing"
        );
        let later = IngestOptions {
            now: NOW + 3600,
            sites: SiteMode::PerBundleFile,
        };
        let again = ingest_path(store.as_ref(), &corpus_dir(), &later).unwrap();
        assert_eq!(
            (again.created, again.updated, again.unchanged),
            (0, 0, 3911)
        );
    }
    let reopened = open_url(&url).unwrap();
    let total: u64 = reopened.type_counts().unwrap().iter().map(|(_, n)| n).sum();
    assert_eq!(total, 3911);
    assert_eq!(reopened.sites().unwrap().len(), 40);
    assert!(open_url("postgres://x").is_err());
    assert!(open_url("sqlite:").is_err());
    assert!(open_url("sqlite::memory:").is_ok());
}

#[test]
fn bad_documents_are_reported_not_fatal() {
    let store = tessera_store::SqliteStore::open_in_memory().unwrap();
    let mut report = tessera_store::IngestReport::default();
    let doc = serde_json::json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:11111111-2222-3333-4444-555555555555",
         "resource": {"resourceType": "Patient", "name": [{"family": "Doe"}]},
         "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Observation", "status": "final",
                      "subject": {"reference": "urn:uuid:11111111-2222-3333-4444-555555555555"}},
         "request": {"method": "POST", "url": "Observation"}},
        {"resource": {"resourceType": "Binary", "id": "b"}},
        {"resource": {"resourceType": "Patient", "id": "bad id!"}},
        {"resource": {"resourceType": "Patient", "id": "x"}, "request": {"method": "DELETE", "url": "Patient/x"}},
        {"fullUrl": "x"}
    ]});
    tessera_store::ingest_value(&store, doc.clone(), None, &opts(), &mut report).unwrap();
    assert_eq!(report.created, 2);
    assert_eq!(report.errors.len(), 4, "{:?}", report.errors);
    let obs = all(
        &store,
        Scope::Network,
        "Observation",
        &[("subject", "Patient/11111111-2222-3333-4444-555555555555")],
        &Filter::All,
    );
    assert_eq!(
        obs.len(),
        1,
        "urn:uuid reference rewritten to the server reference"
    );
    let id = obs[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32, "content-derived id");
    tessera_store::ingest_value(&store, doc, None, &opts(), &mut report).unwrap();
    assert_eq!(report.unchanged, 2, "same content, same ids");
}
