//! Issuer trust by OpenID Federation over real loopback HTTP (spec-digest §8; PT-TRUST-02,
//! PT-TRUST-03): the ticket `iss` is the leaf entity ID, ticket keys come only from the
//! resolved `metadata.smart_permission_ticket_issuer.jwks`, and required trust marks apply.

use serde_json::{Value, json};

use crate::federation_support::*;
use crate::token_support::*;

fn holder(fed: &LoopFed, issuer_extra: &str, framework_extra: &str) -> Holder {
    let extra = format!(
        "{}[[issuer]]\niss = \"{}\"\ntrust_framework = \"{}\"\nticket_types = [\"{T_SELF}\"]\n{issuer_extra}\n",
        fed.framework_toml(framework_extra),
        fed.issuer.id,
        fed.anchor.id,
    );
    let toml = config_toml(&extra).replace(
        "leeway_seconds = 30",
        "leeway_seconds = 30\ninsecure_allow_loopback_http = true",
    );
    Holder::with_config(&toml)
}

/// The audited reason issuer keys were unavailable.
fn key_error(h: &Holder, t: &Value) -> String {
    let rows = h.audit(t["jti"].as_str().unwrap());
    let details: Value = serde_json::from_str(&rows[0].details).unwrap();
    details["issuer_keys_error"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn ticket(fed: &LoopFed) -> Value {
    let mut t = baseline();
    t["iss"] = json!(fed.issuer.id);
    t
}

#[tokio::test]
async fn pt_trust_02_ticket_signed_with_smart_permission_ticket_issuer_key_redeems() {
    let fed = LoopFed::new().await;
    let h = holder(&fed, &format!("required_trust_marks = [\"{MARK}\"]"), "");
    let (s, b) = h.redeem(&sign(&fed.ticket_key, &ticket(&fed)), &[]).await;
    assert_eq!(s, 200, "{b}");
    // Resolution walked leaf → intermediate → anchor and nothing else.
    let hits = fed.hits();
    assert!(
        hits.iter().all(|p| p.starts_with("/issuer/")
            || p.starts_with("/int/")
            || p.starts_with("/anchor/")),
        "{hits:?}"
    );
    // Cached per statement exp: a second redemption fetches nothing.
    let before = fed.hits().len();
    let (s, _) = h.redeem(&sign(&fed.ticket_key, &ticket(&fed)), &[]).await;
    assert_eq!(s, 200);
    assert_eq!(fed.hits().len(), before);
}

#[tokio::test]
async fn pt_trust_03_federation_key_never_verifies_a_ticket() {
    let fed = LoopFed::new().await;
    let h = holder(&fed, "", "");
    let (s, b) = h.redeem(&sign(&fed.issuer.key, &ticket(&fed)), &[]).await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["error"], "invalid_grant");
}

#[tokio::test]
async fn pt_trust_02_missing_required_trust_mark_refused_and_audited() {
    let fed = LoopFed::new().await;
    fed.publish_issuer(false);
    let h = holder(&fed, &format!("required_trust_marks = [\"{MARK}\"]"), "");
    let t = ticket(&fed);
    let got = h.redeem(&sign(&fed.ticket_key, &t), &[]).await;
    assert_error(
        &got,
        400,
        "invalid_grant",
        Some("Unable to retrieve issuer keys"),
    );
    let detail = key_error(&h, &t);
    assert!(detail.contains("required trust mark"), "{detail}");
}

#[tokio::test]
async fn pt_trust_02_framework_wide_trust_mark_applies_to_issuers() {
    let fed = LoopFed::new().await;
    let other = "https://fed.example/marks/other";
    let h = holder(&fed, "", &format!("required_trust_marks = [\"{other}\"]"));
    let got = h.redeem(&sign(&fed.ticket_key, &ticket(&fed)), &[]).await;
    assert_error(
        &got,
        400,
        "invalid_grant",
        Some("Unable to retrieve issuer keys"),
    );
}

#[tokio::test]
async fn pt_trust_02_unknown_anchor_refused() {
    let fed = LoopFed::new().await;
    // The configured anchor keys are not the anchor's: nothing it signed verifies.
    std::fs::write(
        fed.dir.path().join("anchor.json"),
        json!({"keys": [tessera_jose::PrivateJwk::generate(tessera_jose::Alg::Es256).unwrap().public().to_value()]}).to_string(),
    )
    .unwrap();
    let h = holder(&fed, "", "");
    let t = ticket(&fed);
    let got = h.redeem(&sign(&fed.ticket_key, &t), &[]).await;
    assert_error(
        &got,
        400,
        "invalid_grant",
        Some("Unable to retrieve issuer keys"),
    );
    assert!(
        key_error(&h, &t).contains("OpenID Federation"),
        "{}",
        key_error(&h, &t)
    );
}

#[tokio::test]
async fn pt_trust_02_expired_subordinate_statement_refused() {
    let fed = LoopFed::new().await;
    fed.intermediate
        .publish_about(&fed.docs, &fed.issuer, json!({"exp": NOW - 120}));
    let h = holder(&fed, "", "");
    let t = ticket(&fed);
    let got = h.redeem(&sign(&fed.ticket_key, &t), &[]).await;
    assert_error(
        &got,
        400,
        "invalid_grant",
        Some("Unable to retrieve issuer keys"),
    );
    assert!(
        key_error(&h, &t).contains("expired"),
        "{}",
        key_error(&h, &t)
    );
}

#[tokio::test]
async fn pt_trust_02_policy_violation_refused() {
    let fed = LoopFed::new().await;
    // The anchor's policy makes organization_name essential; the issuer drops it.
    fed.issuer.publish(
        &fed.docs,
        json!({"authority_hints": [fed.intermediate.id],
            "metadata": {"smart_permission_ticket_issuer": {
                "jwks": {"keys": [fed.ticket_key.public().to_value()]}}}}),
    );
    let h = holder(&fed, "", "");
    let t = ticket(&fed);
    let got = h.redeem(&sign(&fed.ticket_key, &t), &[]).await;
    assert_error(
        &got,
        400,
        "invalid_grant",
        Some("Unable to retrieve issuer keys"),
    );
    assert!(
        key_error(&h, &t).contains("essential"),
        "{}",
        key_error(&h, &t)
    );
}

#[tokio::test]
async fn oversized_statement_refused() {
    let fed = LoopFed::new().await;
    let extra = format!(
        "{}[[issuer]]\niss = \"{}\"\ntrust_framework = \"{}\"\nticket_types = [\"{T_SELF}\"]\n[http]\nmax_response_bytes = 600\n",
        fed.framework_toml(""),
        fed.issuer.id,
        fed.anchor.id,
    );
    let toml = config_toml(&extra).replace(
        "leeway_seconds = 30",
        "leeway_seconds = 30\ninsecure_allow_loopback_http = true",
    );
    let h = Holder::with_config(&toml);
    let t = ticket(&fed);
    let got = h.redeem(&sign(&fed.ticket_key, &t), &[]).await;
    assert_error(
        &got,
        400,
        "invalid_grant",
        Some("Unable to retrieve issuer keys"),
    );
    assert!(
        key_error(&h, &t).contains("size bound"),
        "{}",
        key_error(&h, &t)
    );
}

#[tokio::test]
async fn slow_superior_refused_by_timeout() {
    let fed = LoopFed::new().await;
    // The issuer names a superior that never answers in time.
    let slow = Ent::new(&fed.origin, "/slow");
    fed.issuer.publish(
        &fed.docs,
        json!({"authority_hints": [slow.id],
            "metadata": {"smart_permission_ticket_issuer": {"organization_name": "x",
                "jwks": {"keys": [fed.ticket_key.public().to_value()]}}}}),
    );
    let extra = format!(
        "{}[[issuer]]\niss = \"{}\"\ntrust_framework = \"{}\"\nticket_types = [\"{T_SELF}\"]\n[http]\ntimeout_ms = 200\n",
        fed.framework_toml(""),
        fed.issuer.id,
        fed.anchor.id,
    );
    let toml = config_toml(&extra).replace(
        "leeway_seconds = 30",
        "leeway_seconds = 30\ninsecure_allow_loopback_http = true",
    );
    let h = Holder::with_config(&toml);
    let t = ticket(&fed);
    let got = h.redeem(&sign(&fed.ticket_key, &t), &[]).await;
    assert_error(
        &got,
        400,
        "invalid_grant",
        Some("Unable to retrieve issuer keys"),
    );
}

#[tokio::test]
async fn no_fetch_for_an_issuer_no_framework_names() {
    let fed = LoopFed::new().await;
    let h = holder(&fed, "", "");
    let mut t = ticket(&fed);
    t["iss"] = json!(format!("{}/stranger", fed.origin));
    let got = h.redeem(&sign(&fed.ticket_key, &t), &[]).await;
    assert_eq!(got.0, 400);
    assert!(fed.hits().is_empty(), "{:?}", fed.hits());
}
