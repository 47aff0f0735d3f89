//! Loading the synthetic data set: counts, sites, id namespacing, idempotence, persistence,
//! URL opening. Expected values come from the generated JSON files, never from the store.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use tessera_access::Filter;
use tessera_store::{IngestOptions, ResourceStore, Scope, SiteMode, ingest_path, open_url};

use crate::{NOW, all, loaded, opts, synth, write_synth};

/// Distinct resources per type in the generated files.
fn generated_counts() -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in synth().resources() {
        *counts
            .entry(r["resourceType"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    counts
}

/// Entries in the generated files (site resources counted once per bundle that repeats them).
fn generated_entries() -> usize {
    synth()
        .bundles
        .iter()
        .map(|(_, b)| b["entry"].as_array().unwrap().len())
        .sum()
}

#[test]
fn loads_the_whole_data_set_with_its_sites() {
    let s = synth();
    let store = loaded();
    let expected = generated_counts();
    assert_eq!(
        expected.len(),
        tessera_fhir::RESOURCES.len(),
        "the data set has every served type: {expected:?}"
    );
    let stored: BTreeMap<String, usize> = store
        .type_counts()
        .unwrap()
        .into_iter()
        .map(|(t, n)| (t, n as usize))
        .collect();
    assert_eq!(stored, expected);
    let bundle_sites: BTreeSet<&str> = s.bundles.iter().map(|(site, _)| site.as_str()).collect();
    let sites = store.sites().unwrap();
    assert_eq!(
        sites.iter().map(|s| s.id.as_str()).collect::<BTreeSet<_>>(),
        bundle_sites
    );
    // The profile of each site comes from its Organization: name, NPI, state, country.
    for info in s.manifest["sites"].as_array().unwrap() {
        let slug = info["slug"].as_str().unwrap();
        let Some(site) = sites.iter().find(|x| x.id == slug) else {
            continue;
        };
        assert_eq!(site.name.as_deref(), info["name"].as_str());
        assert!(
            site.identifiers.contains(&(
                Some("http://hl7.org/fhir/sid/us-npi".to_owned()),
                info["npi"].as_str().unwrap().to_owned()
            )),
            "{slug}: {:?}",
            site.identifiers
        );
        assert_eq!(site.addresses[0].state.as_deref(), info["state"].as_str());
        assert_eq!(site.addresses[0].country.as_deref(), Some("US"));
        // Only the site's own Organization: never the payer's repeated for its Coverage.
        assert_eq!(site.organization_ids.len(), 1, "{slug}");
        assert_eq!(site.addresses.len(), 1, "{slug}");
        for payer in s.manifest["payers"].as_array().unwrap() {
            let npi = payer["npi"].as_str().unwrap();
            assert!(
                site.identifiers.iter().all(|(_, v)| v != npi),
                "{slug} took payer {npi}"
            );
        }
        // The site base sees exactly the Patient records the manifest places there.
        let want: BTreeSet<&str> = s.manifest["patient_records"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["sites"].as_array().unwrap())
            .filter(|r| r["site"] == slug)
            .map(|r| r["patient_id"].as_str().unwrap())
            .collect();
        let pats = all(
            store.as_ref(),
            Scope::Site(slug),
            "Patient",
            &[],
            &Filter::All,
        );
        let got: BTreeSet<&str> = pats.iter().map(|p| p["id"].as_str().unwrap()).collect();
        assert_eq!(got, want, "{slug}");
    }
}

#[test]
fn a_patient_known_at_several_sites_has_one_record_per_site() {
    let s = synth();
    let store = loaded();
    let multi = s.manifest["patient_records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["sites"].as_array().unwrap().len() >= 3)
        .expect("a patient known at three sites");
    let records = multi["sites"].as_array().unwrap();
    for rec in records {
        let (site, id) = (
            rec["site"].as_str().unwrap(),
            rec["patient_id"].as_str().unwrap(),
        );
        let read = |scope| store.read(scope, "Patient", id, &Filter::All).unwrap();
        let bytes = read(Scope::Site(site)).expect("readable at its own site");
        let patient: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(patient["name"][0]["family"], multi["family"]);
        assert_eq!(patient["birthDate"], multi["birth_date"]);
        assert!(read(Scope::Network).is_some());
        for other in records.iter().filter(|o| o["site"] != site) {
            assert!(
                read(Scope::Site(other["site"].as_str().unwrap())).is_none(),
                "{id} is not at {}",
                other["site"]
            );
        }
    }
    // Searching by name and birth date at the network base finds every record of the person.
    let found = all(
        store.as_ref(),
        Scope::Network,
        "Patient",
        &[
            ("family", multi["family"].as_str().unwrap()),
            ("given", multi["given"].as_str().unwrap()),
            ("birthdate", multi["birth_date"].as_str().unwrap()),
        ],
        &Filter::All,
    );
    assert_eq!(found.len(), records.len());
}

/// Two sites whose bundles reuse the same non-UUID ids, as independent systems do.
fn colliding_sites(dir: &std::path::Path) {
    for (site, family) in [("alpha-clinic", "Alpha"), ("beta-clinic", "Beta")] {
        let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": {"resourceType": "Organization", "id": "org",
                          "name": format!("{family} Clinic"),
                          "address": [{"state": "TX", "country": "US"}]}},
            {"resource": {"resourceType": "Patient", "id": "p1", "name": [{"family": family}]}},
            {"resource": {"resourceType": "Encounter", "id": "enc-000", "status": "finished",
                          "class": {"code": "AMB"}, "subject": {"reference": "Patient/p1"}}},
            {"resource": {"resourceType": "Observation", "id": "enc-000-bp", "status": "final",
                          "code": {"coding": [{"system": "http://loinc.org", "code": "85354-6"}]},
                          "subject": {"reference": "Patient/p1"},
                          "encounter": {"reference": "Encounter/enc-000"}}}
        ]});
        std::fs::write(
            dir.join(format!("{site}.json")),
            serde_json::to_vec(&bundle).unwrap(),
        )
        .unwrap();
    }
}

