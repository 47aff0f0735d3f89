//! The issuer operator's workbench (`[workbench] enabled`, issue 15): served only when enabled,
//! its API answers only the admin secret, its check is minting's own verdict for the chosen
//! client (nothing signed or recorded), and inspect verifies with this issuer's keys and shows
//! the issuance record.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tessera_issuer::{AppState, Caller, Db, Issuer, app};
use tessera_ticket::TicketType;
use tower::ServiceExt;

use crate::support::*;

const SECRET: &str = "operator-secret-0123456789";

fn state(enabled: bool) -> AppState {
    let mut config = with_client(config(&es256()), &es256());
    if enabled {
        config.admin_token = Some(SECRET.into());
        config.workbench = true;
    }
    AppState {
        issuer: Arc::new(Issuer::with_db(config, Db::open_in_memory().unwrap())),
        clock: fixed_clock(),
    }
}

async fn send(
    state: &AppState,
    method: &str,
    uri: &str,
    auth: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, format!("Bearer {a}"));
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let response = app(state.clone()).oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn off_by_default_nothing_of_it_is_served() {
    let s = state(false);
    for (method, uri) in [("GET", "/workbench"), ("GET", "/workbench/api/world")] {
        let (status, _, _) = send(&s, method, uri, Some(SECRET), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
    }
}

#[tokio::test]
async fn the_page_is_static_under_a_strict_policy_and_the_api_needs_the_secret() {
    let s = state(true);
    for (uri, kind) in [
        ("/workbench", "text/html"),
        ("/workbench/app.js", "text/javascript"),
        ("/workbench/operator.js", "text/javascript"),
        ("/workbench/app.css", "text/css"),
    ] {
        let (status, headers, _) = send(&s, "GET", uri, None, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("default-src 'self'"), "{csp}");
    }
    let (status, headers, _) = send(&s, "GET", "/workbench/api/world", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains_key(header::WWW_AUTHENTICATE));
    let (status, _, _) = send(
        &s,
        "GET",
        "/workbench/api/world",
        Some("operator-secret-012345678"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, world) = send(&s, "GET", "/workbench/api/world", Some(SECRET), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(world["issuer"], ISS);
    assert_eq!(world["clients"][0]["client_id"], CLIENT_ID);
}

#[tokio::test]
async fn check_is_mintings_verdict_for_the_chosen_client_and_signs_nothing() {
    let s = state(true);
    let body = |claims: Value| json!({ "client_id": CLIENT_ID, "claims": claims });
    let (status, _, ok) = send(
        &s,
        "POST",
        "/workbench/api/check",
        Some(SECRET),
        Some(body(claims(TicketType::SelfAccess))),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ok}");
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(ok["claims"]["iss"], ISS);
    // The same verdict as the library's check for that caller, and nothing recorded.
    let direct = s
        .issuer
        .check_as(
            &Caller::Client(CLIENT_ID.into()),
            &claims(TicketType::SelfAccess),
            NOW,
        )
        .unwrap();
    assert_eq!(ok["claims"]["ticket_type"], direct["ticket_type"]);
    let jti = ok["claims"]["jti"]
        .as_str()
        .unwrap_or("(assigned at minting)");
    assert!(s.issuer.record(jti).is_err(), "nothing was minted");

    let mut bad = claims(TicketType::SelfAccess);
    bad["access"]["smart_scopes"] = json!(["not a scope"]);
    let (status, _, refused) = send(
        &s,
        "POST",
        "/workbench/api/check",
        Some(SECRET),
        Some(body(bad)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(refused["ok"], false);
    assert_eq!(refused["error"], "invalid_claims", "{refused}");

    let (status, _, unknown) = send(
        &s,
        "POST",
        "/workbench/api/check",
        Some(SECRET),
        Some(json!({ "client_id": "nobody", "claims": claims(TicketType::SelfAccess) })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown["error"]
            .as_str()
            .unwrap()
            .contains("not a registered minting client")
    );
    let (status, _, _) = send(
        &s,
        "POST",
        "/workbench/api/check",
        Some(SECRET),
        Some(json!({ "client_id": CLIENT_ID })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "claims missing");
}

#[tokio::test]
async fn inspect_verifies_with_own_keys_and_shows_the_issuance_record() {
    let s = state(true);
    let minted = s
        .issuer
        .mint_as(
            &Caller::Client(CLIENT_ID.into()),
            &claims(TicketType::SelfAccess),
            NOW,
        )
        .unwrap();
    let inspect = |ticket: &str| {
        let s = s.clone();
        let ticket = ticket.to_owned();
        async move {
            send(
                &s,
                "POST",
                "/workbench/api/inspect",
                Some(SECRET),
                Some(json!({ "ticket": ticket })),
            )
            .await
        }
    };
    let (status, _, r) = inspect(&minted.token).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["verification"]["ok"], true, "{r}");
    assert_eq!(r["record"]["jti"], minted.record.jti.as_str());
    assert_eq!(r["record"]["requested_by"], CLIENT_ID);
    assert_eq!(r["record"]["revoked_at"], Value::Null);
    s.issuer.revoke(&minted.record.jti, NOW + 1).unwrap();
    let (_, _, r) = inspect(&minted.token).await;
    assert_eq!(r["record"]["revoked_at"], NOW + 1);

    // Signed by someone else under this issuer's name: it does not verify.
    let stranger = Issuer::with_db(config(&es256()), Db::open_in_memory().unwrap());
    let forged = stranger.mint(&claims(TicketType::SelfAccess), NOW).unwrap();
    let (_, _, r) = inspect(&forged.token).await;
    assert_eq!(r["verification"]["ok"], false, "{r}");
    assert!(r["record"]["not_found"] == true, "{r}");

    let (status, _, r) = inspect("not.a.ticket").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r["error"].as_str().unwrap().starts_with("not a ticket"));
}
