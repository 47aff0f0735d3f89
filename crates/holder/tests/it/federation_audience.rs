//! Framework audience for OpenID Federations (spec-digest §8; PT-AUD-05): `aud_type:
//! "trust_framework"` naming a federation's anchor is accepted only when this Data Holder's own
//! `entity_id` resolves to a trust chain ending at that anchor, verified over loopback HTTP and
//! cached until the chain's `exp`.

use serde_json::{Value, json};

use crate::federation_support::*;
use crate::token_support::*;

/// A Data Holder entity `/dh` under the intermediate.
fn publish_holder_entity(fed: &LoopFed) -> Ent {
    let dh = Ent::new(&fed.origin, "/dh");
    dh.publish(
        &fed.docs,
        json!({"authority_hints": [fed.intermediate.id],
            "metadata": {"federation_entity": {"organization_name": "Data Holder"}}}),
    );
    fed.intermediate.publish_about(&fed.docs, &dh, json!({}));
    dh
}

fn holder(fed: &LoopFed, framework_extra: &str) -> Holder {
    let toml = config_toml(&fed.framework_toml(framework_extra)).replace(
        "leeway_seconds = 30",
        "leeway_seconds = 30\ninsecure_allow_loopback_http = true",
    );
    Holder::with_config(&toml)
}

fn for_federation(fed: &LoopFed) -> Value {
    let mut t = baseline();
    t["aud"] = json!(fed.anchor.id);
    t["aud_type"] = json!("trust_framework");
    t
}

async fn redeem(h: &Holder, t: &Value) -> (axum::http::StatusCode, Value) {
    h.redeem_as("app1", &keys().client, &mint(t), &[]).await
}

// PT-AUD-05: our entity chains to the named anchor ⇒ the ticket is for us; the verified
// participation is cached (a second redemption fetches nothing).
#[tokio::test]
async fn pt_aud_05_federation_member_accepts_framework_audience() {
    let fed = LoopFed::new().await;
    let dh = publish_holder_entity(&fed);
    let h = holder(&fed, &format!("entity_id = \"{}\"", dh.id));
    let (s, b) = redeem(&h, &for_federation(&fed)).await;
    assert_eq!(s, 200, "{b}");
    assert!(fed.hits().iter().any(|p| p.starts_with("/dh/")));
    let before = fed.hits().len();
    // An array `aud` with another entry first: any one matching suffices (PT-AUD-03).
    let mut t = for_federation(&fed);
    t["aud"] = json!(["https://other-framework.example", fed.anchor.id]);
    let (s, b) = redeem(&h, &t).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(fed.hits().len(), before, "participation was cached");
}

// PT-AUD-05: our entity does not chain to the anchor (the intermediate does not vouch for it)
// ⇒ invalid_grant.
#[tokio::test]
async fn pt_aud_05_entity_outside_the_federation_rejected() {
    let fed = LoopFed::new().await;
    let dh = Ent::new(&fed.origin, "/dh");
    dh.publish(&fed.docs, json!({"authority_hints": [fed.intermediate.id]}));
    let h = holder(&fed, &format!("entity_id = \"{}\"", dh.id));
    assert_error(
        &redeem(&h, &for_federation(&fed)).await,
        400,
        "invalid_grant",
        Some("Ticket not valid for this server"),
    );
}

// PT-AUD-05: a federation without our `entity_id` is not a verified membership; nothing is
// fetched.
#[tokio::test]
async fn pt_aud_05_no_entity_id_means_no_membership() {
    let fed = LoopFed::new().await;
    let h = holder(&fed, "");
    assert_error(
        &redeem(&h, &for_federation(&fed)).await,
        400,
        "invalid_grant",
        Some("Ticket not valid for this server"),
    );
    assert!(fed.hits().is_empty(), "{:?}", fed.hits());
}

// PT-AUD-05 / PT-AUD-04: the anchor's id without `aud_type` is a URL, not a membership claim.
#[tokio::test]
async fn pt_aud_04_federation_id_without_aud_type_rejected() {
    let fed = LoopFed::new().await;
    let dh = publish_holder_entity(&fed);
    let h = holder(&fed, &format!("entity_id = \"{}\"", dh.id));
    let mut t = for_federation(&fed);
    t.as_object_mut().unwrap().remove("aud_type");
    assert_error(
        &redeem(&h, &t).await,
        400,
        "invalid_grant",
        Some("Ticket not valid for this server"),
    );
    assert!(fed.hits().is_empty(), "{:?}", fed.hits());
}

// PT-AUD-05: a required trust mark our entity lacks ⇒ not a participant.
#[tokio::test]
async fn pt_aud_05_missing_required_trust_mark_rejected() {
    let fed = LoopFed::new().await;
    let dh = publish_holder_entity(&fed);
    let extra = format!(
        "entity_id = \"{}\"\nrequired_trust_marks = [\"{MARK}\"]",
        dh.id
    );
    let h = holder(&fed, &extra);
    assert_error(
        &redeem(&h, &for_federation(&fed)).await,
        400,
        "invalid_grant",
        Some("Ticket not valid for this server"),
    );
}

// A federation's membership is proven, never asserted: listing its id in `trust_frameworks`
// is a configuration error.
#[test]
fn oidf_framework_in_trust_frameworks_list_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.json"), r#"{"keys":[]}"#).unwrap();
    let toml = "listen = \"127.0.0.1:0\"\nbase_url = \"https://dh.example/fhir\"\nstore = \"sqlite::memory:\"\ntrust_frameworks = [\"https://fed.example\"]\n[[trust_framework]]\nid = \"https://fed.example\"\nframework_type = \"oidf\"\nanchor_jwks_file = \"a.json\"\n";
    let e = tessera_holder::Config::from_toml(toml, dir.path())
        .unwrap_err()
        .to_string();
    assert!(e.contains("trust_frameworks[0]"), "{e}");
    assert!(e.contains("verified through its entity_id"), "{e}");
}
