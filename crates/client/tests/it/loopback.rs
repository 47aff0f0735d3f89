//! End to end on loopback: `redeem` and `fetch` against a tiny in-test token endpoint and FHIR
//! server that check every form field, assertion claim, DPoP proof and header they receive.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::{Value, json};
use tessera_client::jwt::access_token_hash;
use tessera_client::{
    Authorization, Client, ClientAuth, ClientError, ClientKey, FetchOptions, Redemption,
};
use tessera_jose::{Alg, Jwk, Limits, PrivateJwk, decode};
use url::Url;

const NOW: i64 = 1_800_000_000;
const TICKET: &str = "eyJhbGciOiJFUzI1NiJ9.eyJ0aWNrZXQiOjF9.c2ln";
const CLIENT_ID: &str = "app-1";

#[derive(Clone)]
struct Peer {
    base: String,
    client_key: Jwk,
    seen_jtis: Arc<Mutex<Vec<String>>>,
}

impl Peer {
    fn token_url(&self) -> String {
        format!("{}/token", self.base)
    }

    fn fresh(&self, jti: &str) -> bool {
        let mut seen = self.seen_jtis.lock().unwrap();
        if seen.iter().any(|j| j == jti) {
            return false;
        }
        seen.push(jti.to_owned());
        true
    }

    /// Verifies a DPoP proof; returns its thumbprint or a reason.
    fn check_dpop(
        &self,
        headers: &HeaderMap,
        htm: &str,
        htu: &str,
        token: Option<&str>,
    ) -> Result<String, String> {
        let proof = headers
            .get("dpop")
            .ok_or("no DPoP header")?
            .to_str()
            .unwrap();
        let jws = decode(proof, &Limits::client()).map_err(|e| e.to_string())?;
        let h = jws.header();
        if h.typ.as_deref() != Some("dpop+jwt") {
            return Err("typ".into());
        }
        let key = h.jwk.clone().ok_or("no jwk")?;
        jws.verify_with(&key).map_err(|e| e.to_string())?;
        let c = jws.claims();
        if c["htm"] != htm || c["htu"] != htu || c["iat"] != NOW {
            return Err(format!("claims {c:?}"));
        }
        if !self.fresh(c["jti"].as_str().ok_or("no jti")?) {
            return Err("replayed proof".into());
        }
        match token {
            Some(t) if c.get("ath").and_then(Value::as_str) != Some(&access_token_hash(t)) => {
                return Err("ath".into());
            }
            None if c.contains_key("ath") => return Err("unexpected ath".into()),
            _ => {}
        }
        Ok(key.thumbprint())
    }
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

async fn smart_configuration(State(peer): State<Peer>) -> Json<Value> {
    Json(
        json!({"token_endpoint": peer.token_url(), "grant_types_supported": [
        "urn:ietf:params:oauth:grant-type:token-exchange"]}),
    )
}

async fn token(
    State(peer): State<Peer>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str);
    let expected = [
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        (
            "subject_token_type",
            "https://smarthealthit.org/token-type/permission-ticket",
        ),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
    ];
    for (k, v) in expected {
        if field(k) != Some(v) {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", k);
        }
    }
    // Client authentication first (spec-digest §4).
    let Some(assertion) = field("client_assertion") else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "no assertion");
    };
    let jws = decode(assertion, &Limits::client()).unwrap();
    let c = jws.claims().clone();
    let ok = jws.verify_with(&peer.client_key).is_ok()
        && c["iss"] == CLIENT_ID
        && c["sub"] == CLIENT_ID
        && c["aud"] == peer.token_url()
        && c["exp"] == NOW + 60
        && peer.fresh(c["jti"].as_str().unwrap());
    if !ok {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    }
    match field("subject_token") {
        Some("expired") => {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Ticket expired");
        }
        Some(TICKET) => {}
        _ => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "subject_token"),
    }
    let token_type = if headers.contains_key("dpop") {
        match peer.check_dpop(&headers, "POST", &peer.token_url(), None) {
            Ok(_) => "DPoP",
            Err(e) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof", &e),
        }
    } else {
        "Bearer"
    };
    Json(json!({
        "access_token": "at-1",
        "token_type": token_type,
        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "expires_in": 300,
        "scope": field("scope").unwrap_or("patient/Observation.rs"),
    }))
    .into_response()
}

