//! Loading, idempotent re-ingest, updates, batches, sites and readiness on every backend.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use tessera_access::{Filter, extract_facts};
use tessera_fhir::extract_index;
use tessera_store::{
    NewResource, ResourceStore, Scope, SiteAddress, SiteProfile, StoreError, WriteOutcome,
};
use tessera_store_pg::{PgError, PoolOptions, open_resources};

use super::{NOW, all, data, ids, loaded};
use crate::backends;

#[test]
fn the_data_set_loads_with_its_counts_and_sites_on_every_backend() {
    let d = data();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for r in d.resources() {
        *expected
            .entry(r["resourceType"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(expected.len(), tessera_fhir::RESOURCES.len());
    let stems: BTreeSet<String> = d
        .bundles
        .iter()
        .map(|(s, _)| tessera_store::site_id_from(s))
        .collect();
    for (name, store) in &loaded().stores {
        let counts: BTreeMap<String, u64> = store.type_counts().unwrap().into_iter().collect();
        assert_eq!(counts, expected, "{name}");
        let sites = store.sites().unwrap();
        assert_eq!(
            sites.iter().map(|s| s.id.clone()).collect::<BTreeSet<_>>(),
            stems,
            "{name}"
        );
        for info in d.manifest["sites"].as_array().unwrap() {
            let slug = info["slug"].as_str().unwrap();
            let Some(site) = sites.iter().find(|x| x.id == slug) else {
                continue;
            };
            assert_eq!(site.name.as_deref(), info["name"].as_str(), "{name} {slug}");
            assert!(
                site.identifiers.contains(&(
                    Some("http://hl7.org/fhir/sid/us-npi".to_owned()),
                    info["npi"].as_str().unwrap().to_owned()
                )),
                "{name} {slug}: {:?}",
                site.identifiers
            );
            assert_eq!(
                site.addresses,
                vec![SiteAddress {
                    state: info["state"].as_str().map(str::to_owned),
                    country: Some("US".into())
                }],
                "{name} {slug}"
            );
            assert_eq!(site.organization_ids.len(), 1, "{name} {slug}");
        }
        // Stored bytes are served verbatim: a read returns what a search page returned.
        let pid = d.patient_id(0);
        let read = store
            .read(Scope::Network, "Patient", &pid, &Filter::All)
            .unwrap()
            .unwrap();
        let page = all(
            store.as_ref(),
            Scope::Network,
            "Patient",
            &[("_id", &pid)],
            &Filter::All,
        );
        assert_eq!(
            serde_json::from_slice::<Value>(&read).unwrap(),
            page[0],
            "{name}"
        );
        assert_eq!(
            page[0]["meta"]["lastUpdated"], "2026-01-01T00:00:00Z",
            "{name}"
        );
    }
}

fn observation(id: &str, code: &str) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final",
           "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
           "subject": {"reference": "Patient/p1"},
           "effectiveDateTime": "2024-05-01"})
}

/// A resource as ingest prepares it (content hash over the JSON: equal JSON, equal hash).
fn prepared(v: &Value, site: Option<&str>) -> NewResource {
    let json = serde_json::to_vec(v).unwrap();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &json);
    NewResource {
        resource_type: v["resourceType"].as_str().unwrap().to_owned(),
        id: v["id"].as_str().unwrap().to_owned(),
        content_hash: digest.as_ref().try_into().unwrap(),
        json,
        last_updated: NOW,
        facts: extract_facts(v),
        index: extract_index(v),
        site: site.map(str::to_owned),
    }
}

fn codes(store: &dyn ResourceStore, code: &str) -> Vec<String> {
    ids(&all(
        store,
        Scope::Network,
        "Observation",
        &[("code", code)],
        &Filter::All,
    ))
}

