#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Integration tests of tessera-store over the shared synthetic corpus.

mod corpus;
mod durable;
mod filter_agreement;
mod search;

use std::path::PathBuf;
use std::sync::Arc;

use tessera_access::Filter;
use tessera_fhir::parse_search;
use tessera_store::{IngestOptions, ResourceStore, Scope, SiteMode, SqliteStore, ingest_path};

/// Fixed ingest time (2026-01-01T00:00:00Z).
pub const NOW: i64 = 1_767_225_600;

/// The shared corpus.
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/synthetic-patients")
}

/// Ingest options at [`NOW`].
pub fn opts() -> IngestOptions {
    IngestOptions {
        now: NOW,
        sites: SiteMode::PerBundleFile,
    }
}

/// An in-memory store with the whole corpus.
pub fn loaded() -> Arc<SqliteStore> {
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let report = ingest_path(store.as_ref(), &corpus_dir(), &opts()).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    store
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
        assert!(out.len() as u64 <= page.total);
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => {
                assert_eq!(
                    out.len() as u64,
                    page.total,
                    "total must equal what paging yields"
                );
                return out;
            }
        }
    }
}
