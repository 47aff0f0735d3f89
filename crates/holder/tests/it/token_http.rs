//! Real HTTP on loopback: issuer keys from a `jwks_uri` and revocation status lists served by a
//! tiny axum server on 127.0.0.1:0 (PT-VAL-07, PT-VAL-11, PT-TRUST-05, PT-REV, PT-AUDIT-04).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tessera_holder::trust::status_list::encode_body;
use tessera_jose::{Alg, PrivateJwk};

use crate::token_support::*;

#[derive(Default)]
struct Origin {
    up: AtomicBool,
    jwks_hits: AtomicUsize,
    status_hits: AtomicUsize,
    other_hits: AtomicUsize,
    rotated: AtomicBool,
    rotated_key: std::sync::OnceLock<PrivateJwk>,
}

async fn jwks(State(o): State<Arc<Origin>>) -> Response {
    o.jwks_hits.fetch_add(1, Ordering::SeqCst);
    if !o.up.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let mut keys = vec![keys().issuer.public().to_value()];
    if o.rotated.load(Ordering::SeqCst) {
        keys.push(o.rotated_key.get().unwrap().public().to_value());
    }
    let mut r = axum::Json(json!({ "keys": keys })).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=600"),
    );
    r
}

async fn status(State(o): State<Arc<Origin>>) -> Response {
    o.status_hits.fetch_add(1, Ordering::SeqCst);
    if !o.up.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let mut bits = vec![0u8; 16];
    bits[0] = 0b0000_0100; // index 2 revoked
    let mut r = encode_body(Some("k1"), &bits).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=60"),
    );
    r
}

async fn garbage(State(o): State<Arc<Origin>>) -> &'static str {
    o.other_hits.fetch_add(1, Ordering::SeqCst);
    "{\"bits\": \"not-gzip\"}"
}

