//! Rows whose earlier tests did not exercise the rule (issue 9): issuer key sets that are
//! served but unusable (PT-VAL-07), the revoked + binding-mismatch ordering pair (PT-VAL-15),
//! and every advertised client-assertion algorithm actually accepted (PT-DISC-05).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tessera_holder::trust::status_list::encode_body;
use tessera_jose::{Alg, PrivateJwk};

use crate::token_support::*;

#[derive(Default)]
struct Origin {
    hits: AtomicUsize,
}

async fn jwks_ok(State(o): State<Arc<Origin>>) -> Response {
    o.hits.fetch_add(1, Ordering::SeqCst);
    axum::Json(json!({"keys": [keys().issuer.public().to_value()]})).into_response()
}

async fn html() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html")],
        "<html><body>keys</body></html>",
    )
        .into_response()
}

async fn not_a_set() -> Response {
    axum::Json(json!({"kty": "EC", "note": "a single key, or anything, is not a JWK Set"}))
        .into_response()
}

async fn keys_not_array() -> Response {
    axum::Json(json!({"keys": {"kty": "EC"}})).into_response()
}

/// A valid JWK Set padded past the configured response cap (4 KiB below).
async fn oversize() -> Response {
    let mut set = json!({"keys": [keys().issuer.public().to_value()]});
    set["padding"] = json!("x".repeat(8 * 1024));
    axum::Json(set).into_response()
}

async fn status_list() -> Response {
    let mut bits = vec![0u8; 16];
    bits[0] = 0b0000_0100; // index 2 revoked
    let mut r = encode_body(Some("k1"), &bits).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=60"),
    );
    r
}

