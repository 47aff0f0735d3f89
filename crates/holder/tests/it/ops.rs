//! Operable nodes (issue 13, part 7): the probes and the Prometheus metrics, over real
//! loopback HTTP with real redemptions.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::routing::get;
use serde_json::{Value, json};
use tessera_holder::ops::metrics::metrics_router;
use tessera_holder::ops::warm::warm_up;
use tessera_holder::{Config, FixedClock, HolderState, app};
use tessera_store::audit::AuditRecord;
use tessera_store::durable::{SetOutcome, TokenStore, WriteSet};
use tessera_store::refresh::{RefreshFamily, RefreshRecord};
use tessera_store::registrations::{ClientRegistration, RegistrationStore};
use tessera_store::token_db::{TokenDb, TokenDbError};
use tessera_store::tokens::TokenRecord;

use crate::token_support::*;

/// A token store whose readiness can be switched off; everything else is the SQLite one.
#[derive(Debug)]
struct Switchable {
    db: TokenDb,
    up: AtomicBool,
}

impl RegistrationStore for Switchable {
    fn put_registration(&self, r: &ClientRegistration) -> Result<(), TokenDbError> {
        self.db.put_registration(r)
    }
    fn registration(&self, id: &str) -> Result<Option<ClientRegistration>, TokenDbError> {
        self.db.registration(id)
    }
    fn registration_by_san(
        &self,
        f: &str,
        san: &str,
    ) -> Result<Option<ClientRegistration>, TokenDbError> {
        self.db.registration_by_san(f, san)
    }
    fn delete_registration(&self, id: &str) -> Result<bool, TokenDbError> {
        self.db.delete_registration(id)
    }
}

impl TokenStore for Switchable {
    fn commit_batch(&self, sets: &[WriteSet]) -> Result<Vec<SetOutcome>, TokenDbError> {
        self.db.commit_batch(sets)
    }
    fn is_spent(&self, ns: &str, key: &str, now: i64) -> Result<bool, TokenDbError> {
        self.db.is_spent(ns, key, now)
    }
    fn ready(&self) -> Result<(), TokenDbError> {
        if self.up.load(Ordering::SeqCst) {
            TokenStore::ready(&self.db)
        } else {
            Err(TokenDbError(
                "cannot reach postgres://secret-host/tokens-db".into(),
            ))
        }
    }
    fn find_token(&self, hash: &[u8], now: i64) -> Result<Option<TokenRecord>, TokenDbError> {
        self.db.find_token(hash, now)
    }
    fn find_refresh(
        &self,
        hash: &[u8],
    ) -> Result<Option<(RefreshRecord, RefreshFamily)>, TokenDbError> {
        self.db.find_refresh(hash)
    }
    fn refresh_family(&self, id: &str) -> Result<Option<RefreshFamily>, TokenDbError> {
        TokenStore::refresh_family(&self.db, id)
    }
    fn audit_by_jti(&self, jti: &str) -> Result<Vec<AuditRecord>, TokenDbError> {
        TokenStore::audit_by_jti(&self.db, jti)
    }
    fn audit_recent(&self) -> Result<Vec<AuditRecord>, TokenDbError> {
        TokenStore::audit_recent(&self.db)
    }
}

/// Serves `router` on a loopback port; returns its base URL.
async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

async fn get_json(url: &str) -> (u16, Value) {
    let resp = reqwest::get(url).await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

fn state_with(toml: &str, db: Arc<dyn TokenStore>) -> (HolderState, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    for (name, key) in [
        ("issuer.json", &keys().issuer),
        ("client.json", &keys().client),
        ("payer.json", &keys().payer),
        ("idp.json", &keys().idp),
    ] {
        std::fs::write(dir.path().join(name), public_set(key)).unwrap();
    }
    let config = Config::from_toml(toml, dir.path()).unwrap();
    let state = HolderState::new(
        config,
        Arc::new(FixedClock::new(NOW)),
        fixture_store(&[]),
        db,
    )
    .unwrap();
    (state, dir)
}

#[tokio::test]
async fn readyz_waits_for_warm_up_and_names_a_store_that_fails_readiness() {
    let db = Arc::new(Switchable {
        db: TokenDb::open_in_memory().unwrap(),
        up: AtomicBool::new(true),
    });
    let (state, _dir) = state_with(&config_toml(""), db.clone());
    let base = serve(app(state.clone()).unwrap()).await;

    // Liveness at the root, although the API lives under /fhir; no credentials needed.
    let (status, body) = get_json(&format!("{base}/healthz")).await;
    assert_eq!((status, body), (200, json!({"status": "ok"})));

    let (status, body) = get_json(&format!("{base}/readyz")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["not_ready"], json!(["caches"]), "{body}");

    warm_up(&state).await;
    let (status, body) = get_json(&format!("{base}/readyz")).await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"status": "ready", "checks": {"resource_store": "ok", "token_store": "ok",
                "group_commit_writer": "ok", "caches": "ok"}})
        )
    );

    db.up.store(false, Ordering::SeqCst);
    let resp = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let text = resp.text().await.unwrap();
    // The store's error (a database URL here) goes to the log, never to the prober.
    assert!(!text.contains("secret-host"), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        body,
        json!({"status": "not_ready", "not_ready": ["token_store"],
            "checks": {"resource_store": "ok", "token_store": "not_ready",
                "group_commit_writer": "ok", "caches": "ok"}})
    );

    db.up.store(true, Ordering::SeqCst);
    assert_eq!(get_json(&format!("{base}/readyz")).await.0, 200);
}

