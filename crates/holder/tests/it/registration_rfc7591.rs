//! RFC 7591 registration of plain `private_key_jwt` clients and RFC 7592 read/delete, over
//! loopback HTTP: a patient app the Data Holder never saw registers its JWK (or `jwks_uri`)
//! and redeems a `jkt`-bound self-access ticket; every rule has its refusal with the RFC 7591
//! / RFC 6750 error code, and every outcome is audited.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};
use tessera_jose::{Alg, PrivateJwk};
use tessera_udap::pki::Pki;

use crate::token_support::{T_SELF, TOKEN_EXCHANGE, sign};
use crate::udap_support::*;

const SELF_ISSUER: &str = "https://trusted-issuer.org";
const EXTRA: &str = "[[issuer]]\niss = \"https://trusted-issuer.org\"\njwks_file = \"spec-issuer.json\"\nticket_types = [\"https://smarthealthit.org/permission-ticket-type/patient-self-access-v1\"]\n";
const IAT: &str = "0123456789abcdef-initial";

async fn holder(registration: &str) -> Udap {
    let from = SEED_IAT - 400 * DAY;
    let until = SEED_IAT + 400 * DAY;
    let payers = Arc::new(Pki::new("Payers", from, until, None).unwrap());
    let ph = Arc::new(Pki::new("Public Health", from, until, None).unwrap());
    Udap::start_all(
        payers,
        ph,
        tempfile::tempdir().unwrap(),
        registration,
        None,
        EXTRA,
    )
    .await
}

fn app_metadata(key: &PrivateJwk) -> Value {
    json!({"client_name": "Elena's health app", "grant_types": [TOKEN_EXCHANGE],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": [key.public().to_value()]},
        "scope": "patient/*.rs", "logo_uri": "https://app.example/logo.png"})
}

