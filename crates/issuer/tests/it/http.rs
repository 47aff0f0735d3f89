//! The HTTP layer in-process (`oneshot`): authentication of the API, demo mode, JWKS and
//! status-list responses.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tessera_issuer::{AppState, Db, Issuer, app};
use tessera_ticket::TicketType;
use tower::ServiceExt;

use crate::support::*;

struct Fixture {
    state: AppState,
    client_key: tessera_jose::PrivateJwk,
}

fn fixture(demo: bool) -> Fixture {
    let client_key = es256();
    let mut config = with_client(config(&es256()), &client_key);
    config.demo_mode = demo;
    let issuer = Issuer::with_db(config, Db::open_in_memory().unwrap());
    Fixture {
        state: AppState {
            issuer: Arc::new(issuer),
            clock: fixed_clock(),
        },
        client_key,
    }
}

async fn call(state: &AppState, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = app(state.clone()).oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, body)
}

fn post(uri: &str, auth: Option<&str>, body: &Value) -> Request<Body> {
    let mut req = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, format!("Bearer {a}"));
    }
    req.body(Body::from(body.to_string())).unwrap()
}

fn get(uri: &str, auth: Option<&str>) -> Request<Body> {
    let mut req = Request::get(uri);
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, format!("Bearer {a}"));
    }
    req.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn unauthenticated_mint_is_401() {
    let f = fixture(false);
    let (status, headers, body) = call(
        &f.state,
        post("/tickets", None, &claims(TicketType::SelfAccess)),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert!(headers.contains_key(header::WWW_AUTHENTICATE));
}

#[tokio::test]
async fn authenticated_mint_returns_the_ticket_and_records_it() {
    let f = fixture(false);
    let a = assertion(&f.client_key, json!({}));
    let (status, headers, body) = call(
        &f.state,
        post("/tickets", Some(&a), &claims(TicketType::SelfAccess)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let jti = body["jti"].as_str().unwrap();
    assert_eq!(headers[header::LOCATION], format!("{ISS}/tickets/{jti}"));
    assert_eq!(body["revocation"]["url"], format!("{ISS}/status/tickets"));
    assert!(body["ticket"].as_str().unwrap().split('.').count() == 3);

    let a = assertion(&f.client_key, json!({}));
    let (status, _, record) = call(&f.state, get(&format!("/tickets/{jti}"), Some(&a))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(record["requested_by"], CLIENT_ID);
    assert_eq!(record["status_index"], body["revocation"]["index"]);

    let a = assertion(&f.client_key, json!({}));
    let (status, _, revoked) = call(
        &f.state,
        post(&format!("/tickets/{jti}/revoke"), Some(&a), &json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(revoked["revoked_by"], CLIENT_ID);
    let (_, _, list) = call(&f.state, get("/status/tickets", None)).await;
    assert!(bit(
        &decode_bits(&list),
        body["revocation"]["index"].as_u64().unwrap()
    ));
}

#[tokio::test]
async fn replayed_assertion_is_401() {
    let f = fixture(false);
    let a = assertion(&f.client_key, json!({}));
    let (status, _, _) = call(
        &f.state,
        post("/tickets", Some(&a), &claims(TicketType::SelfAccess)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, body) = call(
        &f.state,
        post("/tickets", Some(&a), &claims(TicketType::SelfAccess)),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_description"], "client assertion replayed");
}

#[tokio::test]
async fn every_assertion_defect_is_401_with_its_reason() {
    let f = fixture(false);
    let stranger = es256();
    let cases = [
        (
            assertion(&stranger, json!({})),
            "client assertion signature invalid",
        ),
        (
            assertion(
                &f.client_key,
                json!({"aud": "https://dh.example.org/token"}),
            ),
            "client assertion aud must be https://issuer.example.org/tickets",
        ),
        (
            assertion(&f.client_key, json!({"exp": NOW - 60})),
            "client assertion expired",
        ),
        (
            assertion(&f.client_key, json!({"exp": NOW + 3600})),
            "client assertion lifetime exceeds 300 seconds",
        ),
        (
            assertion(&f.client_key, json!({"iat": NOW + 600})),
            "client assertion issued in the future",
        ),
        (
            assertion(&f.client_key, json!({"sub": "someone-else"})),
            "client assertion iss and sub must both be the client id",
        ),
        (
            assertion(&f.client_key, json!({"iss": "nobody", "sub": "nobody"})),
            "unknown client",
        ),
        (
            assertion(&f.client_key, json!({"jti": ""})),
            "client assertion jti missing or invalid",
        ),
        ("not.a.jwt".to_owned(), "malformed client assertion"),
    ];
    for (a, reason) in cases {
        let (status, _, body) = call(
            &f.state,
            post("/tickets", Some(&a), &claims(TicketType::SelfAccess)),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{reason}");
        assert_eq!(body["error"], "invalid_client");
        assert_eq!(body["error_description"], reason);
    }
    // A record read needs authentication too.
    let (status, _, _) = call(&f.state, get("/tickets/anything", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = call(&f.state, post("/tickets/anything/revoke", None, &json!({}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn demo_mode_opens_minting_only_when_configured() {
    let f = fixture(true);
    let (status, _, body) = call(
        &f.state,
        post("/tickets", None, &claims(TicketType::SelfAccess)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let jti = body["jti"].as_str().unwrap();
    let (status, _, record) = call(&f.state, get(&format!("/tickets/{jti}"), None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(record["requested_by"], "demo");
    // A bad assertion is still refused in demo mode: the header, when sent, is checked.
    let (status, _, _) = call(
        &f.state,
        post(
            "/tickets",
            Some("not.a.jwt"),
            &claims(TicketType::SelfAccess),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refused_claims_are_400_with_the_rule() {
    let f = fixture(true);
    let mut c = claims(TicketType::SelfAccess);
    c.as_object_mut().unwrap().remove("presenter_binding");
    let (status, _, body) = call(&f.state, post("/tickets", None, &c)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_claims");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("Ticket presenter binding required"),
        "{body}"
    );
    let (status, _, body) = call(
        &f.state,
        Request::post("/tickets")
            .body(Body::from("{not json"))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
    let (status, _, _) = call(
        &f.state,
        Request::post("/tickets").body(Body::from(deep)).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let huge = vec![b' '; tessera_issuer::MAX_BODY + 1];
    let (status, _, _) = call(
        &f.state,
        Request::post("/tickets").body(Body::from(huge)).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

// PT-ISS-01: JWKS at [iss]/.well-known/jwks.json with the signing kid, cacheable.
#[tokio::test]
async fn jwks_and_status_list_headers() {
    let f = fixture(false);
    let (status, headers, jwks) = call(&f.state, get("/.well-known/jwks.json", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "max-age=300");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let kid = f.state.issuer.config().keys.active_kid();
    assert_eq!(jwks["keys"][0]["kid"], kid);
    assert!(jwks["keys"][0].get("d").is_none());

    let (status, headers, list) = call(&f.state, get("/status/tickets", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "max-age=60");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(list["kid"], kid);
    assert_eq!(decode_bits(&list).len(), 131_072 / 8);
    let (status, _, _) = call(&f.state, get("/status/nope", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn routes_live_under_the_issuer_path() {
    let key = es256();
    let ring = tessera_issuer::KeyRing::single(&key, 86_400).unwrap();
    let config =
        tessera_issuer::Config::new("http://127.0.0.1:8090/org1/", "x".into(), ring).unwrap();
    assert_eq!(config.issuer, "http://127.0.0.1:8090/org1");
    let state = AppState {
        issuer: Arc::new(Issuer::with_db(config, Db::open_in_memory().unwrap())),
        clock: fixed_clock(),
    };
    let (status, _, _) = call(&state, get("/org1/.well-known/jwks.json", None)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = call(&state, get("/.well-known/jwks.json", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// The workbench's live validation: the mint's own verdict, nothing signed or recorded.
#[tokio::test]
async fn check_gives_the_mint_verdict_without_minting() {
    let f = fixture(false);
    let (status, _, body) = call(
        &f.state,
        post("/tickets/check", None, &claims(TicketType::SelfAccess)),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");

    let a = assertion(&f.client_key, json!({}));
    let (status, headers, body) = call(
        &f.state,
        post("/tickets/check", Some(&a), &claims(TicketType::SelfAccess)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(body["ok"], true);
    assert_eq!(body["claims"]["iss"], ISS);
    assert_eq!(body["claims"]["jti"], "(assigned at minting)");
    assert!(body["claims"]["exp"].as_i64().unwrap() > body["claims"]["iat"].as_i64().unwrap());
    assert!(body.get("ticket").is_none(), "nothing is signed: {body}");

    let mut c = claims(TicketType::SelfAccess);
    c.as_object_mut().unwrap().remove("presenter_binding");
    let a = assertion(&f.client_key, json!({}));
    let (status, _, checked) = call(&f.state, post("/tickets/check", Some(&a), &c)).await;
    let a = assertion(&f.client_key, json!({}));
    let (mint_status, _, minted) = call(&f.state, post("/tickets", Some(&a), &c)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!((status, &checked), (mint_status, &minted));
}

/// A store whose database is gone: every call fails.
#[derive(Debug)]
struct Unreachable;

fn gone() -> tessera_issuer::DbError {
    tessera_issuer::DbError("connection refused by postgres://secret@db.internal".into())
}

impl tessera_issuer::IssuerStore for Unreachable {
    fn issue(
        &self,
        _: &str,
        _: u64,
        _: &mut dyn FnMut() -> u64,
        _: tessera_issuer::MintFn<'_>,
    ) -> Result<Option<(tessera_issuer::IssuanceRecord, String)>, tessera_issuer::IssueError> {
        Err(gone().into())
    }
    fn get(
        &self,
        _: &str,
    ) -> Result<Option<tessera_issuer::IssuanceRecord>, tessera_issuer::DbError> {
        Err(gone())
    }
    fn revoke(&self, _: &str, _: &str, _: i64) -> Result<bool, tessera_issuer::DbError> {
        Err(gone())
    }
    fn revoked_indexes(&self, _: &str) -> Result<Vec<u64>, tessera_issuer::DbError> {
        Err(gone())
    }
    fn has_unexpired(&self, _: &str, _: i64) -> Result<bool, tessera_issuer::DbError> {
        Err(gone())
    }
    fn record_assertion(
        &self,
        _: &str,
        _: &str,
        _: i64,
        _: i64,
    ) -> Result<bool, tessera_issuer::DbError> {
        Err(gone())
    }
    fn record_refusal(
        &self,
        _: &tessera_issuer::RefusalRecord,
    ) -> Result<(), tessera_issuer::DbError> {
        Err(gone())
    }
    fn refusals(
        &self,
        _: usize,
    ) -> Result<Vec<tessera_issuer::RefusalRecord>, tessera_issuer::DbError> {
        Err(gone())
    }
    fn ready(&self) -> Result<(), tessera_issuer::DbError> {
        Err(gone())
    }
}

/// [`call`] through the router `tessera issuer serve` listens with (API + probes).
async fn call_probed(
    state: &AppState,
    req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = tessera_issuer::app_with_probes(state.clone())
        .oneshot(req)
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

// Issue 13 part 7, for the issuer: probes at the root even when the issuer URL has a path.
#[tokio::test]
async fn probes_answer_at_the_root_and_readiness_follows_the_store() {
    let at_path = || {
        let mut c = config(&es256());
        c.issuer = "https://issuer.example/pt".into();
        c
    };
    let ready = AppState {
        issuer: Arc::new(Issuer::with_db(at_path(), Db::open_in_memory().unwrap())),
        clock: fixed_clock(),
    };
    let (status, headers, body) = call_probed(&ready, get("/healthz", None)).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let (status, _, body) = call_probed(&ready, get("/readyz", None)).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({"status": "ready", "checks": {"store": "ok"}})
        )
    );
    // The API itself stays under the issuer URL's path.
    let (status, _, _) = call_probed(&ready, get("/pt/.well-known/jwks.json", None)).await;
    assert_eq!(status, StatusCode::OK);

    let down = AppState {
        issuer: Arc::new(Issuer::with_store(at_path(), Box::new(Unreachable))),
        clock: fixed_clock(),
    };
    let (status, headers, body) = call_probed(&down, get("/readyz", None)).await;
    assert_eq!(
        (status, body.clone()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "not_ready", "not_ready": ["store"], "checks": {"store": "not_ready"}})
        )
    );
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    // The database URL in the error stays in the log.
    assert!(!body.to_string().contains("secret"));
    // Liveness does not depend on the store.
    assert_eq!(
        call_probed(&down, get("/healthz", None)).await.0,
        StatusCode::OK
    );
}