async fn spawn_origin() -> (Arc<Origin>, String) {
    let origin = Arc::new(Origin::default());
    let app = Router::new()
        .route("/jwks", get(jwks_ok))
        .route("/html", get(html))
        .route("/not-a-set", get(not_a_set))
        .route("/keys-not-array", get(keys_not_array))
        .route("/oversize", get(oversize))
        .route("/status", get(status_list))
        .with_state(origin.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (origin, url)
}

fn issuer_at(path: &str, url: &str) -> String {
    format!(
        "[[issuer]]\niss = \"https://{path}.example\"\njwks_uri = \"{url}/{path}\"\nticket_types = [\"{T_SELF}\"]\n"
    )
}

fn loopback(extra: &str) -> Holder {
    let toml = config_toml(&format!("{extra}\n[http]\nmax_response_bytes = 4096\n")).replace(
        "leeway_seconds = 30",
        "leeway_seconds = 30\ninsecure_allow_loopback_http = true",
    );
    Holder::with_config(&toml)
}

#[tokio::test]
async fn pt_val_07_invalid_jwks_body() {
    let (origin, url) = spawn_origin().await;
    let paths = ["jwks", "html", "not-a-set", "keys-not-array", "oversize"];
    let extra: String = paths.iter().map(|p| issuer_at(p, &url)).collect();
    let h = loopback(&extra);
    let ticket_from = |path: &str| {
        let mut t = baseline();
        t["iss"] = json!(format!("https://{path}.example"));
        mint(&t)
    };
    // Control: the same issuer shape with a usable key set redeems.
    assert_eq!(h.redeem(&ticket_from("jwks"), &[]).await.0, 200);
    assert_eq!(origin.hits.load(Ordering::SeqCst), 1);
    for path in &paths[1..] {
        assert_error(
            &h.redeem(&ticket_from(path), &[]).await,
            400,
            "invalid_grant",
            Some("Unable to retrieve issuer keys"),
        );
        let rows = h.db.audit_recent().unwrap();
        let row = rows.iter().max_by_key(|r| r.id).unwrap();
        assert_eq!(row.step.as_deref(), Some("signature"), "{path}");
    }
}

#[tokio::test]
async fn pt_val_15_revoked_and_binding_mismatch_is_revoked() {
    let (_, url) = spawn_origin().await;
    let h = loopback("");
    let revocation = |index: u64| json!({"url": format!("{url}/status"), "index": index});
    let mismatched = |index: u64| {
        let mut t = baseline();
        t["revocation"] = revocation(index);
        t["presenter_binding"]["jkt"] = json!(keys().other.public().thumbprint());
        t
    };
    // Both wrong ⇒ revocation (step 9) before binding (step 10).
    assert_error(
        &h.redeem(&mint(&mismatched(2)), &[]).await,
        400,
        "invalid_grant",
        Some("Ticket has been revoked"),
    );
    // Controls: each fault alone gives its own error.
    assert_error(
        &h.redeem(&mint(&mismatched(3)), &[]).await,
        400,
        "invalid_grant",
        Some("Ticket presenter binding mismatch"),
    );
    let mut revoked = baseline();
    revoked["revocation"] = revocation(2);
    assert_error(
        &h.redeem(&mint(&revoked), &[]).await,
        400,
        "invalid_grant",
        Some("Ticket has been revoked"),
    );
    let mut fine = baseline();
    fine["revocation"] = revocation(3);
    assert_eq!(h.redeem(&mint(&fine), &[]).await.0, 200);
}

/// An inline TOML JWK Set holding `key`'s public half.
fn inline_jwks(key: &PrivateJwk) -> String {
    let Value::Object(jwk) = key.public().to_value() else {
        panic!("jwk")
    };
    let members: Vec<String> = jwk.iter().map(|(k, v)| format!("{k} = {}", v)).collect();
    format!("jwks = {{ keys = [{{ {} }}] }}", members.join(", "))
}

#[tokio::test]
async fn pt_disc_05_every_advertised_assertion_alg_is_accepted() {
    let algs = [Alg::Es256, Alg::Es384, Alg::Rs256];
    let clients: Vec<(String, &str, PrivateJwk)> = algs
        .iter()
        .map(|a| {
            (
                format!("client-{}", a.as_str().to_ascii_lowercase()),
                a.as_str(),
                PrivateJwk::generate(*a).unwrap(),
            )
        })
        .collect();
    let extra: String = clients
        .iter()
        .map(|(id, _, k)| format!("[[client]]\nclient_id = \"{id}\"\n{}\n", inline_jwks(k)))
        .collect();
    let h = Holder::with_config(&config_toml(&extra));
    let (_, _, disc) = h.get("/fhir/.well-known/smart-configuration", &[]).await;
    let advertised: Vec<&str> = disc["token_endpoint_auth_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(advertised.contains(&"ES384"), "{advertised:?}");
    assert_eq!(advertised.len(), clients.len(), "{advertised:?}");
    for (id, alg, key) in &clients {
        let alg = *alg;
        assert!(
            advertised.contains(&alg),
            "{alg} accepted but not advertised"
        );
        let mut t = baseline();
        t["presenter_binding"]["jkt"] = json!(key.public().thumbprint());
        let assertion = h.assertion(id, key);
        let header: Value = serde_json::from_slice(
            &tessera_jose::b64::decode(assertion.split('.').next().unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], alg);
        let (s, b) = h.redeem_as(id, key, &mint(&t), &[]).await;
        assert_eq!(s, 200, "{alg}: {b}");
    }
    // An algorithm not advertised is refused at client authentication.
    let (id, _, key) = &clients[0];
    let good = h.assertion(id, key);
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[0] = tessera_jose::b64::encode(
        serde_json::to_vec(&json!({"alg": "ES512", "kid": key.kid().unwrap()})).unwrap(),
    );
    let forged = parts.join(".");
    let form = [
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token_type", SUBJECT_TOKEN_TYPE),
        ("subject_token", "x.y.z"),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", forged.as_str()),
    ];
    let (s, _, b) = h.post("/fhir/token", &form, &[]).await;
    assert_eq!(s, 401, "{b}");
    assert_eq!(b["error"], "invalid_client");
}
