//! The FHIR router on a real loopback socket (reqwest client), one end-to-end search and read.

use std::sync::Arc;

use axum::Extension;
use tessera_holder::{FhirState, fhir_router};

use crate::fhir_support::*;

#[tokio::test]
async fn search_and_read_over_loopback() {
    let state = FhirState::new(store(), BASE).unwrap();
    let router = fhir_router(state).layer(Extension(Arc::new(grant(grant_all(patient(), 18)))));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::new();
    let resp = client
        .get(format!(
            "http://{addr}/Observation?category=laboratory&_count=5"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/fhir+json");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["type"], "searchset");
    assert!(body["total"].as_u64().unwrap() > 5);
    assert_eq!(body["entry"].as_array().unwrap().len(), 5);
    let resp = client
        .get(format!("http://{addr}/Patient/{}", patient()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = client
        .get(format!("http://{addr}/Patient/not-there"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    // A 1 MiB query string: refused as a client error before any handler runs.
    let huge = format!("http://{addr}/Observation?code={}", "a".repeat(1024 * 1024));
    let status = client.get(huge).send().await.map(|r| r.status().as_u16());
    assert!(matches!(status, Ok(400 | 414 | 431) | Err(_)), "{status:?}");
    // A 7 KiB value passes transport and the query-length bound; the value bound refuses it.
    let long = format!(
        "http://{addr}/Observation?code={}",
        "a".repeat(7 * 1024 - 40)
    );
    assert_eq!(
        client.get(long).send().await.unwrap().status(),
        400,
        "value longer than 512 bytes"
    );
    server.abort();
}
