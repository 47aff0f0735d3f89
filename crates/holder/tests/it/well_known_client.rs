//! Proposal 006 well-known clients over real loopback HTTP (spec-digest §4, §9; PT-CA-09,
//! PT-BIND-07): `well-known:{entity_uri}` authenticates with `{entity_uri}/.well-known/jwks.json`
//! only when a configured `well-known` framework lists the entity, through the bounded fetcher
//! (size cap, timeout, no redirects), cached, refetched on an unknown `kid`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tessera_jose::{Alg, PrivateJwk};

use crate::token_pipeline::quality_gap;
use crate::token_support::*;

const FRAMEWORK: &str = "https://wk.example.org/framework";

/// What the loopback host answers for one path.
#[derive(Clone)]
enum Answer {
    Json(String),
    Slow,
    Redirect(String),
}

#[derive(Default)]
struct Host {
    by_path: Mutex<HashMap<String, Answer>>,
    hits: Mutex<Vec<String>>,
}

async fn serve(State(h): State<Arc<Host>>, uri: Uri) -> Response {
    let path = uri.path().to_owned();
    h.hits.lock().unwrap().push(path.clone());
    let answer = h.by_path.lock().unwrap().get(&path).cloned();
    match answer {
        Some(Answer::Json(body)) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "max-age=300"),
            ],
            body,
        )
            .into_response(),
        Some(Answer::Slow) => {
            tokio::time::sleep(Duration::from_secs(10)).await;
            StatusCode::OK.into_response()
        }
        Some(Answer::Redirect(to)) => {
            (StatusCode::FOUND, [(header::LOCATION, to)], "").into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

struct Fixture {
    host: Arc<Host>,
    origin: String,
    /// `{origin}/app`: the listed entity.
    app: String,
    app_key: PrivateJwk,
}

impl Fixture {
    async fn new() -> Fixture {
        let host = Arc::new(Host::default());
        let app = Router::new().fallback(serve).with_state(host.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let origin = format!("http://{addr}");
        let f = Fixture {
            host,
            app: format!("{origin}/app"),
            origin,
            app_key: PrivateJwk::generate(Alg::Es256).unwrap(),
        };
        f.publish_jwks("/app", &[&f.app_key]);
        f
    }

    fn answer(&self, path: &str, a: Answer) {
        self.host.by_path.lock().unwrap().insert(path.to_owned(), a);
    }

    fn publish_jwks(&self, entity_path: &str, keys: &[&PrivateJwk]) {
        let keys: Vec<Value> = keys.iter().map(|k| k.public().to_value()).collect();
        self.answer(
            &format!("{entity_path}/.well-known/jwks.json"),
            Answer::Json(json!({ "keys": keys }).to_string()),
        );
    }

    fn hits(&self) -> Vec<String> {
        self.host.hits.lock().unwrap().clone()
    }

    /// A Data Holder with one well-known framework (`members` is its TOML body) and `extra`.
    fn holder(&self, members: &str, extra: &str) -> Holder {
        let fw = format!(
            "[[trust_framework]]\nid = \"{FRAMEWORK}\"\nframework_type = \"well-known\"\n{members}\n{extra}\n"
        );
        Holder::with_config(&config_toml(&fw).replace(
            "leeway_seconds = 30",
            "leeway_seconds = 30\ninsecure_allow_loopback_http = true",
        ))
    }

    fn listing(&self, entities: &[&str]) -> String {
        format!("entities = {}", json!(entities))
    }
}

fn bound_value(entity: &str) -> Value {
    let mut t = quality_gap();
    t["presenter_binding"] = json!({"method": "trust_framework_client",
        "trust_framework": FRAMEWORK, "framework_type": "well-known", "entity_uri": entity});
    t
}

fn bound_ticket(entity: &str) -> String {
    mint(&bound_value(entity))
}

fn assertion(h: &Holder, entity: &str, key: &PrivateJwk) -> String {
    let id = format!("well-known:{entity}");
    let now = h.now();
    let claims = json!({"iss": id, "sub": id, "aud": h.token_url(),
        "jti": uuid::Uuid::new_v4().to_string(), "iat": now, "exp": now + 60});
    sign_with_header(key, json!({}), &claims)
}

async fn redeem(h: &Holder, ticket: &str, assertion: &str) -> (axum::http::StatusCode, Value) {
    let form = [
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token_type", SUBJECT_TOKEN_TYPE),
        ("subject_token", ticket),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ];
    let (s, _, b) = h.post("/fhir/token", &form, &[]).await;
    (s, b)
}

#[track_caller]
fn assert_rejected(got: &(StatusCode, Value), needle: &str) {
    assert_eq!(got.0, 401, "{}", got.1);
    assert_eq!(got.1["error"], "invalid_client", "{}", got.1);
    let d = got.1["error_description"].as_str().unwrap();
    assert!(d.contains(needle), "{d:?} should name {needle:?}");
}

// PT-CA-09, PT-BIND-07: a listed entity's assertion verifies with its well-known JWKS and the
// well-known binding matches; the JWKS is cached (one fetch for two redemptions).
#[tokio::test]
async fn pt_ca_09_pt_bind_07_well_known_bound_ticket_redeems() {
    let f = Fixture::new().await;
    let h = f.holder(&f.listing(&[&f.app]), "");
    let t = bound_value(&f.app);
    let (s, b) = redeem(&h, &mint(&t), &assertion(&h, &f.app, &f.app_key)).await;
    assert_eq!(s, 200, "{b}");
    let rows = h.audit(t["jti"].as_str().unwrap());
    let details: Value = serde_json::from_str(&rows[0].details).unwrap();
    assert_eq!(details["binding_check"], "verified:well-known");
    let (s, b) = redeem(
        &h,
        &bound_ticket(&f.app),
        &assertion(&h, &f.app, &f.app_key),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(f.hits(), vec!["/app/.well-known/jwks.json".to_owned()]);
}

// PT-CA-09: recognition through a framework document (its `entities`), fetched once.
#[tokio::test]
async fn pt_ca_09_framework_document_recognizes_its_entities() {
    let f = Fixture::new().await;
    let doc = json!({"framework": FRAMEWORK, "entities": [f.app]}).to_string();
    f.answer("/framework.json", Answer::Json(doc));
    let members = format!("framework_document_uri = \"{}/framework.json\"", f.origin);
    let h = f.holder(&members, "");
    let (s, b) = redeem(
        &h,
        &bound_ticket(&f.app),
        &assertion(&h, &f.app, &f.app_key),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    // An entity the document does not list: refused, its host never contacted.
    let other = format!("{}/other", f.origin);
    let got = redeem(
        &h,
        &bound_ticket(&other),
        &assertion(&h, &other, &f.app_key),
    )
    .await;
    assert_rejected(&got, "entity not recognized");
    assert!(!f.hits().iter().any(|p| p.starts_with("/other")));
}

// PT-CA-09: a document stating another framework recognizes nobody here.
#[tokio::test]
async fn pt_ca_09_framework_document_of_another_framework_refused() {
    let f = Fixture::new().await;
    let doc = json!({"framework": "https://else.example", "entities": [f.app]}).to_string();
    f.answer("/framework.json", Answer::Json(doc));
    let members = format!("framework_document_uri = \"{}/framework.json\"", f.origin);
    let h = f.holder(&members, "");
    let got = redeem(
        &h,
        &bound_ticket(&f.app),
        &assertion(&h, &f.app, &f.app_key),
    )
    .await;
    assert_rejected(&got, "document names another framework");
    assert!(!f.hits().iter().any(|p| p.starts_with("/app")));
}

// PT-CA-09: an entity no framework lists ⇒ invalid_client, and nothing is fetched.
#[tokio::test]
async fn pt_ca_09_unlisted_entity_rejected_without_a_fetch() {
    let f = Fixture::new().await;
    let h = f.holder(&f.listing(&["https://someone-else.example"]), "");
    let got = redeem(
        &h,
        &bound_ticket(&f.app),
        &assertion(&h, &f.app, &f.app_key),
    )
    .await;
    let description =
        "Well-known client rejected: entity not recognized by any well-known trust framework";
    assert_rejected(&got, description);
    assert!(f.hits().is_empty(), "fetched: {:?}", f.hits());
    // Audited under the claimed client id, naming the failed check (client authentication
    // precedes the ticket parse, so the row is found by client, not by ticket jti).
    let id = format!("well-known:{}", f.app);
    let rows: Vec<_> =
        h.db.audit_recent()
            .unwrap()
            .into_iter()
            .filter(|r| r.client_id.as_deref() == Some(id.as_str()))
            .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].outcome, "rejected");
    assert_eq!(rows[0].error.as_deref(), Some("invalid_client"));
    assert_eq!(rows[0].error_description.as_deref(), Some(description));
    assert_eq!(rows[0].step.as_deref(), Some("client_authentication"));
}

// PT-CA-09: a JWKS larger than the outbound cap is refused.
#[tokio::test]
async fn pt_ca_09_oversized_jwks_rejected() {
    let f = Fixture::new().await;
    let padding = "x".repeat(8192);
    let mut set = json!({"keys": [f.app_key.public().to_value()]});
    set["padding"] = json!(padding);
    f.answer("/app/.well-known/jwks.json", Answer::Json(set.to_string()));
    let h = f.holder(&f.listing(&[&f.app]), "[http]\nmax_response_bytes = 4096");
    let got = redeem(
        &h,
        &bound_ticket(&f.app),
        &assertion(&h, &f.app, &f.app_key),
    )
    .await;
    assert_rejected(
        &got,
        "JWKS unavailable: keys unavailable: response body too large",
    );
}

// PT-CA-09: a JWKS host slower than the outbound timeout is refused.
#[tokio::test]
async fn pt_ca_09_slow_jwks_rejected() {
    let f = Fixture::new().await;
    f.answer("/app/.well-known/jwks.json", Answer::Slow);
    let h = f.holder(&f.listing(&[&f.app]), "[http]\ntimeout_ms = 300");
    let got = redeem(
        &h,
        &bound_ticket(&f.app),
        &assertion(&h, &f.app, &f.app_key),
    )
    .await;
    assert_rejected(&got, "JWKS unavailable: keys unavailable: fetch failed");
}

// PT-CA-09: a redirect is never followed (the target is not contacted).
#[tokio::test]
async fn pt_ca_09_jwks_redirect_not_followed() {
    let f = Fixture::new().await;
    f.publish_jwks("/elsewhere", &[&f.app_key]);
    let to = format!("{}/elsewhere/.well-known/jwks.json", f.origin);
    f.answer("/app/.well-known/jwks.json", Answer::Redirect(to));
    let h = f.holder(&f.listing(&[&f.app]), "");
    let got = redeem(
        &h,
        &bound_ticket(&f.app),
        &assertion(&h, &f.app, &f.app_key),
    )
    .await;
    assert_rejected(&got, "unexpected HTTP status 302");
    assert!(!f.hits().iter().any(|p| p.starts_with("/elsewhere")));
}

// PT-CA-09: an assertion signed by a key the entity's JWKS does not hold fails.
#[tokio::test]
async fn pt_ca_09_assertion_with_a_key_not_in_the_jwks_rejected() {
    let f = Fixture::new().await;
    let h = f.holder(&f.listing(&[&f.app]), "");
    let intruder = PrivateJwk::generate(Alg::Es256).unwrap();
    let got = redeem(&h, &bound_ticket(&f.app), &assertion(&h, &f.app, &intruder)).await;
    assert_rejected(&got, "Client assertion signature verification failed");
}

// PT-CA-09 (key rotation): an unknown `kid` refetches the cached JWKS once.
#[tokio::test]
async fn pt_ca_09_unknown_kid_refetches_the_jwks() {
    let f = Fixture::new().await;
    let h = f.holder(&f.listing(&[&f.app]), "");
    let (s, b) = redeem(
        &h,
        &bound_ticket(&f.app),
        &assertion(&h, &f.app, &f.app_key),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let rotated = PrivateJwk::generate(Alg::Es256).unwrap();
    f.publish_jwks("/app", &[&rotated]);
    h.clock.advance(10);
    let (s, b) = redeem(&h, &bound_ticket(&f.app), &assertion(&h, &f.app, &rotated)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(f.hits().len(), 2);
}

// PT-BIND-07: the binding names another well-known entity (or another framework) ⇒
// invalid_grant, though the client authenticated.
#[tokio::test]
async fn pt_bind_07_binding_to_another_entity_is_a_mismatch() {
    let f = Fixture::new().await;
    let h = f.holder(&f.listing(&[&f.app]), "");
    let other = bound_ticket(&format!("{}/other", f.origin));
    assert_error(
        &redeem(&h, &other, &assertion(&h, &f.app, &f.app_key)).await,
        400,
        "invalid_grant",
        Some("Ticket presenter binding mismatch"),
    );
    let mut t = quality_gap();
    t["presenter_binding"] = json!({"method": "trust_framework_client",
        "trust_framework": "https://another-framework.example", "framework_type": "well-known",
        "entity_uri": f.app});
    assert_error(
        &redeem(&h, &mint(&t), &assertion(&h, &f.app, &f.app_key)).await,
        400,
        "invalid_grant",
        Some("Ticket presenter binding mismatch"),
    );
}

// PT-CA-09: a framework document that cannot be had is named as the failure (not "not listed").
#[tokio::test]
async fn pt_ca_09_unavailable_framework_document_is_named() {
    let f = Fixture::new().await;
    let members = format!("framework_document_uri = \"{}/missing.json\"", f.origin);
    let h = f.holder(&members, "");
    let got = redeem(
        &h,
        &bound_ticket(&f.app),
        &assertion(&h, &f.app, &f.app_key),
    )
    .await;
    assert_rejected(
        &got,
        &format!("framework document of {FRAMEWORK} unavailable: unexpected HTTP status 404"),
    );
    assert!(!f.hits().iter().any(|p| p.starts_with("/app")));
}

// PT-CA-09: a `well-known:` id whose entity URI is not an acceptable URL is refused unfetched.
#[tokio::test]
async fn pt_ca_09_malformed_entity_uri_rejected() {
    let f = Fixture::new().await;
    let h = f.holder(&f.listing(&[&f.app]), "");
    let bad = format!("{}?x=1", f.app);
    let got = redeem(&h, &bound_ticket(&bad), &assertion(&h, &bad, &f.app_key)).await;
    assert_rejected(&got, "entity URI not acceptable: has a query or fragment");
    assert!(f.hits().is_empty(), "{:?}", f.hits());
}
