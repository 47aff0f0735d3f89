//! Shared helpers for the FHIR API tests: the corpus loaded once, grants built from JSON, and
//! in-process requests through `fhir_router` + `oneshot`.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use axum::Extension;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tessera_access::Grant;
use tessera_holder::{FhirState, fhir_router};
use tessera_store::{IngestOptions, ResourceStore, SiteMode, SqliteStore, ingest_path};
use tower::ServiceExt;

pub const BASE: &str = "https://holder.example/fhir";
/// Elena Reyes's Patient record at Central Austin Family Medicine.
pub const ELENA: &str = "7f3a1c5e-9b2d-4e8f-a6c0-1d3e5a7b9c2f";
pub const ELENA_SITE: &str = "central-austin-family-medicine";

pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/synthetic-patients")
}

/// The corpus in one in-memory store, shared by every test of the binary.
pub fn store() -> Arc<dyn ResourceStore> {
    static STORE: OnceLock<Arc<SqliteStore>> = OnceLock::new();
    let s = STORE.get_or_init(|| {
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let opts = IngestOptions {
            now: 1_767_225_600,
            sites: SiteMode::PerBundleFile,
        };
        let report = ingest_path(store.as_ref(), &corpus_dir(), &opts).unwrap();
        assert_eq!(report.resources, 3911);
        store
    });
    s.clone()
}

/// Every resource of the corpus as stored (server ids), from the store without a grant.
pub fn stored_corpus() -> &'static Vec<Value> {
    static ALL: OnceLock<Vec<Value>> = OnceLock::new();
    ALL.get_or_init(|| {
        let store = store();
        let mut out = Vec::new();
        for def in tessera_fhir::RESOURCES {
            let mut q =
                tessera_fhir::parse_search(def.resource_type, &[("_count".into(), "200".into())])
                    .unwrap();
            loop {
                let page = store
                    .search(
                        tessera_store::Scope::Network,
                        &q,
                        &tessera_access::Filter::All,
                    )
                    .unwrap();
                out.extend(
                    page.resources
                        .iter()
                        .map(|e| serde_json::from_slice::<Value>(&e.json).unwrap()),
                );
                match page.next_cursor {
                    Some(c) => q.cursor = Some(c),
                    None => break,
                }
            }
        }
        out
    })
}

/// A grant for `patient` with `perms` (SMART bits: r = 2, s = 16) on every served type.
pub fn grant_all(patient: &str, perms: u8) -> Value {
    let scopes: Vec<Value> = tessera_fhir::RESOURCES
        .iter()
        .map(|d| json!({"type": d.resource_type, "perms": perms, "context": "patient"}))
        .collect();
    json!({"patient": patient, "scopes": scopes})
}

pub fn grant(v: Value) -> Grant {
    serde_json::from_value(v).unwrap()
}

pub fn app(grant: Option<Grant>) -> axum::Router {
    let state = FhirState::new(store(), BASE).unwrap();
    let router = fhir_router(state);
    match grant {
        Some(g) => router.layer(Extension(Arc::new(g))),
        None => router,
    }
}

pub struct Resp {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
}

pub async fn send(app: &axum::Router, req: Request<Body>) -> Resp {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Resp {
        status,
        content_type,
        body,
    }
}

pub async fn get(app: &axum::Router, uri: &str) -> Resp {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// Follows `next` links from `uri`, checking every page's `total` is the same.
pub async fn get_all(app: &axum::Router, uri: &str) -> (u64, Vec<Value>) {
    let mut resources = Vec::new();
    let mut next = Some(uri.to_owned());
    let mut total = None;
    while let Some(u) = next.take() {
        let r = get(app, &u).await;
        assert_eq!(r.status, StatusCode::OK, "{u}: {}", r.body);
        let t = r.body["total"].as_u64().unwrap();
        assert_eq!(*total.get_or_insert(t), t, "total stable across pages");
        resources.extend(
            r.body["entry"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| e["resource"].clone()),
        );
        next = r.body["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == "next")
            .map(|l| {
                l["url"]
                    .as_str()
                    .unwrap()
                    .strip_prefix(BASE)
                    .unwrap()
                    .to_owned()
            });
    }
    (total.unwrap_or(0), resources)
}

/// Asserts an OperationOutcome error with `status`, returning its diagnostics.
pub fn outcome(r: &Resp, status: StatusCode) -> String {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.content_type, "application/fhir+json");
    assert_eq!(r.body["resourceType"], "OperationOutcome");
    r.body["issue"][0]["diagnostics"]
        .as_str()
        .unwrap()
        .to_owned()
}