#[test]
fn reingest_is_unchanged_and_changes_replace_content_and_index_on_every_backend() {
    use WriteOutcome::{Created, Unchanged, Updated};
    let (stem, bundle) = &data().bundles[0];
    let site = tessera_store::site_id_from(stem);
    for b in backends::resources() {
        let name = b.name;
        let store = b.store.as_ref();
        let mut first = tessera_store::IngestReport::default();
        tessera_store::ingest_value(
            store,
            bundle.clone(),
            Some(&site),
            &super::opts(),
            &mut first,
        )
        .unwrap();
        assert!(
            first.created > 10 && first.errors.is_empty(),
            "{name}: {first:?}"
        );
        let before = store.type_counts().unwrap();
        let mut again = tessera_store::IngestReport::default();
        tessera_store::ingest_value(
            store,
            bundle.clone(),
            Some(&site),
            &super::opts(),
            &mut again,
        )
        .unwrap();
        assert_eq!(
            (again.created, again.updated, again.unchanged),
            (0, 0, first.resources),
            "{name}: re-ingest is idempotent"
        );
        assert_eq!(store.type_counts().unwrap(), before, "{name}");

        // One batch: a new resource, the same again (unchanged), then changed (updated).
        let a = observation("obs-a", "1111-1");
        let a2 = observation("obs-a", "2222-2");
        let out = store
            .put_resources(&[
                prepared(&a, None),
                prepared(&a, Some(&site)),
                prepared(&a2, None),
            ])
            .unwrap();
        assert_eq!(out, vec![Created, Unchanged, Updated], "{name}");
        assert_eq!(
            codes(store, "1111-1"),
            Vec::<String>::new(),
            "{name}: old index gone"
        );
        assert_eq!(
            codes(store, "2222-2"),
            vec!["obs-a"],
            "{name}: last content wins"
        );
        let stored = store
            .read(Scope::Network, "Observation", "obs-a", &Filter::All)
            .unwrap()
            .unwrap();
        assert_eq!(
            stored,
            serde_json::to_vec(&a2).unwrap(),
            "{name}: bytes verbatim"
        );
        // The site the unchanged copy was ingested for is kept.
        assert!(
            store
                .read(Scope::Site(&site), "Observation", "obs-a", &Filter::All)
                .unwrap()
                .is_some(),
            "{name}"
        );
        // A later batch: unchanged, then back to the first content.
        let out = store
            .put_resources(&[prepared(&a2, None), prepared(&a, None)])
            .unwrap();
        assert_eq!(out, vec![Unchanged, Updated], "{name}");
        assert_eq!(codes(store, "1111-1"), vec!["obs-a"], "{name}");
        assert_eq!(codes(store, "2222-2"), Vec::<String>::new(), "{name}");
        assert_eq!(store.put_resources(&[]).unwrap(), vec![], "{name}");
    }
}

#[test]
fn a_site_profile_is_replaced_whole_and_keeps_its_order_on_every_backend() {
    for b in backends::resources() {
        let name = b.name;
        let mut site = SiteProfile {
            id: "alpha".into(),
            name: Some("Alpha Clinic".into()),
            identifiers: vec![
                (Some("urn:z".into()), "2".into()),
                (None, "1".into()),
                (Some("urn:a".into()), "3".into()),
            ],
            addresses: vec![
                SiteAddress {
                    state: Some("TX".into()),
                    country: Some("US".into()),
                },
                SiteAddress {
                    state: None,
                    country: Some("CA".into()),
                },
            ],
            organization_ids: vec!["org-2".into(), "org-1".into()],
        };
        b.store.put_site(&site).unwrap();
        let other = SiteProfile {
            id: "beta".into(),
            ..SiteProfile::default()
        };
        b.store.put_site(&other).unwrap();
        assert_eq!(
            b.store.sites().unwrap(),
            vec![site.clone(), other.clone()],
            "{name}"
        );
        site.name = None;
        site.identifiers.truncate(1);
        site.addresses.clear();
        site.organization_ids.reverse();
        b.store.put_site(&site).unwrap();
        assert_eq!(b.store.sites().unwrap(), vec![site, other], "{name}");
    }
}

#[test]
fn every_backend_is_ready_and_postgres_refuses_a_newer_schema() {
    for b in backends::resources() {
        b.store
            .ready()
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
    }
    let Some((mut db, store)) = backends::postgres_resources() else {
        return;
    };
    let newest = tessera_store_pg::migrate::newest_version();
    let future = i32::try_from(newest + 1).unwrap();
    let schema = db.schema().to_owned();
    db.admin()
        .execute(
            &format!(
                "INSERT INTO {}.refinery_schema_history (version, name, applied_on, checksum) \
                 VALUES ($1, 'from_the_future', '2030-01-01T00:00:00Z', '0')",
                schema
            ),
            &[&future],
        )
        .unwrap();
    // A node already running stops being ready ...
    match store.ready() {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (newest + 1, newest));
        }
        other => panic!("ready() on a newer schema: {other:?}"),
    }
    // ... and a node starting refuses to open it, naming both versions.
    let err = open_resources(db.url(), PoolOptions::default()).unwrap_err();
    assert!(
        matches!(err, PgError::SchemaTooNew { found, supported }
            if found == newest + 1 && supported == newest),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "database schema version {} is newer than supported {newest}",
            newest + 1
        )
    );
    // A schema behind this binary (another node rolled back, say) is not ready either.
    db.admin()
        .execute(
            &format!("DELETE FROM {schema}.refinery_schema_history WHERE version >= $1"),
            &[&i32::try_from(newest).unwrap()],
        )
        .unwrap();
    let err = store.ready().unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "database error: database schema version {} is older than supported {newest}: not migrated",
            newest - 1
        )
    );
}

