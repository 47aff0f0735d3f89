//! Identity-evidence profile parameters per ticket type (PT-EVID-12) and evidence required per
//! type (PT-EVID-13), and evidence-issuer keys through OpenID Connect discovery (PT-EVID-01).
//! Every negative case has a positive control that differs only in the parameter under test.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::token_support::*;

const IDP2: &str = "https://idp2.example";

fn evidence(jwt: &str) -> Value {
    json!({"source": "embedded", "token_type": "id_token", "jwt": jwt})
}

fn with_subject_evidence(claims: Value) -> Value {
    let mut t = baseline();
    t["subject_identity_evidence"] = evidence(&id_token(claims));
    t
}

fn profile(body: &str) -> String {
    format!("[[evidence_profile]]\nticket_type = \"{T_SELF}\"\n{body}\n")
}

async fn redeem(h: &Holder, t: &Value) -> (StatusCode, Value) {
    h.redeem(&mint(t), &[]).await
}

#[track_caller]
fn invalid_evidence(got: &(StatusCode, Value)) {
    assert_error(got, 400, "invalid_grant", Some("Invalid identity evidence"));
}

#[tokio::test]
async fn pt_evid_13_evidence_required_per_type() {
    let extra = profile("require = [\"subject\"]")
        + &format!(
            "[[evidence_profile]]\nticket_type = \"{T_DELEGATED}\"\nrequire = [\"requester\"]\n"
        );
    let h = Holder::with_config(&config_toml(&extra));
    // Self access without evidence ⇒ refused; with valid evidence ⇒ redeemed.
    assert_error(
        &redeem(&h, &baseline()).await,
        400,
        "invalid_grant",
        Some("Identity evidence required"),
    );
    let ok = with_subject_evidence(evidence_claims(NOW - 60));
    assert_eq!(redeem(&h, &ok).await.0, 200);
    // Delegated: requester evidence required, subject evidence not.
    let t = delegated();
    let got = redeem(&h, &t).await;
    assert_error(
        &got,
        400,
        "invalid_grant",
        Some("Identity evidence required"),
    );
    let rows = h.audit(t["jti"].as_str().unwrap());
    assert_eq!(rows[0].step.as_deref(), Some("identity_evidence"));
    let mut t = delegated();
    t["requester_identity_evidence"] = evidence(&id_token(evidence_claims(NOW - 60)));
    assert_eq!(redeem(&h, &t).await.0, 200);
    // Without a profile nothing is required (the default).
    let plain = Holder::new();
    assert_eq!(redeem(&plain, &baseline()).await.0, 200);
    assert_eq!(redeem(&plain, &delegated()).await.0, 200);
}

#[tokio::test]
async fn pt_evid_12_accepted_issuers_per_type() {
    // A second identity provider (its key: the issuer test key), accepted for self access only.
    let extra = format!("[[identity_provider]]\niss = \"{IDP2}\"\njwks_file = \"issuer.json\"\n")
        + &profile(&format!("issuers = [\"{IDP2}\"]"));
    let h = Holder::with_config(&config_toml(&extra));
    let mut c2 = evidence_claims(NOW - 60);
    c2["iss"] = json!(IDP2);
    c2["aud"] = json!("app1");
    let from_idp2 = |mut t: Value| {
        t["subject_identity_evidence"] = evidence(&sign(&keys().issuer, &c2));
        t
    };
    assert_eq!(redeem(&h, &from_idp2(baseline())).await.0, 200);
    // The first provider is trusted, but not for this type.
    invalid_evidence(&redeem(&h, &with_subject_evidence(evidence_claims(NOW - 60))).await);
    // The profile of self access does not bind delegated access.
    let mut t = delegated();
    t["requester_identity_evidence"] = evidence(&id_token(evidence_claims(NOW - 60)));
    assert_eq!(redeem(&h, &t).await.0, 200);
}

#[tokio::test]
async fn pt_evid_12_acr_values_per_type() {
    let h = Holder::with_config(&config_toml(&profile("acr_values = [\"ial2\", \"ial3\"]")));
    invalid_evidence(&redeem(&h, &with_subject_evidence(evidence_claims(NOW - 60))).await);
    let mut c = evidence_claims(NOW - 60);
    c["acr"] = json!("ial1");
    invalid_evidence(&redeem(&h, &with_subject_evidence(c.clone())).await);
    c["acr"] = json!("ial3");
    assert_eq!(redeem(&h, &with_subject_evidence(c)).await.0, 200);
}

#[tokio::test]
async fn pt_evid_12_required_claims() {
    let h = Holder::with_config(&config_toml(&profile(
        "required_claims = [\"birthdate\", \"email\"]",
    )));
    invalid_evidence(&redeem(&h, &with_subject_evidence(evidence_claims(NOW - 60))).await);
    let mut c = evidence_claims(NOW - 60);
    for empty in [json!(""), json!(null), json!([])] {
        c["email"] = empty;
        invalid_evidence(&redeem(&h, &with_subject_evidence(c.clone())).await);
    }
    c["email"] = json!("elena@example.org");
    assert_eq!(redeem(&h, &with_subject_evidence(c.clone())).await.0, 200);
    c.as_object_mut().unwrap().remove("birthdate");
    invalid_evidence(&redeem(&h, &with_subject_evidence(c)).await);
}