/// The value of the exposition line `series` (`name{labels}`), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)
            .and_then(|rest| rest.strip_prefix(' '))
            .and_then(|v| v.split(' ').next())
            .and_then(|v| v.parse().ok())
    })
}

#[tokio::test]
async fn metrics_count_redemptions_by_step_latency_by_route_commits_and_caches() {
    // The remote issuer's key set, cacheable for five minutes, and its status list (index 2
    // revoked), cacheable for a minute.
    let jwks = public_set(&keys().issuer);
    let jwks_base = serve(
        axum::Router::new()
            .route(
                "/jwks",
                get(move || {
                    let body = jwks.clone();
                    async move { ([("cache-control", "max-age=300")], body) }
                }),
            )
            .route(
                "/status",
                get(|| async {
                    let mut bits = vec![0u8; 16];
                    bits[0] = 0b0000_0100;
                    (
                        [("cache-control", "max-age=60")],
                        tessera_holder::trust::status_list::encode_body(Some("k1"), &bits),
                    )
                }),
            ),
    )
    .await;
    let extra = format!(
        r#"
[[issuer]]
iss = "https://remote.example"
jwks_uri = "{jwks_base}/jwks"
ticket_types = ["{T_SELF}"]
[[issuer]]
iss = "https://down.example"
jwks_uri = "http://127.0.0.1:1/jwks"
ticket_types = ["{T_SELF}"]
"#
    );
    let toml = config_toml(&extra).replace(
        "leeway_seconds = 30",
        "leeway_seconds = 30\ninsecure_allow_loopback_http = true",
    );
    let (state, _dir) = state_with(&toml, Arc::new(TokenDb::open_in_memory().unwrap()));
    warm_up(&state).await;
    let api = serve(app(state.clone()).unwrap()).await;
    let metrics = serve(metrics_router(state.metrics().clone())).await;

    let http = reqwest::Client::new();
    let assertion = |jti: &str| {
        sign(
            &keys().client,
            &json!({"iss": "app1", "sub": "app1", "aud": format!("{BASE}/token"),
                "jti": jti, "iat": NOW, "exp": NOW + 60}),
        )
    };
    let redeem = |ticket: String, assertion: String| {
        let http = http.clone();
        let url = format!("{api}/fhir/token");
        async move {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(exchange_form(&ticket, &assertion))
                .finish();
            let resp = http
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    let mut ok = baseline();
    ok["iss"] = json!("https://remote.example");
    ok["revocation"] = json!({"url": format!("{jwks_base}/status"), "index": 0});
    let (status, body) = redeem(mint(&ok), assertion("a-1")).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();

    let mut expired = baseline();
    expired["iss"] = json!("https://remote.example");
    expired["exp"] = json!(NOW - 3600);
    let (status, body) = redeem(mint(&expired), assertion("a-2")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // The first assertion again: refused at client authentication.
    let (status, body) = redeem(mint(&ok), assertion("a-1")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    let mut revoked = ok.clone();
    revoked["jti"] = json!("revoked-ticket");
    revoked["revocation"]["index"] = json!(2);
    let (status, body) = redeem(mint(&revoked), assertion("a-3")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // A status list nobody serves: fail closed, and counted as a fetch error.
    let mut unreachable = ok.clone();
    unreachable["jti"] = json!("unreachable-list");
    unreachable["revocation"]["url"] = json!("http://127.0.0.1:1/status");
    let (status, body) = redeem(mint(&unreachable), assertion("a-4")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let read = http
        .get(format!("{api}/fhir/Observation/obs-in"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status().as_u16(), 200);

    let resp = reqwest::get(format!("{metrics}/metrics")).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = resp.text().await.unwrap();
    let expect = [
        (
            r#"tessera_redemptions_total{outcome="accepted",step="none"}"#,
            1.0,
        ),
        (
            r#"tessera_redemptions_total{outcome="rejected",step="envelope"}"#,
            1.0,
        ),
        (
            r#"tessera_redemptions_total{outcome="rejected",step="client_authentication"}"#,
            1.0,
        ),
        (
            r#"tessera_redemptions_total{outcome="rejected",step="revocation"}"#,
            2.0,
        ),
        (
            r#"tessera_token_endpoint_decisions_total{event="token_exchange",outcome="rejected",step="envelope"}"#,
            1.0,
        ),
        (
            r#"tessera_http_request_duration_seconds_count{method="POST",route="/fhir/token"}"#,
            5.0,
        ),
        (
            r#"tessera_http_requests_total{method="POST",route="/fhir/token",status="2xx"}"#,
            1.0,
        ),
        (
            r#"tessera_http_requests_total{method="POST",route="/fhir/token",status="4xx"}"#,
            4.0,
        ),
        (
            r#"tessera_http_request_duration_seconds_count{method="GET",route="/fhir/{rtype}/{id}"}"#,
            1.0,
        ),
        // Five sequential redemptions: five batches of one set each.
        ("tessera_group_commit_batch_sets_count", 5.0),
        ("tessera_group_commit_batch_sets_sum", 5.0),
        ("tessera_group_commit_duration_seconds_count", 5.0),
        ("tessera_group_commit_failed_batches_total", 0.0),
        // Warm-up fetched both remote key sets (one failed); the five redemptions that
        // reached the signature step were answered from the cache. The replay is one of
        // them: nothing is read before the pipeline, and its commit finds the key spent.
        (
            r#"tessera_cache_lookups_total{cache="jwks",result="miss"}"#,
            2.0,
        ),
        (
            r#"tessera_cache_lookups_total{cache="jwks",result="hit"}"#,
            5.0,
        ),
        (
            r#"tessera_cache_fetch_errors_total{cache="jwks",result="error"}"#,
            1.0,
        ),
        // The accepted ticket fetched its list, the replay and the revoked one reused it;
        // the unreachable list missed and failed.
        (
            r#"tessera_cache_lookups_total{cache="status_list",result="miss"}"#,
            2.0,
        ),
        (
            r#"tessera_cache_lookups_total{cache="status_list",result="hit"}"#,
            2.0,
        ),
        (
            r#"tessera_cache_fetch_errors_total{cache="status_list",result="error"}"#,
            1.0,
        ),
    ];
    for (series, want) in expect {
        assert_eq!(sample(&text, series), Some(want), "{series} in\n{text}");
    }
    // Route templates only: no resource id, no token in any label.
    assert!(!text.contains("obs-in"), "{text}");
    assert!(!text.contains(&token), "{text}");
}

#[test]
fn metrics_and_tls_config_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("issuer.json"), public_set(&keys().issuer)).unwrap();
    for f in ["client.json", "payer.json", "idp.json"] {
        std::fs::write(dir.path().join(f), public_set(&keys().client)).unwrap();
    }
    let bad = config_toml("[metrics]\nlisten = \"localhost\"");
    let err = Config::from_toml(&bad, dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("`metrics.listen`") && err.contains("not a socket address"),
        "{err}"
    );
    let unknown = config_toml("[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\nca = \"x\"");
    let err = Config::from_toml(&unknown, dir.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `ca`"), "{err}");
    let ok = config_toml(
        "[metrics]\nlisten = \"127.0.0.1:9464\"\n[tls]\ncert = \"c.pem\"\nkey = \"/abs/k.pem\"",
    );
    let cfg = Config::from_toml(&ok, dir.path()).unwrap();
    assert_eq!(cfg.metrics.listen, Some("127.0.0.1:9464".parse().unwrap()));
    let tls = cfg.tls.unwrap();
    assert_eq!(tls.cert, dir.path().join("c.pem"));
    assert_eq!(tls.key, std::path::PathBuf::from("/abs/k.pem"));
    // Off by default.
    let cfg = Config::from_toml(&config_toml(""), dir.path()).unwrap();
    assert_eq!((cfg.metrics.listen, cfg.tls), (None, None));
}

#[tokio::test]
async fn probes_take_precedence_over_fhir_types_at_a_root_base_url() {
    // With the FHIR base at the root, `/healthz` could be read as a resource type.
    let toml = config_toml("").replacen(
        &format!("base_url = \"{BASE}\""),
        "base_url = \"https://dh.example.org\"",
        1,
    );
    let h = Holder::with_config(&toml);
    let (status, _, body) = h.get("/healthz", &[]).await;
    assert_eq!((status.as_u16(), body), (200, json!({"status": "ok"})));
    let (status, _, body) = h.get("/readyz", &[]).await;
    assert_eq!(
        (status.as_u16(), &body["not_ready"]),
        (503, &json!(["caches"]))
    );
    warm_up(&h.state).await;
    assert_eq!(h.get("/readyz", &[]).await.0.as_u16(), 200);
    // The FHIR API still answers around them (no token: 401).
    assert_eq!(h.get("/Patient", &[]).await.0.as_u16(), 401);
}
