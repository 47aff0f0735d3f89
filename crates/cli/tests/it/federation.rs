//! `tessera federation resolve` against a real loopback federation (the demo's
//! `FederationHost`), and `tessera redeem --trust-chain` / `--well-known` against a loopback
//! token endpoint that records the client assertion it receives.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};
use tessera_demo::federation::{FederationHost, PAYER_MARK};
use tessera_jose::{Alg, Limits, PrivateJwk, decode};

use crate::{ok, path_str, tessera};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// The binary under test reads the wall clock, so its fixtures must be signed for wall time.
#[allow(clippy::disallowed_methods)]
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

struct World {
    rt: tokio::runtime::Runtime,
    fed: FederationHost,
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let rt = runtime();
        let fed = rt.block_on(FederationHost::start(now())).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("anchor.json"),
            fed.anchor_jwks().to_string(),
        )
        .unwrap();
        World { rt, fed, dir }
    }

    fn file(&self, name: &str) -> String {
        path_str(&self.dir.path().join(name)).to_owned()
    }

    fn resolve(&self, extra: &[&str]) -> std::process::Output {
        let jwks = self.file("anchor.json");
        let mut args = vec![
            "federation",
            "resolve",
            &self.fed.payer.id,
            "--anchor",
            &self.fed.anchor.id,
            "--anchor-jwks",
            &jwks,
        ];
        args.extend_from_slice(extra);
        tessera(&args, None)
    }
}

#[test]
fn federation_resolve_prints_chain_metadata_and_trust_marks() {
    let w = World::new();
    let chain_file = w.file("chain.json");
    let out: Value = serde_json::from_str(&ok(&w.resolve(&[
        "--trust-mark",
        PAYER_MARK,
        "--chain-out",
        &chain_file,
    ])))
    .unwrap();
    assert_eq!(out["entity_id"], w.fed.payer.id);
    assert_eq!(out["trust_anchor"], w.fed.anchor.id);
    let subs: Vec<&str> = out["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sub"].as_str().unwrap())
        .collect();
    assert_eq!(
        subs,
        [
            w.fed.payer.id.as_str(),
            w.fed.payer.id.as_str(),
            w.fed.intermediate.id.as_str(),
            w.fed.anchor.id.as_str()
        ]
    );
    // The anchor's metadata policy (`default`) was applied to the leaf's oauth_client.
    assert_eq!(
        out["metadata"]["oauth_client"]["token_endpoint_auth_method"],
        "private_key_jwt"
    );
    assert_eq!(out["trust_marks"][0]["trust_mark_type"], PAYER_MARK);
    assert_eq!(out["trust_marks"][0]["iss"], w.fed.anchor.id);
    let written: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(&chain_file).unwrap()).unwrap();
    assert_eq!(written, w.fed.payer_chain);
}

#[test]
fn federation_resolve_names_the_failed_check() {
    let w = World::new();
    // Anchor keys that did not sign the chain.
    let other = PrivateJwk::generate(Alg::Es256).unwrap();
    std::fs::write(
        w.dir.path().join("anchor.json"),
        json!({"keys": [other.public().to_value()]}).to_string(),
    )
    .unwrap();
    let out = w.resolve(&[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "error: trust chain of {} rejected:",
            w.fed.payer.id
        )),
        "{err}"
    );
    // A required trust mark the entity does not carry.
    let w = World::new();
    let out = w.resolve(&["--trust-mark", "https://fed.tessera.example/marks/none"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("marks/none"), "{err}");
}

type Seen = Arc<Mutex<Vec<String>>>;

async fn token(State(seen): State<Seen>, body: String) -> axum::Json<Value> {
    let assertion = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "client_assertion")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    seen.lock().unwrap().push(assertion);
    axum::Json(json!({"access_token": "at", "token_type": "Bearer", "expires_in": 300}))
}

/// Starts a token endpoint on the world's runtime; returns its URL and what it saw.
fn token_endpoint(w: &World) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route("/token", post(token))
        .with_state(seen.clone());
    let listener =
        w.rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    w.rt.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, seen)
}

fn header_and_claims(assertion: &str) -> (Value, Value) {
    let jws = decode(assertion, &Limits::client()).unwrap();
    (
        Value::Object(jws.header().raw.clone()),
        Value::Object(jws.claims().clone()),
    )
}

#[test]
fn redeem_sends_the_trust_chain_header_and_well_known_client_ids() {
    let w = World::new();
    let (url, seen) = token_endpoint(&w);
    std::fs::write(w.dir.path().join("ticket.jwt"), "a.b.c").unwrap();
    std::fs::write(
        w.dir.path().join("payer.jwk"),
        w.fed.payer_client_key.to_value().to_string(),
    )
    .unwrap();
    std::fs::write(
        w.dir.path().join("chain.json"),
        json!(w.fed.payer_chain).to_string(),
    )
    .unwrap();
    let (ticket, key, chain) = (
        w.file("ticket.jwt"),
        w.file("payer.jwk"),
        w.file("chain.json"),
    );
    ok(&tessera(
        &[
            "redeem",
            "--ticket",
            &ticket,
            "--token-endpoint",
            &url,
            "--client-id",
            &w.fed.payer.id,
            "--client-key",
            &key,
            "--trust-chain",
            &chain,
        ],
        None,
    ));
    let (h, c) = header_and_claims(&seen.lock().unwrap()[0]);
    assert_eq!(h["trust_chain"], json!(w.fed.payer_chain));
    assert_eq!(c["iss"], w.fed.payer.id);
    assert_eq!(c["sub"], w.fed.payer.id);
    // Proposal 006: the client id is derived from the entity URI.
    ok(&tessera(
        &[
            "redeem",
            "--ticket",
            &ticket,
            "--token-endpoint",
            &url,
            "--well-known",
            &w.fed.app,
            "--client-key",
            &key,
        ],
        None,
    ));
    let (h, c) = header_and_claims(&seen.lock().unwrap()[1]);
    assert_eq!(c["iss"], format!("well-known:{}", w.fed.app));
    assert!(h.get("trust_chain").is_none());
    // --client-id and --well-known exclude each other.
    let out = tessera(
        &[
            "redeem",
            "--ticket",
            &ticket,
            "--token-endpoint",
            &url,
            "--well-known",
            &w.fed.app,
            "--client-id",
            "x",
            "--client-key",
            &key,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
}
