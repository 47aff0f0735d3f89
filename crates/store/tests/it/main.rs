#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Integration tests of tessera-store over the project's own synthetic data (tessera-synth,
//! written to a temporary directory and ingested from there), plus opt-in checks over an
//! external corpus named by `TESSERA_CORPUS`.

mod audit_chain;
mod corpus;
mod durable;
mod expect;
mod external;
mod filter_agreement;
mod query_plans;
mod search;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde_json::Value;
use tessera_access::Filter;
use tessera_fhir::parse_search;
use tessera_store::{IngestOptions, ResourceStore, Scope, SiteMode, SqliteStore, ingest_path};
use tessera_synth::write::DirSink;
use tessera_synth::{Config, Layout, generate};

/// Fixed ingest time (2026-01-01T00:00:00Z).
pub const NOW: i64 = 1_767_225_600;
/// The synthetic data set: seed and size. Twenty patients over every catalog site give every
/// served resource type, patients known at up to three sites, and every security label.
pub const SEED: u64 = 42;
/// Patients generated.
pub const PATIENTS: u64 = 20;

/// Ingest options at [`NOW`].
pub fn opts() -> IngestOptions {
    IngestOptions {
        now: NOW,
        sites: SiteMode::PerBundleFile,
    }
}

/// Writes the synthetic data set under `dir` (`manifest.json`, `bundles/…/<site>.json`) and
/// returns the bundles directory.
pub fn write_synth(dir: &Path) -> PathBuf {
    let mut sink = DirSink::new(dir, Layout::Bundles, false);
    generate(&Config::new(SEED, PATIENTS), &mut sink).unwrap();
    dir.join("bundles")
}

/// The generated data as read back from disk, and a store it was ingested into.
pub struct Synth {
    /// The manifest document.
    pub manifest: Value,
    /// Every bundle file as `(site slug = file stem, bundle)`.
    pub bundles: Vec<(String, Value)>,
    /// The in-memory store holding it.
    pub store: Arc<SqliteStore>,
}

impl Synth {
    /// Every resource as generated, once per `(type, id)` (site resources repeat per bundle).
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

    /// The manifest row of patient `index`.
    pub fn patient(&self, index: usize) -> &Value {
        &self.manifest["patient_records"][index]
    }
}

/// Every `*.json` file under `dir`, sorted, skipping names starting with `_` or `.`.
pub fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            !p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(['_', '.'])
        })
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            out.extend(json_files(&p));
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
    out
}

/// The synthetic data set, generated, written and ingested once per test binary.
pub fn synth() -> &'static Synth {
    static SYNTH: OnceLock<Synth> = OnceLock::new();
    SYNTH.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let bundles_dir = write_synth(dir.path());
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let report = ingest_path(store.as_ref(), &bundles_dir, &opts()).unwrap();
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let manifest =
            serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap())
                .unwrap();
        let bundles = json_files(&bundles_dir)
            .iter()
            .map(|f| {
                let site = f.file_stem().unwrap().to_str().unwrap().to_owned();
                (
                    site,
                    serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap(),
                )
            })
            .collect();
        Synth {
            manifest,
            bundles,
            store,
        }
    })
}

/// The store holding the synthetic data set.
pub fn loaded() -> Arc<SqliteStore> {
    synth().store.clone()
}

/// Every resource of `rtype` matching `query` under `grant`, following cursors.
pub fn all(
    store: &dyn ResourceStore,
    scope: Scope<'_>,
    rtype: &str,
    query: &[(&str, &str)],
    grant: &Filter,
) -> Vec<serde_json::Value> {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(a, b)| ((*a).into(), (*b).into()))
        .collect();
    pairs.push(("_count".into(), "200".into()));
    let mut q = parse_search(rtype, &pairs).unwrap();
    let mut out = Vec::new();
    loop {
        let page = store.search(scope, &q, grant).unwrap();
        out.extend(
            page.resources
                .iter()
                .map(|e| serde_json::from_slice::<serde_json::Value>(&e.json).unwrap()),
        );
        assert!(out.len() as u64 <= page.total.expect("counted"));
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => {
                assert_eq!(
                    Some(out.len() as u64),
                    page.total,
                    "total must equal what paging yields"
                );
                return out;
            }
        }
    }
}
