//! OpenID Federation clients over real loopback HTTP (spec-digest §5, §9; PT-BIND-08): a
//! payer entity authenticates with a `trust_chain` header (offline) or by online resolution,
//! with keys from its resolved `oauth_client.jwks` only, and a `trust_framework_client`
//! binding with `framework_type: "oidf"` is matched against the verified chain.

use serde_json::{Value, json};
use tessera_jose::PrivateJwk;

use crate::federation_support::*;
use crate::token_pipeline::quality_gap;
use crate::token_support::*;

fn holder(fed: &LoopFed, framework_extra: &str) -> Holder {
    let toml = config_toml(&fed.framework_toml(framework_extra)).replace(
        "leeway_seconds = 30",
        "leeway_seconds = 30\ninsecure_allow_loopback_http = true",
    );
    Holder::with_config(&toml)
}

fn bound_ticket(fed: &LoopFed, entity: &str) -> Value {
    let mut t = quality_gap();
    t["presenter_binding"] = json!({"method": "trust_framework_client",
        "trust_framework": fed.anchor.id, "framework_type": "oidf", "entity_uri": entity});
    t
}

fn assertion(h: &Holder, client_id: &str, key: &PrivateJwk, chain: Option<Vec<String>>) -> String {
    let now = h.now();
    let claims = json!({"iss": client_id, "sub": client_id, "aud": h.token_url(),
        "jti": uuid::Uuid::new_v4().to_string(), "iat": now, "exp": now + 60});
    let header = match chain {
        Some(c) => json!({"trust_chain": c}),
        None => json!({}),
    };
    sign_with_header(key, header, &claims)
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

#[tokio::test]
async fn pt_bind_08_oidf_bound_b2b_ticket_redeems_with_trust_chain_offline() {
    let fed = LoopFed::new().await;
    let h = holder(&fed, "");
    let chain = fed.trust_chain(&fed.payer);
    let hits_before = fed.hits().len();
    let a = assertion(&h, &fed.payer.id, &fed.payer_key, Some(chain));
    let t = bound_ticket(&fed, &fed.payer.id);
    let (s, b) = redeem(&h, &mint(&t), &a).await;
    assert_eq!(s, 200, "{b}");
    // Validated offline: not one federation fetch.
    assert_eq!(fed.hits().len(), hits_before);
    // The audit row says the binding was verified through the federation.
    let rows = h.audit(t["jti"].as_str().unwrap());
    let details: Value = serde_json::from_str(&rows[0].details).unwrap();
    assert_eq!(details["binding_check"], "verified:oidf");
}

#[tokio::test]
async fn pt_bind_08_online_resolution_only_when_enabled() {
    let fed = LoopFed::new().await;
    let t = mint(&bound_ticket(&fed, &fed.payer.id));
    let off = holder(&fed, "");
    let a = assertion(&off, &fed.payer.id, &fed.payer_key, None);
    assert_error(
        &redeem(&off, &t, &a).await,
        401,
        "invalid_client",
        Some("Unknown client"),
    );
    assert!(fed.hits().is_empty(), "nothing fetched: {:?}", fed.hits());
    let on = holder(&fed, "online_resolution = true");
    let a = assertion(&on, &fed.payer.id, &fed.payer_key, None);
    let (s, b) = redeem(&on, &t, &a).await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn federation_key_never_authenticates_a_client() {
    let fed = LoopFed::new().await;
    let h = holder(&fed, "");
    let a = assertion(
        &h,
        &fed.payer.id,
        &fed.payer.key,
        Some(fed.trust_chain(&fed.payer)),
    );
    let t = mint(&bound_ticket(&fed, &fed.payer.id));
    assert_error(
        &redeem(&h, &t, &a).await,
        401,
        "invalid_client",
        Some("Client assertion signature verification failed"),
    );
}

#[tokio::test]
async fn pt_bind_08_expired_trust_chain_rejected_naming_the_check() {
    let fed = LoopFed::new().await;
    fed.intermediate
        .publish_about(&fed.docs, &fed.payer, json!({"exp": NOW - 300}));
    let h = holder(&fed, "");
    let a = assertion(
        &h,
        &fed.payer.id,
        &fed.payer_key,
        Some(fed.trust_chain(&fed.payer)),
    );
    let t = mint(&bound_ticket(&fed, &fed.payer.id));
    let (s, b) = redeem(&h, &t, &a).await;
    assert_eq!(s, 401);
    assert_eq!(b["error"], "invalid_client");
    let d = b["error_description"].as_str().unwrap();
    assert!(
        d.starts_with("Client trust chain rejected:") && d.contains("expired"),
        "{d}"
    );
}

#[tokio::test]
async fn pt_bind_08_trust_chain_about_another_entity_rejected() {
    let fed = LoopFed::new().await;
    let h = holder(&fed, "");
    // The issuer's chain presented for the payer's client_id.
    let a = assertion(
        &h,
        &fed.payer.id,
        &fed.payer_key,
        Some(fed.trust_chain(&fed.issuer)),
    );
    let t = mint(&bound_ticket(&fed, &fed.payer.id));
    let (s, b) = redeem(&h, &t, &a).await;
    assert_eq!(s, 401, "{b}");
    assert!(
        b["error_description"].as_str().unwrap().contains("not"),
        "{b}"
    );
}

#[tokio::test]
async fn pt_bind_08_binding_to_another_entity_is_a_mismatch() {
    let fed = LoopFed::new().await;
    let h = holder(&fed, "");
    let a = assertion(
        &h,
        &fed.payer.id,
        &fed.payer_key,
        Some(fed.trust_chain(&fed.payer)),
    );
    let t = mint(&bound_ticket(&fed, "https://other-payer.example"));
    assert_error(
        &redeem(&h, &t, &a).await,
        400,
        "invalid_grant",
        Some("Ticket presenter binding mismatch"),
    );
}

#[tokio::test]
async fn malformed_trust_chain_header_rejected() {
    let fed = LoopFed::new().await;
    let h = holder(&fed, "");
    let now = h.now();
    let claims = json!({"iss": fed.payer.id, "sub": fed.payer.id, "aud": h.token_url(),
        "jti": "j1", "iat": now, "exp": now + 60});
    let a = sign_with_header(
        &fed.payer_key,
        json!({"trust_chain": "not-an-array"}),
        &claims,
    );
    let t = mint(&bound_ticket(&fed, &fed.payer.id));
    assert_error(
        &redeem(&h, &t, &a).await,
        401,
        "invalid_client",
        Some("Malformed client assertion"),
    );
}

#[tokio::test]
async fn configured_framework_identity_is_audited_as_asserted() {
    let extra = "[[client]]\nclient_id = \"cfgpayer\"\njwks_file = \"payer.json\"\nframework_identity = { trust_framework = \"https://fed.example\", framework_type = \"oidf\", entity_uri = \"https://payer.example\", asserted = true }\n";
    let h = Holder::with_config(&config_toml(extra));
    let mut t = quality_gap();
    t["presenter_binding"] = json!({"method": "trust_framework_client",
        "trust_framework": "https://fed.example", "framework_type": "oidf", "entity_uri": "https://payer.example"});
    let (s, b) = h.redeem_as("cfgpayer", &keys().payer, &mint(&t), &[]).await;
    assert_eq!(s, 200, "{b}");
    let rows = h.audit(t["jti"].as_str().unwrap());
    let details: Value = serde_json::from_str(&rows[0].details).unwrap();
    assert_eq!(details["binding_check"], "asserted");
}
