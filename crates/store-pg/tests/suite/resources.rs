//! Resource-store cases, each over every backend: the synthetic data set (tessera-synth)
//! ingested once per backend and shared by the cases that only read it, expected values
//! computed from the generated JSON, never from a store.
//!
//! The shared stores live while some case holds them (a `Weak` behind a lock): the
//! PostgreSQL schema is dropped with the last holder, so no run leaves a schema behind.

mod filters;
mod linkage;
mod plans;
mod search;
mod writes;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use serde_json::Value;
use tessera_access::Filter;
use tessera_fhir::{SearchQuery, parse_search};
use tessera_store::linkage::PersonOf;
use tessera_store::{
    IngestOptions, IngestReport, ResourceStore, Scope, SearchPage, SiteMode, ingest_value,
    site_id_from,
};
use tessera_synth::write::DirSink;
use tessera_synth::{Config, Layout, generate};

use crate::backends::{self, Guard};

/// Fixed ingest time (2026-01-01T00:00:00Z).
pub const NOW: i64 = 1_767_225_600;
/// Seed and size of the data set: twenty patients over every catalog site give every served
/// type, patients known at up to three sites, and every security label.
const SEED: u64 = 42;
const PATIENTS: u64 = 20;

pub fn opts() -> IngestOptions {
    IngestOptions {
        now: NOW,
        sites: SiteMode::PerBundleFile,
    }
}

/// The generated data as written to disk and read back.
pub struct Data {
    pub manifest: Value,
    /// Every bundle file as `(file stem, bundle)`, in ingest order.
    pub bundles: Vec<(String, Value)>,
}

impl Data {
    /// Every resource as generated, once per `(type, id)`.
    pub fn resources(&self) -> Vec<Value> {
        let mut seen = BTreeMap::new();
        for (_, b) in &self.bundles {
            for e in b["entry"].as_array().unwrap() {
                let r = &e["resource"];
                let key = (
                    r["resourceType"].as_str().unwrap().to_owned(),
                    r["id"].as_str().unwrap().to_owned(),
                );
                seen.entry(key).or_insert_with(|| r.clone());
            }
        }
        seen.into_values().collect()
    }

    /// The local Patient id of patient `index` at its first site.
    pub fn patient_id(&self, index: usize) -> String {
        self.manifest["patient_records"][index]["sites"][0]["patient_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Ingests the bundles into `store` as `tessera ingest` of the directory would (each
    /// file its own site).
    pub fn ingest_into(&self, store: &dyn ResourceStore) -> IngestReport {
        let mut report = IngestReport::default();
        for (stem, bundle) in &self.bundles {
            let site = site_id_from(stem);
            ingest_value(store, bundle.clone(), Some(&site), &opts(), &mut report).unwrap();
        }
        report
    }
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    let mut out = Vec::new();
    for p in entries {
        if p.is_dir() {
            out.extend(json_files(&p));
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
    out
}

/// The data set, generated once per test binary (memory only: its directory is gone after).
pub fn data() -> &'static Data {
    static DATA: OnceLock<Data> = OnceLock::new();
    DATA.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = DirSink::new(dir.path(), Layout::Bundles, false);
        generate(&Config::new(SEED, PATIENTS), &mut sink).unwrap();
        let manifest =
            serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap())
                .unwrap();
        let bundles = json_files(&dir.path().join("bundles"))
            .iter()
            .map(|f| {
                let stem = f.file_stem().unwrap().to_str().unwrap().to_owned();
                (
                    stem,
                    serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap(),
                )
            })
            .collect();
        Data { manifest, bundles }
    })
}

