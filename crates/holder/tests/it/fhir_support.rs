//! Shared helpers for the FHIR API tests: the project's synthetic data set (tessera-synth,
//! generated in-process) loaded once, its cast, grants built from JSON, and in-process requests
//! through `fhir_router` + `oneshot`.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use axum::Extension;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tessera_access::Grant;
use tessera_holder::{FhirState, fhir_router};
use tessera_store::{
    IngestOptions, IngestReport, ResourceStore, SiteMode, SqliteStore, ingest_value,
};
use tessera_synth::{Config, MemorySink, generate};
use tower::ServiceExt;

pub const BASE: &str = "https://holder.example/fhir";
/// The data set: twenty patients over every catalog site (every served type, patients known at
/// up to three sites, every security label).
const SEED: u64 = 42;
const PATIENTS: u64 = 20;

/// The generated data set.
pub struct Data {
    /// The manifest document (names the cast).
    pub manifest: Value,
    /// Every bundle as `(site slug, bundle)`.
    pub bundles: Vec<(String, Value)>,
    /// Every resource as generated, once per `(type, id)`.
    pub resources: Vec<Value>,
}

pub fn data() -> &'static Data {
    static DATA: OnceLock<Data> = OnceLock::new();
    DATA.get_or_init(|| {
        let mut sink = MemorySink::default();
        generate(&Config::new(SEED, PATIENTS), &mut sink).unwrap();
        let bundles: Vec<(String, Value)> = sink
            .patients
            .iter()
            .flat_map(|p| p.bundles.iter().map(|b| (b.site.clone(), b.bundle.clone())))
            .collect();
        let mut distinct = BTreeMap::new();
        for (_, b) in &bundles {
            for e in b["entry"].as_array().unwrap() {
                let r = &e["resource"];
                let key = (r["resourceType"].to_string(), r["id"].to_string());
                distinct.entry(key).or_insert_with(|| r.clone());
            }
        }
        Data {
            manifest: sink.manifest().unwrap(),
            bundles,
            resources: distinct.into_values().collect(),
        }
    })
}

/// The cast member the tests act for: the manifest's first patient (Samuel Green, known at two
/// sites), through his record at the first of them.
pub struct Anchor {
    /// His Patient id at `site`.
    pub id: String,
    /// The site of that record.
    pub site: String,
    /// His Patient id at his second site.
    pub other_id: String,
    /// A site of the data set where he has no record.
    pub elsewhere: String,
}

pub fn anchor() -> &'static Anchor {
    static ANCHOR: OnceLock<Anchor> = OnceLock::new();
    ANCHOR.get_or_init(|| {
        let m = &data().manifest;
        let p = &m["patient_records"][0];
        let sites = p["sites"].as_array().unwrap();
        assert!(sites.len() >= 2, "the anchor is known at several sites");
        let text = |v: &Value| v.as_str().unwrap().to_owned();
        let elsewhere = data()
            .bundles
            .iter()
            .map(|(site, _)| site)
            .find(|site| sites.iter().all(|s| s["site"] != site.as_str()))
            .unwrap()
            .clone();
        Anchor {
            id: text(&sites[0]["patient_id"]),
            site: text(&sites[0]["site"]),
            other_id: text(&sites[1]["patient_id"]),
            elsewhere,
        }
    })
}

/// The anchor's Patient id at his first site.
pub fn patient() -> &'static str {
    &anchor().id
}

/// The data set in one in-memory store, shared by every test of the binary. Each bundle is its
/// site's (the layout `tessera serve --load` reads), as the demo loads it.
pub fn store() -> Arc<dyn ResourceStore> {
    static STORE: OnceLock<Arc<SqliteStore>> = OnceLock::new();
    let s = STORE.get_or_init(|| {
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let opts = IngestOptions {
            now: 1_767_225_600,
            sites: SiteMode::PerBundleFile,
        };
        let mut report = IngestReport::default();
        for (site, bundle) in &data().bundles {
            ingest_value(
                store.as_ref(),
                bundle.clone(),
                Some(site.as_str()),
                &opts,
                &mut report,
            )
            .unwrap();
        }
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let stored: u64 = store.type_counts().unwrap().iter().map(|(_, n)| n).sum();
        assert_eq!(stored as usize, data().resources.len());
        store
    });
    s.clone()
}

/// Every generated resource of `rtype`.
pub fn of_type(rtype: &str) -> impl Iterator<Item = &'static Value> {
    let rtype = rtype.to_owned();
    data()
        .resources
        .iter()
        .filter(move |r| r["resourceType"] == rtype.as_str())
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