async fn register(u: &Udap, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut r = u
        .http
        .post(format!("http://{}/register", u.addr))
        .json(body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// A self-access ticket for Elena bound to `key`'s thumbprint (PT-BIND-01).
fn self_access_for(u: &Udap, key: &PrivateJwk) -> String {
    let now = u.now();
    sign(
        &spec_issuer(),
        &json!({"iss": SELF_ISSUER, "aud": SEED_BASE, "exp": now + 3600, "iat": now - 60,
            "jti": uuid::Uuid::new_v4().to_string(), "ticket_type": T_SELF,
            "presenter_binding": {"method": "jkt", "jkt": key.public().thumbprint()},
            "subject": {"patient": {"resourceType": "Patient",
                "identifier": [{"system": "http://hospital.example.org/mrn", "value": "A12345"}],
                "birthDate": "1989-09-14", "name": [{"family": "Reyes", "given": ["Elena"]}]}},
            "access": {"smart_scopes": ["patient/Observation.rs"]}}),
    )
}

fn assertion(u: &Udap, client_id: &str, key: &PrivateJwk) -> String {
    sign(key, &Value::Object(u.assertion_claims(client_id)))
}

#[tokio::test]
async fn pt_bind_01_patient_app_registers_by_rfc7591_and_redeems_a_jkt_bound_ticket() {
    let u = holder(&format!("enabled = true\ninitial_access_token = \"{IAT}\"")).await;
    let app = PrivateJwk::generate(Alg::Es256).unwrap();
    let (s, reg) = register(&u, Some(IAT), &app_metadata(&app)).await;
    assert_eq!(s, 201, "{reg}");
    let id = reg["client_id"].as_str().unwrap().to_owned();
    assert_eq!(reg["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(reg["jwks"]["keys"][0]["x"], app.public().to_value()["x"]);
    // Unknown members are ignored, and the echo shows only what was registered (RFC 7591 §2).
    assert!(reg.get("logo_uri").is_none(), "{reg}");
    assert_eq!(
        reg["registration_client_uri"],
        format!("{SEED_BASE}/register/{id}")
    );
    let rat = reg["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let (s, b) = u
        .redeem_with(&self_access_for(&u, &app), &assertion(&u, &id, &app))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["patient"], "elena");
    assert_eq!(b["scope"], "patient/Observation.rs");

    // Another registered app cannot present Elena's app's ticket (jkt binding).
    let other = PrivateJwk::generate(Alg::Es256).unwrap();
    let (_, reg2) = register(&u, Some(IAT), &app_metadata(&other)).await;
    let id2 = reg2["client_id"].as_str().unwrap();
    let got = u
        .redeem_with(&self_access_for(&u, &app), &assertion(&u, id2, &other))
        .await;
    assert_oauth(&got, 400, "invalid_grant", "presenter binding mismatch");
    // No framework identity: a trust_framework_client-bound ticket never binds (PT-BIND-06).
    let qg = seed(QG_SEED);
    let got = u.redeem_with(&qg, &assertion(&u, &id, &app)).await;
    assert_oauth(&got, 400, "invalid_grant", "presenter binding mismatch");

    // RFC 7592 read with the registration access token.
    let r = u
        .http
        .get(format!("http://{}/register/{id}", u.addr))
        .bearer_auth(&rat)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let read: Value = r.json().await.unwrap();
    assert_eq!(read["client_id"], id.as_str());
    assert_eq!(read["client_name"], "Elena's health app");
    assert!(read.get("registration_access_token").is_none());

    // The audit trail has the registration and the read.
    let rows = u.audit("registration");
    assert!(
        rows.iter().any(|r| r.outcome == "accepted"
            && r.client_id.as_deref() == Some(id.as_str())
            && r.details.contains("\"action\":\"registered\"")),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r.details.contains("\"action\":\"read\""))
    );

    // RFC 7592 delete: 204, then the client is unknown and its registration gone.
    let r = u
        .http
        .delete(format!("http://{}/register/{id}", u.addr))
        .bearer_auth(&rat)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let got = u
        .redeem_with(&self_access_for(&u, &app), &assertion(&u, &id, &app))
        .await;
    assert_oauth(&got, 401, "invalid_client", "Unknown client");
    let r = u
        .http
        .get(format!("http://{}/register/{id}", u.addr))
        .bearer_auth(&rat)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn rfc7591_registration_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("tokens.db");
    let from = SEED_IAT - 400 * DAY;
    let until = SEED_IAT + 400 * DAY;
    let payers = Arc::new(Pki::new("Payers", from, until, None).unwrap());
    let ph = Arc::new(Pki::new("Public Health", from, until, None).unwrap());
    let start = |p: Arc<Pki>, h: Arc<Pki>| {
        Udap::start_all(
            p,
            h,
            tempfile::tempdir().unwrap(),
            "enabled = true",
            Some(&db_path),
            EXTRA,
        )
    };
    let u = start(payers.clone(), ph.clone()).await;
    let app = PrivateJwk::generate(Alg::Es256).unwrap();
    let (s, reg) = register(&u, None, &app_metadata(&app)).await;
    assert_eq!(s, 201, "{reg}");
    let id = reg["client_id"].as_str().unwrap().to_owned();
    drop(u);
    let u2 = start(payers, ph).await;
    let (s, b) = u2
        .redeem_with(&self_access_for(&u2, &app), &assertion(&u2, &id, &app))
        .await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn rfc7591_refusals_carry_their_error_codes() {
    let u = holder(&format!("enabled = true\ninitial_access_token = \"{IAT}\"")).await;
    let app = PrivateJwk::generate(Alg::Es256).unwrap();
    let ok = app_metadata(&app);

    // Registration policy: the initial access token (RFC 7591 §3, RFC 6750 codes).
    let got = register(&u, None, &ok).await;
    assert_oauth(&got, 401, "invalid_token", "initial access token required");
    let got = register(&u, Some("0123456789abcdef-wrong!!"), &ok).await;
    assert_oauth(&got, 401, "invalid_token", "initial access token invalid");

    let with = |f: &dyn Fn(&mut Value)| {
        let mut m = ok.clone();
        f(&mut m);
        m
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            with(&|m| {
                m.as_object_mut().unwrap().remove("jwks");
            }),
            "jwks or jwks_uri is required",
        ),
        (
            with(&|m| m["jwks_uri"] = json!("https://app.example/jwks.json")),
            "not both",
        ),
        (
            with(&|m| m["jwks"] = json!({"keys": [app.to_value()]})),
            "private key material",
        ),
        (with(&|m| m["jwks"] = json!({"keys": []})), "1 to 8 keys"),
        (
            with(&|m| m["jwks"]["keys"][0]["alg"] = json!("ES512")),
            "alg ES512 is not accepted",
        ),
        (
            with(&|m| m["jwks"] = json!([app.public().to_value()])),
            "must be a JWK Set",
        ),
        (
            with(&|m| {
                m.as_object_mut().unwrap().remove("jwks");
                m["jwks_uri"] = json!("https://app.example/jwks.json");
            }),
            "jwks_uri is not accepted here",
        ),
        (
            with(&|m| m["token_endpoint_auth_method"] = json!("client_secret_basic")),
            "private_key_jwt",
        ),
        (
            with(&|m| m["grant_types"] = json!(["authorization_code"])),
            "grant type authorization_code not supported",
        ),
        (with(&|m| m["grant_types"] = json!([])), "must not be empty"),
        (
            with(&|m| m["scope"] = json!("patient/Observation.bogus")),
            "scope",
        ),
        (
            with(&|m| m["redirect_uris"] = json!(["https://app.example/cb"])),
            "redirect_uris",
        ),
    ];
    for (body, part) in cases {
        let got = register(&u, Some(IAT), &body).await;
        assert_oauth(&got, 400, "invalid_client_metadata", part);
    }
    // Every refusal above is audited with its code.
    let rejected = u
        .audit("registration")
        .into_iter()
        .filter(|r| r.outcome == "rejected")
        .count();
    assert_eq!(rejected, 14);
}

#[tokio::test]
async fn rfc7592_refusals() {
    let u = holder("enabled = true").await;
    let app = PrivateJwk::generate(Alg::Es256).unwrap();
    let (_, reg) = register(&u, None, &app_metadata(&app)).await;
    let id = reg["client_id"].as_str().unwrap().to_owned();
    let rat = reg["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, reg2) = register(&u, None, &app_metadata(&app)).await;
    let rat2 = reg2["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!("http://{}/register/{id}", u.addr);
    let status = |r: reqwest::Response| async move {
        let s = r.status().as_u16();
        let www = r
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        let b: Value = r.json().await.unwrap_or(Value::Null);
        (s, b, www)
    };
    // No token, another client's token, a made-up token: 401 invalid_token (RFC 6750).
    let (s, b, www) = status(u.http.get(&url).send().await.unwrap()).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (401, Some("invalid_token")),
        "{b}"
    );
    assert_eq!(www.as_deref(), Some("Bearer error=\"invalid_token\""));
    let (s, b, _) = status(u.http.get(&url).bearer_auth(&rat2).send().await.unwrap()).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (401, Some("invalid_token")),
        "{b}"
    );
    let (s, _, _) = status(u.http.delete(&url).bearer_auth("x").send().await.unwrap()).await;
    assert_eq!(s, 401);
    // An unknown client is 401 too (RFC 7592 §2.1), not 404.
    let (s, b, _) = status(
        u.http
            .get(format!("http://{}/register/no-such-client", u.addr))
            .bearer_auth(&rat)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (401, Some("invalid_token")),
        "{b}"
    );
    // Update is not offered: 405 with Allow.
    let r = u.http.put(&url).bearer_auth(&rat).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET, DELETE");
    // A UDAP registration is managed by software statements, not by RFC 7592.
    let leaf = u.client(&u.payers, QUALITY);
    let udap_id = u.register(&leaf, QUALITY).await;
    let (s, _, _) = status(
        u.http
            .get(format!("http://{}/register/{udap_id}", u.addr))
            .bearer_auth(&rat)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 401);
    // Still registered after all that.
    let (s, _, _) = status(u.http.get(&url).bearer_auth(&rat).send().await.unwrap()).await;
    assert_eq!(s, 200);
    let rejected = u
        .audit("registration")
        .into_iter()
        .filter(|r| r.outcome == "rejected" && r.details.contains("rfc7592"))
        .count();
    assert_eq!(rejected, 6);
}

/// A loopback JWKS host: `/jwks.json` serves `set`, `/moved` redirects to it, `/big` is
/// larger than the outbound body bound.
async fn jwks_host(set: Value) -> String {
    let body = set.to_string();
    let router = Router::new()
        .route("/jwks.json", get(move || async move { body.clone() }))
        .route(
            "/moved",
            get(|| async { axum::response::Redirect::temporary("/jwks.json") }),
        )
        .route("/big", get(|| async { "x".repeat(2 << 20) }));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, router).await;
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn rfc7591_jwks_uri_is_fetched_bounded_and_never_redirected() {
    let u = holder("enabled = true\nallow_jwks_uri = true").await;
    let app = PrivateJwk::generate(Alg::Es256).unwrap();
    let host = jwks_host(json!({"keys": [app.public().to_value()]})).await;
    let by_uri = |uri: String| {
        let mut m = app_metadata(&app);
        m.as_object_mut().unwrap().remove("jwks");
        m["jwks_uri"] = json!(uri);
        m
    };
    for (path, part) in [
        ("/moved", "jwks_uri could not be used"),
        ("/big", "jwks_uri could not be used"),
        ("/missing", "jwks_uri could not be used"),
    ] {
        let got = register(&u, None, &by_uri(format!("{host}{path}"))).await;
        assert_oauth(&got, 400, "invalid_client_metadata", part);
    }
    let got = register(&u, None, &by_uri("ftp://app.example/jwks".into())).await;
    assert_oauth(&got, 400, "invalid_client_metadata", "jwks_uri");

    let (s, reg) = register(&u, None, &by_uri(format!("{host}/jwks.json"))).await;
    assert_eq!(s, 201, "{reg}");
    assert_eq!(reg["jwks_uri"], format!("{host}/jwks.json"));
    let id = reg["client_id"].as_str().unwrap();
    let (s, b) = u
        .redeem_with(&self_access_for(&u, &app), &assertion(&u, id, &app))
        .await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn pt_disc_05_discovery_advertises_exactly_what_is_accepted() {
    let get = |u: &Udap| {
        let url = format!("http://{}/.well-known/smart-configuration", u.addr);
        let http = u.http.clone();
        async move {
            http.get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let on = holder("enabled = true").await;
    let doc = get(&on).await;
    assert_eq!(
        doc["registration_endpoint"],
        format!("{SEED_BASE}/register")
    );
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["private_key_jwt"])
    );
    // UDAP communities are configured: framework bindings can be verified here.
    assert_eq!(
        doc["supported_client_binding_types"],
        json!(["jkt", "trust_framework_client"])
    );
    let off = holder("enabled = false").await;
    let doc = get(&off).await;
    assert!(doc.get("registration_endpoint").is_none(), "{doc}");
    let r = off
        .http
        .get(format!("http://{}/register/some-client", off.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}