#[tokio::test]
async fn pt_evid_12_freshness() {
    // Ticket iat = NOW - 60; leeway 30; the verification may be 600 s older than the ticket.
    let h = Holder::with_config(&config_toml(&profile("max_age_seconds = 600")));
    let ticket_iat = NOW - 60;
    let with_auth_time = |auth_time: Value| {
        let mut c = evidence_claims(ticket_iat - 10);
        c["auth_time"] = auth_time;
        with_subject_evidence(c)
    };
    assert_eq!(
        redeem(&h, &with_auth_time(json!(ticket_iat - 620))).await.0,
        200
    );
    invalid_evidence(&redeem(&h, &with_auth_time(json!(ticket_iat - 700))).await);
    invalid_evidence(&redeem(&h, &with_auth_time(json!("yesterday"))).await);
    // Without auth_time the ID token's own iat is the verification time.
    let fresh = with_subject_evidence(evidence_claims(ticket_iat - 200));
    assert_eq!(redeem(&h, &fresh).await.0, 200);
    let mut stale = evidence_claims(ticket_iat - 700);
    stale["exp"] = json!(ticket_iat + 100);
    invalid_evidence(&redeem(&h, &with_subject_evidence(stale.clone())).await);
    // The same evidence is fine without the profile (only freshness refuses it).
    let plain = Holder::new();
    assert_eq!(redeem(&plain, &with_subject_evidence(stale)).await.0, 200);
}

// ---- OpenID Connect discovery for evidence issuers --------------------------------------

#[derive(Default)]
struct Idp {
    base: std::sync::OnceLock<String>,
    config_hits: AtomicUsize,
    jwks_hits: AtomicUsize,
}

async fn openid_configuration(
    State(idp): State<Arc<Idp>>,
    axum::extract::Path(tenant): axum::extract::Path<String>,
) -> Response {
    idp.config_hits.fetch_add(1, Ordering::SeqCst);
    let base = idp.base.get().unwrap();
    let issuer = match tenant.as_str() {
        // Claims to be another issuer: must not be believed.
        "impostor" => format!("{base}/good"),
        "down" => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        "html" => return "<html>".into_response(),
        _ => format!("{base}/{tenant}"),
    };
    let mut r = axum::Json(json!({"issuer": issuer, "jwks_uri": format!("{base}/jwks"),
        "authorization_endpoint": format!("{base}/authorize")}))
    .into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=300"),
    );
    r
}

async fn idp_jwks(State(idp): State<Arc<Idp>>) -> Response {
    idp.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let mut r = axum::Json(json!({"keys": [keys().idp.public().to_value()]})).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=300"),
    );
    r
}

async fn spawn_idp() -> (Arc<Idp>, String) {
    let idp = Arc::new(Idp::default());
    let app = Router::new()
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/jwks", get(idp_jwks))
        .with_state(idp.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    idp.base.set(base.clone()).unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (idp, base)
}

fn discovering_holder(base: &str) -> Holder {
    let mut extra = String::new();
    for tenant in ["good", "impostor", "down", "html"] {
        extra.push_str(&format!(
            "[[identity_provider]]\niss = \"{base}/{tenant}\"\noidc_discovery = true\naudience_map = {{ \"issuer-app\" = \"{ISSUER}\" }}\n"
        ));
    }
    let toml = config_toml(&extra).replace(
        "leeway_seconds = 30",
        "leeway_seconds = 30\ninsecure_allow_loopback_http = true",
    );
    Holder::with_config(&toml)
}

fn evidence_from(iss: &str) -> Value {
    let mut c = evidence_claims(NOW - 60);
    c["iss"] = json!(iss);
    with_subject_evidence(c)
}

#[tokio::test]
async fn pt_evid_01_evidence_keys_through_oidc_discovery() {
    let (idp, base) = spawn_idp().await;
    let h = discovering_holder(&base);
    let good = format!("{base}/good");
    assert_eq!(redeem(&h, &evidence_from(&good)).await.0, 200);
    assert_eq!(redeem(&h, &evidence_from(&good)).await.0, 200);
    // Metadata and keys are cached per their max-age.
    assert_eq!(idp.config_hits.load(Ordering::SeqCst), 1);
    assert_eq!(idp.jwks_hits.load(Ordering::SeqCst), 1);
    // Evidence signed by another key still fails with discovered keys.
    let mut c = evidence_claims(NOW - 60);
    c["iss"] = json!(good);
    let mut t = baseline();
    t["subject_identity_evidence"] = evidence(&sign(&keys().other, &c));
    invalid_evidence(&redeem(&h, &t).await);
    // A metadata document naming another issuer, an unreachable one, one that is not JSON:
    // no keys, so no evidence.
    for tenant in ["impostor", "down", "html"] {
        invalid_evidence(&redeem(&h, &evidence_from(&format!("{base}/{tenant}"))).await);
    }
    // The impostor's metadata was fetched but its jwks_uri never used.
    assert_eq!(idp.jwks_hits.load(Ordering::SeqCst), 1);
}