#[test]
fn site_ids_are_namespaced_and_references_follow() {
    let dir = tempfile::tempdir().unwrap();
    colliding_sites(dir.path());
    let store = tessera_store::SqliteStore::open_in_memory().unwrap();
    let report = ingest_path(&store, dir.path(), &opts()).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        report.created, 8,
        "no two sites share an id after namespacing"
    );
    let code = tessera_store::site_code("alpha-clinic");
    assert_ne!(code, tessera_store::site_code("beta-clinic"));
    let id = format!("{code}-enc-000-bp");
    let bytes = store
        .read(Scope::Network, "Observation", &id, &Filter::All)
        .unwrap()
        .unwrap();
    let obs: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        obs["encounter"]["reference"],
        format!("Encounter/{code}-enc-000")
    );
    assert_eq!(obs["subject"]["reference"], format!("Patient/{code}-p1"));
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
            .read(Scope::Site("beta-clinic"), "Observation", &id, &Filter::All)
            .unwrap()
            .is_none()
    );
    let beta = all(
        &store,
        Scope::Site("beta-clinic"),
        "Patient",
        &[],
        &Filter::All,
    );
    assert_eq!(beta.len(), 1);
    assert_eq!(beta[0]["name"][0]["family"], "Beta");
    // UUID ids are kept as generated: the synthetic data set's ids are all UUIDs.
    let s = synth();
    let first = &s.patient(0)["sites"][0];
    assert!(
        loaded()
            .read(
                Scope::Site(first["site"].as_str().unwrap()),
                "Patient",
                first["patient_id"].as_str().unwrap(),
                &Filter::All
            )
            .unwrap()
            .is_some()
    );
}

#[test]
fn reingest_is_idempotent_and_the_file_store_persists() {
    let dir = tempfile::tempdir().unwrap();
    let bundles = write_synth(&dir.path().join("data"));
    let distinct: usize = generated_counts().values().sum();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    {
        let store = open_url(&url).unwrap();
        let first = ingest_path(store.as_ref(), &bundles, &opts()).unwrap();
        assert!(first.errors.is_empty(), "{:?}", first.errors);
        assert_eq!(first.resources, generated_entries());
        assert_eq!(first.created, distinct);
        let later = IngestOptions {
            now: NOW + 3600,
            sites: SiteMode::PerBundleFile,
        };
        let again = ingest_path(store.as_ref(), &bundles, &later).unwrap();
        assert_eq!(
            (again.created, again.updated, again.unchanged),
            (0, 0, generated_entries())
        );
    }
    let reopened = open_url(&url).unwrap();
    let total: u64 = reopened.type_counts().unwrap().iter().map(|(_, n)| n).sum();
    assert_eq!(total as usize, distinct);
    let sites: BTreeSet<&str> = synth().bundles.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(reopened.sites().unwrap().len(), sites.len());
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