async fn observations(
    State(peer): State<Peer>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned());
    let url = format!("{}/fhir/Observation", peer.base);
    let authorized = match auth.as_deref() {
        Some("Bearer at-1") => true,
        Some("DPoP at-1") => peer.check_dpop(&headers, "GET", &url, Some("at-1")).is_ok(),
        _ => false,
    };
    if !authorized {
        return (StatusCode::UNAUTHORIZED, Json(json!({"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "login", "diagnostics": "Invalid access token"}]})))
            .into_response();
    }
    let page: u32 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let next = match q.get("next").map(String::as_str) {
        Some("foreign") => Some("https://elsewhere.example.org/fhir/Observation?page=2".to_owned()),
        _ if page < 3 => Some(format!("{url}?page={}", page + 1)),
        _ => None,
    };
    let mut links = vec![json!({"relation": "self", "url": format!("{url}?page={page}")})];
    if let Some(n) = next {
        links.push(json!({"relation": "next", "url": n}));
    }
    Json(
        json!({"resourceType": "Bundle", "type": "searchset", "link": links,
        "entry": [{"resource": {"resourceType": "Observation", "id": format!("o{page}")}}]}),
    )
    .into_response()
}

async fn start() -> (Peer, ClientKey) {
    let key = ClientKey::new(PrivateJwk::generate(Alg::Es256).unwrap()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let peer = Peer {
        base,
        client_key: key.jwk().public().clone(),
        seen_jtis: Arc::default(),
    };
    let app = Router::new()
        .route(
            "/fhir/.well-known/smart-configuration",
            get(smart_configuration),
        )
        .route("/token", post(token))
        .route("/fhir/Observation", get(observations))
        .with_state(peer.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (peer, key)
}

fn client() -> Client {
    Client::new(Arc::new(|| NOW)).unwrap()
}

fn redemption<'a>(key: &'a ClientKey, ticket: &'a str, dpop: bool) -> Redemption<'a> {
    Redemption {
        ticket,
        client_id: CLIENT_ID,
        auth: ClientAuth::Jwk(key),
        scope: Some("patient/Observation.rs"),
        dpop,
    }
}

#[tokio::test]
async fn redeem_after_discovery_sends_every_field() {
    let (peer, key) = start().await;
    let client = client();
    let base = Url::parse(&format!("{}/fhir", peer.base)).unwrap();
    let endpoint = client.discover_token_endpoint(&base).await.unwrap();
    assert_eq!(endpoint.as_str(), peer.token_url());
    let response = client
        .redeem(&endpoint, &redemption(&key, TICKET, false))
        .await
        .unwrap();
    assert_eq!(response.access_token, "at-1");
    assert_eq!(response.token_type, "Bearer");
    assert_eq!(response.scope.as_deref(), Some("patient/Observation.rs"));
    assert_eq!(
        response.raw["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
}

#[tokio::test]
async fn redeem_with_dpop_sends_a_valid_proof() {
    let (peer, key) = start().await;
    let endpoint = Url::parse(&peer.token_url()).unwrap();
    let response = client()
        .redeem(&endpoint, &redemption(&key, TICKET, true))
        .await
        .unwrap();
    assert_eq!(response.token_type, "DPoP");
}

#[tokio::test]
async fn refusals_name_the_step_and_the_code() {
    let (peer, key) = start().await;
    let endpoint = Url::parse(&peer.token_url()).unwrap();
    let e = client()
        .redeem(&endpoint, &redemption(&key, "expired", false))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "token endpoint refused the ticket: invalid_grant: Ticket expired"
    );

    let stranger = ClientKey::new(PrivateJwk::generate(Alg::Es256).unwrap()).unwrap();
    let e = client()
        .redeem(&endpoint, &redemption(&stranger, TICKET, false))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "token endpoint rejected the client authentication: invalid_client: Client authentication failed"
    );

    let nowhere = Url::parse("http://127.0.0.1:9/fhir").unwrap();
    let e = client()
        .discover_token_endpoint(&nowhere)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ClientError::Transport {
                step: tessera_client::Step::Discovery,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with("SMART discovery failed: cannot reach"),
        "{e}"
    );
}

#[tokio::test]
async fn fetch_follows_next_links_within_the_bound() {
    let (peer, key) = start().await;
    let url = Url::parse(&format!("{}/fhir/Observation", peer.base)).unwrap();
    let client = client();
    let one = client
        .fetch(&url, Authorization::Bearer("at-1"), FetchOptions::default())
        .await
        .unwrap();
    assert_eq!(one.pages.len(), 1);
    assert!(!one.truncated);

    let all = FetchOptions {
        all: true,
        max_pages: 10,
    };
    let every = client
        .fetch(&url, Authorization::Bearer("at-1"), all)
        .await
        .unwrap();
    let ids: Vec<&str> = every
        .pages
        .iter()
        .map(|p| p["entry"][0]["resource"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["o1", "o2", "o3"]);
    assert!(!every.truncated);

    let bounded = FetchOptions {
        all: true,
        max_pages: 2,
    };
    let two = client
        .fetch(&url, Authorization::Bearer("at-1"), bounded)
        .await
        .unwrap();
    assert_eq!(two.pages.len(), 2);
    assert!(two.truncated);

    // DPoP: a fresh proof per page (the server refuses a replayed proof jti) with ath.
    let dpop = Authorization::Dpop {
        token: "at-1",
        key: &key,
    };
    let every = client.fetch(&url, dpop, all).await.unwrap();
    assert_eq!(every.pages.len(), 3);
}

#[tokio::test]
async fn fetch_refuses_foreign_next_links_and_reports_outcomes() {
    let (peer, _key) = start().await;
    let client = client();
    let url = Url::parse(&format!("{}/fhir/Observation?next=foreign", peer.base)).unwrap();
    let all = FetchOptions {
        all: true,
        max_pages: 10,
    };
    let e = client
        .fetch(&url, Authorization::Bearer("at-1"), all)
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::ForeignNextLink { .. }), "{e}");

    let url = Url::parse(&format!("{}/fhir/Observation", peer.base)).unwrap();
    let e = client
        .fetch(&url, Authorization::Bearer("wrong"), all)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("FHIR server refused {url}: HTTP 401: Invalid access token")
    );
}