/// Every backend with the data set ingested, shared by the read-only cases.
pub struct Loaded {
    pub stores: Vec<(&'static str, Arc<dyn ResourceStore>)>,
    _guards: Mutex<Vec<Guard>>,
}

/// The loaded backends; the first caller (or the first after every holder let go) ingests.
pub fn loaded() -> Arc<Loaded> {
    static LOADED: Mutex<Weak<Loaded>> = Mutex::new(Weak::new());
    let mut slot = LOADED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(l) = slot.upgrade() {
        return l;
    }
    let mut stores = Vec::new();
    let mut guards = Vec::new();
    for b in backends::resources() {
        let report = data().ingest_into(b.store.as_ref());
        assert!(report.errors.is_empty(), "{}: {:?}", b.name, report.errors);
        assert_eq!(
            report.created + report.unchanged,
            report.resources,
            "{}",
            b.name
        );
        stores.push((b.name, b.store));
        guards.push(b._guard);
    }
    let l = Arc::new(Loaded {
        stores,
        _guards: Mutex::new(guards),
    });
    *slot = Arc::downgrade(&l);
    l
}

/// Every resource of `rtype` matching `query` under `grant`, following cursors; checks that
/// the total equals what paging yields.
pub fn all(
    store: &dyn ResourceStore,
    scope: Scope<'_>,
    rtype: &str,
    query: &[(&str, &str)],
    grant: &Filter,
) -> Vec<Value> {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(a, b)| ((*a).into(), (*b).into()))
        .collect();
    pairs.push(("_count".into(), "200".into()));
    let mut q = parse_search(rtype, &pairs).unwrap();
    let mut out = Vec::new();
    loop {
        let page = search_page(store, scope, &q, grant);
        out.extend(
            page.resources
                .iter()
                .map(|e| serde_json::from_slice::<Value>(&e.json).unwrap()),
        );
        assert!(out.len() as u64 <= page.total.expect("counted"));
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => {
                assert_eq!(
                    Some(out.len() as u64),
                    page.total,
                    "total = what paging yields"
                );
                return out;
            }
        }
    }
}

/// The runtime the backends' asynchronous reads are awaited on. One for the whole run: a
/// backend's asynchronous connections do their I/O as tasks on the runtime that opened them,
/// and the shared stores outlive any one case.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

/// One page of `q`. Where the backend also answers searches asynchronously (PostgreSQL), that
/// path must give the same page: every search of the suite checks both.
pub fn search_page(
    store: &dyn ResourceStore,
    scope: Scope<'_>,
    q: &SearchQuery,
    grant: &Filter,
) -> SearchPage {
    let page = store.search(scope, q, grant).unwrap();
    if let Some(reads) = store.async_reads() {
        let other = runtime().block_on(reads.search(scope, q, grant)).unwrap();
        assert_eq!(
            other, page,
            "the asynchronous search of {q:?} under {grant:?}"
        );
    }
    page
}

/// A read of `rtype/id`, checked against the asynchronous path as [`search_page`] is.
pub fn read(
    store: &dyn ResourceStore,
    scope: Scope<'_>,
    rtype: &str,
    id: &str,
    grant: &Filter,
) -> Option<Vec<u8>> {
    let found = store.read(scope, rtype, id, grant).unwrap();
    if let Some(reads) = store.async_reads() {
        let other = runtime()
            .block_on(reads.read(scope, rtype, id, grant))
            .unwrap();
        assert_eq!(
            other, found,
            "the asynchronous read of {rtype}/{id} under {grant:?}"
        );
    }
    found
}

/// The person of `record`, checked against the asynchronous path as [`search_page`] is.
pub fn person_of(store: &dyn ResourceStore, record: &str) -> PersonOf {
    let found = store.person_of(record).unwrap();
    if let Some(reads) = store.async_reads() {
        let other = runtime().block_on(reads.person_of(record)).unwrap();
        assert_eq!(other, found, "the asynchronous person of {record}");
    }
    found
}

/// Sorted ids.
pub fn ids(v: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = v
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

/// Sorted ids of the members of `v` satisfying `pred`.
pub fn matching(v: &[Value], pred: impl Fn(&Value) -> bool) -> Vec<String> {
    let kept: Vec<Value> = v.iter().filter(|r| pred(r)).cloned().collect();
    ids(&kept)
}