async fn spawn_origin() -> (Arc<Origin>, String) {
    let origin = Arc::new(Origin {
        up: AtomicBool::new(true),
        ..Origin::default()
    });
    let _ = origin
        .rotated_key
        .set(PrivateJwk::generate(Alg::Es256).unwrap());
    let app = Router::new()
        .route("/jwks", get(jwks))
        .route("/status", get(status))
        .route("/garbage", get(garbage))
        .route("/.well-known/jwks.json", get(garbage))
        .with_state(origin.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (origin, format!("http://{addr}"))
}

fn remote_holder(url: &str) -> Holder {
    let extra = format!(
        "[[issuer]]\niss = \"https://remote-issuer.example\"\njwks_uri = \"{url}/jwks\"\nticket_types = [\"{T_SELF}\"]\n"
    );
    let toml = config_toml(&extra).replace(
        "leeway_seconds = 30",
        "leeway_seconds = 30\ninsecure_allow_loopback_http = true",
    );
    Holder::with_config(&toml)
}

fn remote_ticket() -> Value {
    let mut t = baseline();
    t["iss"] = json!("https://remote-issuer.example");
    t
}

#[tokio::test]
async fn jwks_uri_is_fetched_once_and_cached() {
    let (origin, url) = spawn_origin().await;
    let h = remote_holder(&url);
    assert_eq!(h.redeem(&mint(&remote_ticket()), &[]).await.0, 200);
    assert_eq!(h.redeem(&mint(&remote_ticket()), &[]).await.0, 200);
    assert_eq!(origin.jwks_hits.load(Ordering::SeqCst), 1, "PT-AUDIT-04");
}

#[tokio::test]
async fn pt_trust_05_unknown_kid_triggers_one_refetch() {
    let (origin, url) = spawn_origin().await;
    let h = remote_holder(&url);
    assert_eq!(h.redeem(&mint(&remote_ticket()), &[]).await.0, 200);
    origin.rotated.store(true, Ordering::SeqCst);
    h.clock.advance(10);
    let t = sign(origin.rotated_key.get().unwrap(), &remote_ticket());
    let (s, b) = h.redeem(&t, &[]).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(origin.jwks_hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn pt_val_07_jwks_host_down() {
    let (origin, url) = spawn_origin().await;
    origin.up.store(false, Ordering::SeqCst);
    let h = remote_holder(&url);
    assert_error(
        &h.redeem(&mint(&remote_ticket()), &[]).await,
        400,
        "invalid_grant",
        Some("Unable to retrieve issuer keys"),
    );
}

#[tokio::test]
async fn pt_val_11_no_fetch_for_an_issuer_no_policy_names() {
    let (origin, url) = spawn_origin().await;
    let h = remote_holder(&url);
    let mut t = baseline();
    t["iss"] = json!(url.clone());
    assert_error(&h.redeem(&mint(&t), &[]).await, 400, "invalid_grant", None);
    assert_eq!(origin.other_hits.load(Ordering::SeqCst), 0);
    assert_eq!(origin.jwks_hits.load(Ordering::SeqCst), 0);
}

fn revocable(url: &str, index: u64) -> Value {
    let mut t = baseline();
    t["revocation"] = json!({"url": format!("{url}/status"), "index": index});
    t
}

#[tokio::test]
async fn pt_rev_01_02_05_06_status_lists() {
    let (origin, url) = spawn_origin().await;
    let h = remote_holder(&url);
    assert_eq!(
        h.redeem(&mint(&revocable(&url, 3)), &[]).await.0,
        200,
        "PT-REV-01"
    );
    assert_error(
        &h.redeem(&mint(&revocable(&url, 2)), &[]).await,
        400,
        "invalid_grant",
        Some("Ticket has been revoked"),
    );
    assert_eq!(
        origin.status_hits.load(Ordering::SeqCst),
        1,
        "cached per max-age"
    );
    // PT-REV-05: origin down within the TTL, the cached copy decides.
    origin.up.store(false, Ordering::SeqCst);
    assert_eq!(h.redeem(&mint(&revocable(&url, 3)), &[]).await.0, 200);
    // PT-REV-06: out of range ⇒ undeterminable ⇒ reject.
    assert_error(
        &h.redeem(&mint(&revocable(&url, 128)), &[]).await,
        400,
        "invalid_grant",
        Some("Ticket revocation status could not be determined"),
    );
    // PT-REV-03: after the TTL, origin down ⇒ fail closed.
    h.clock.advance(61);
    assert_error(
        &h.redeem(&mint(&revocable(&url, 3)), &[]).await,
        400,
        "invalid_grant",
        Some("Ticket revocation status could not be determined"),
    );
}

#[tokio::test]
async fn pt_rev_03_04_07_08_fail_closed() {
    let (origin, url) = spawn_origin().await;
    let h = remote_holder(&url);
    // Nothing listens on port 9 of loopback: connection refused.
    let mut t = baseline();
    t["revocation"] = json!({"url": "http://127.0.0.1:9/status", "index": 0});
    assert_error(
        &h.redeem(&mint(&t), &[]).await,
        400,
        "invalid_grant",
        Some("Ticket revocation status could not be determined"),
    );
    // PT-REV-04: malformed list.
    t["revocation"] = json!({"url": format!("{url}/garbage"), "index": 0});
    assert_error(
        &h.redeem(&mint(&t), &[]).await,
        400,
        "invalid_grant",
        Some("Ticket revocation status could not be determined"),
    );
    // PT-REV-07: plain http to a non-loopback host, and a negative index.
    t["revocation"] = json!({"url": "http://status.example/list", "index": 0});
    assert_error(&h.redeem(&mint(&t), &[]).await, 400, "invalid_grant", None);
    t["revocation"] = json!({"url": format!("{url}/status"), "index": -1});
    assert_error(&h.redeem(&mint(&t), &[]).await, 400, "invalid_grant", None);
    // PT-REV-08: no revocation claim, no fetch.
    let before = origin.status_hits.load(Ordering::SeqCst);
    assert_eq!(h.redeem(&mint(&baseline()), &[]).await.0, 200);
    assert_eq!(origin.status_hits.load(Ordering::SeqCst), before);
}