#[test]
fn a_failed_postgres_batch_writes_nothing() {
    let Some((_db, store)) = backends::postgres_resources() else {
        return;
    };
    store
        .put_resources(&[prepared(&observation("kept", "1111-1"), None)])
        .unwrap();
    // PostgreSQL text cannot hold NUL: the second resource's index row fails the statement,
    // so the whole batch — the first resource included — is rolled back.
    let bad = observation("bad", "nul\u{0}code");
    let err = store
        .put_resources(&[
            prepared(&observation("new", "3333-3"), Some("alpha")),
            prepared(&bad, None),
        ])
        .unwrap_err();
    assert!(
        err.to_string().contains("invalid byte sequence"),
        "the error names the problem: {err}"
    );
    assert_eq!(
        store.type_counts().unwrap(),
        vec![("Observation".to_owned(), 1)]
    );
    assert_eq!(codes(store.as_ref(), "3333-3"), Vec::<String>::new());
    // The connection is usable again after the failed transaction.
    store.ready().unwrap();
    assert_eq!(codes(store.as_ref(), "1111-1"), vec!["kept"]);
}

#[test]
fn two_postgres_nodes_ingesting_one_batch_at_once_write_it_once() {
    use WriteOutcome::{Created, Unchanged};
    let Some((db, a)) = backends::postgres_resources() else {
        return;
    };
    let b = open_resources(db.url(), PoolOptions::default()).unwrap();
    let batch: Vec<NewResource> = (0..200)
        .map(|i| prepared(&observation(&format!("o{i}"), "1111-1"), Some("alpha")))
        .collect();
    let barrier = std::sync::Barrier::new(2);
    let run = |store: &tessera_store_pg::PgStore| {
        barrier.wait();
        store.put_resources(&batch).unwrap()
    };
    let (ra, rb) = std::thread::scope(|s| {
        let ha = s.spawn(|| run(&a));
        let hb = s.spawn(|| run(&b));
        (ha.join().unwrap(), hb.join().unwrap())
    });
    // Whichever node went first created every resource; the other found them all unchanged.
    let (all_created, all_unchanged) = (vec![Created; 200], vec![Unchanged; 200]);
    assert!(
        (ra == all_created && rb == all_unchanged) || (ra == all_unchanged && rb == all_created),
        "{ra:?} / {rb:?}"
    );
    assert_eq!(
        a.type_counts().unwrap(),
        vec![("Observation".to_owned(), 200)]
    );
    assert_eq!(codes(b.as_ref(), "1111-1").len(), 200);
    assert_eq!(
        all(
            b.as_ref(),
            Scope::Site("alpha"),
            "Observation",
            &[],
            &Filter::All
        )
        .len(),
        200
    );
}

// PostgreSQL text cannot hold U+0000: such an entry is skipped with its reason on every
// backend, and the rest of its Bundle is loaded, so both stores hold the same records.
#[test]
fn an_entry_with_a_nul_character_is_skipped_alike_on_every_backend() {
    let mut bad = observation("obs-nul", "1234-5");
    bad["note"] = json!([{"text": "before\u{0}after"}]);
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": observation("obs-ok", "1234-5")},
        {"resource": bad},
    ]});
    for b in backends::resources() {
        let name = b.name;
        let mut report = tessera_store::IngestReport::default();
        tessera_store::ingest_value(
            b.store.as_ref(),
            bundle.clone(),
            None,
            &super::opts(),
            &mut report,
        )
        .unwrap();
        assert_eq!(report.created, 1, "{name}: {report:?}");
        assert_eq!(report.errors.len(), 1, "{name}: {report:?}");
        assert!(
            report.errors[0]
                .contains("Observation contains a NUL character (U+0000), which no store accepts"),
            "{name}: {:?}",
            report.errors
        );
        assert_eq!(codes(b.store.as_ref(), "1234-5"), vec!["obs-ok"], "{name}");
    }
}
