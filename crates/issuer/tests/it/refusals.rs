//! The issuer's refusal log: every refused request of the minting API is recorded before its
//! error is sent — who (the authenticated client, or the client id an assertion claimed),
//! which endpoint, the status and code sent, the ticket type or `jti` asked about — and a
//! refusal that cannot be recorded is a 500. Grants and a dry run's verdict write no row.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tessera_issuer::{AppState, Db, Issuer, RefusalRecord, app};
use tessera_ticket::TicketType;
use tower::ServiceExt;

use crate::support::*;

struct Fixture {
    state: AppState,
    client_key: tessera_jose::PrivateJwk,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    fixture_with(|_| {})
}

/// An issuer on a database file, after `prepare` had its way with that file.
fn fixture_with(prepare: impl FnOnce(&rusqlite::Connection)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("issuer.db");
    let db = Db::open(&path).unwrap();
    prepare(&rusqlite::Connection::open(&path).unwrap());
    let client_key = es256();
    let config = with_client(config(&es256()), &client_key);
    Fixture {
        state: AppState {
            issuer: Arc::new(Issuer::with_db(config, db)),
            clock: fixed_clock(),
        },
        client_key,
        _dir: dir,
    }
}

async fn call(
    f: &Fixture,
    method: &str,
    uri: &str,
    auth: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, format!("Bearer {a}"));
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    let response = app(f.state.clone())
        .oneshot(req.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn log(f: &Fixture) -> Vec<RefusalRecord> {
    f.state.issuer.refusals(100).unwrap()
}

/// The last row, after checking the request added exactly one.
fn added(f: &Fixture, before: usize) -> RefusalRecord {
    let rows = log(f);
    assert_eq!(rows.len(), before + 1, "{rows:#?}");
    rows.last().unwrap().clone()
}

#[tokio::test]
async fn failed_authentication_is_recorded_with_the_client_the_assertion_claimed() {
    let f = fixture();
    let c = claims(TicketType::SelfAccess);
    let (s, body) = call(&f, "POST", "/tickets", None, Some(&c)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let row = added(&f, 0);
    assert_eq!(
        (row.endpoint.as_str(), row.status, row.error.as_str()),
        ("mint", 401, "invalid_client")
    );
    assert_eq!(
        row.error_description,
        body["error_description"].as_str().unwrap()
    );
    assert_eq!((row.client_id, row.claimed_client_id), (None, None));
    assert_eq!(row.at, NOW);
    // Signed by a key the client does not have: the claimed id, unverified, is recorded.
    let forged = assertion(&es256(), json!({}));
    let (s, _) = call(&f, "POST", "/tickets", Some(&forged), Some(&c)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let row = added(&f, 1);
    assert_eq!(
        (row.client_id, row.claimed_client_id.as_deref()),
        (None, Some(CLIENT_ID))
    );
    // A replayed assertion.
    let a = assertion(&f.client_key, json!({}));
    let (s, _) = call(&f, "POST", "/tickets", Some(&a), Some(&c)).await;
    assert_eq!(s, StatusCode::CREATED, "a grant writes no refusal");
    assert_eq!(log(&f).len(), 2);
    let (s, _) = call(&f, "POST", "/tickets", Some(&a), Some(&c)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let row = added(&f, 2);
    assert_eq!(row.claimed_client_id.as_deref(), Some(CLIENT_ID));
    // The assertion itself is never stored.
    let dump = serde_json::to_string(&log(&f)).unwrap();
    assert!(!dump.contains(&a) && !dump.contains(&forged));
}

#[tokio::test]
async fn refused_claims_and_unknown_tickets_are_recorded_for_the_authenticated_client() {
    let f = fixture();
    let mut c = claims(TicketType::SelfAccess);
    c.as_object_mut().unwrap().remove("presenter_binding");
    let a = assertion(&f.client_key, json!({}));
    let (s, _) = call(&f, "POST", "/tickets", Some(&a), Some(&c)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let row = added(&f, 0);
    assert_eq!(
        (row.endpoint.as_str(), row.status, row.error.as_str()),
        ("mint", 400, "invalid_claims")
    );
    assert_eq!(row.client_id.as_deref(), Some(CLIENT_ID));
    assert_eq!(row.ticket_type.as_deref(), c["ticket_type"].as_str());
    assert!(
        row.error_description.contains("presenter binding"),
        "{row:?}"
    );
    // A body that is not a JSON object.
    let a = assertion(&f.client_key, json!({}));
    let (s, _) = call(&f, "POST", "/tickets", Some(&a), Some(&json!([1]))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let row = added(&f, 1);
    assert_eq!(
        (row.error.as_str(), row.ticket_type),
        ("invalid_request", None)
    );
    // A ticket the client cannot see, read and revoked: 404, with the jti asked about.
    for (n, (method, uri, endpoint)) in [
        ("GET", "/tickets/no-such-ticket", "record"),
        ("POST", "/tickets/no-such-ticket/revoke", "revoke"),
    ]
    .into_iter()
    .enumerate()
    {
        let a = assertion(&f.client_key, json!({}));
        let (s, _) = call(&f, method, uri, Some(&a), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{uri}");
        let row = added(&f, 2 + n);
        assert_eq!(
            (row.endpoint.as_str(), row.status, row.jti.as_deref()),
            (endpoint, 404, Some("no-such-ticket"))
        );
    }
}

#[tokio::test]
async fn a_dry_runs_verdict_is_not_a_refusal_but_its_failed_authentication_is() {
    let f = fixture();
    let mut c = claims(TicketType::SelfAccess);
    c.as_object_mut().unwrap().remove("presenter_binding");
    let a = assertion(&f.client_key, json!({}));
    let (s, _) = call(&f, "POST", "/tickets/check", Some(&a), Some(&c)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(log(&f), vec![]);
    let (s, _) = call(&f, "POST", "/tickets/check", None, Some(&c)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let row = added(&f, 0);
    assert_eq!((row.endpoint.as_str(), row.status), ("check", 401));
}

#[tokio::test]
async fn a_refusal_that_cannot_be_recorded_is_a_500() {
    let f = fixture_with(|c| {
        c.execute_batch(
            "CREATE TRIGGER disk_full BEFORE INSERT ON refusal \
             BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
        )
        .unwrap();
    });
    let (s, body) = call(
        &f,
        "POST",
        "/tickets",
        None,
        Some(&claims(TicketType::SelfAccess)),
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, Some("server_error"))
    );
    // Minting is unaffected.
    let a = assertion(&f.client_key, json!({}));
    let (s, _) = call(
        &f,
        "POST",
        "/tickets",
        Some(&a),
        Some(&claims(TicketType::SelfAccess)),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
}
