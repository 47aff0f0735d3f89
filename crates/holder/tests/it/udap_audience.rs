//! Framework-aware audience (PT-AUD-05) with UDAP: a ticket addressed to a UDAP community
//! (`aud_type: trust_framework`) is accepted only while our own community certificate chains
//! to that community's anchor; a framework that offers no proof counts only when listed in
//! `trust_frameworks`.

use std::sync::Arc;

use serde_json::{Value, json};
use tessera_udap::pki::Pki;

use crate::token_support::sign;
use crate::udap_support::*;

/// The quality-gap seed, re-addressed to `aud` as a trust framework, valid around `now`.
fn framework_ticket(aud: &str, now: i64) -> (String, String) {
    let qg = seed(QG_SEED);
    let payload = tessera_jose::b64::decode(qg.split('.').nth(1).unwrap()).unwrap();
    let mut t: Value = serde_json::from_slice(&payload).unwrap();
    let jti = uuid::Uuid::new_v4().to_string();
    t["aud"] = json!(aud);
    t["aud_type"] = json!("trust_framework");
    t["jti"] = json!(jti);
    t["iat"] = json!(now - 60);
    t["exp"] = json!(now + 3600);
    (sign(&spec_issuer(), &t), jti)
}

fn audience_check(u: &Udap, jti: &str) -> Value {
    let rows =
        u.db.audit_by_jti(jti)
            .unwrap()
            .into_iter()
            .filter(|r| r.event == "token_exchange")
            .collect::<Vec<_>>();
    let details: Value = serde_json::from_str(&rows[0].details).unwrap();
    details["audience_check"].clone()
}

/// PKIs valid long past the Data Holder's own certificate (which ends at SEED_IAT + 400 days).
async fn long_lived() -> Udap {
    let from = SEED_IAT - 400 * DAY;
    let until = SEED_IAT + 900 * DAY;
    let payers = Arc::new(Pki::new("Payers", from, until, None).unwrap());
    let ph = Arc::new(Pki::new("Public Health", from, until, None).unwrap());
    Udap::start_extra(payers, ph, "").await
}

fn long_client(u: &Udap) -> tessera_udap::pki::Leaf {
    u.payers
        .leaf(&tessera_udap::pki::LeafSpec::client(
            QUALITY,
            SEED_IAT - 400 * DAY,
            SEED_IAT + 900 * DAY,
        ))
        .unwrap()
}

#[tokio::test]
async fn pt_aud_05_udap_community_audience_needs_verified_membership() {
    let u = long_lived().await;
    let quality = long_client(&u);
    let id = u.register(&quality, QUALITY).await;

    // Our certificate chains to the payers' anchor: accepted, audited as verified.
    let (t, jti) = framework_ticket(PAYERS, u.now());
    let (s, b) = u.redeem(&t, &quality, &id).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(audience_check(&u, &jti), "verified:udap");

    // A UDAP community we hold no certificate for is not ours (config names its anchors only).
    let (t, _) = framework_ticket(PUBLIC_HEALTH, u.now());
    let (s, b) = u.redeem(&t, &quality, &id).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_grant")),
        "{b}"
    );
    assert_eq!(b["error_description"], "Ticket not valid for this server");

    // A framework without proof counts only because `trust_frameworks` lists it.
    let (t, jti) = framework_ticket("https://network.org", u.now());
    let (s, b) = u.redeem(&t, &quality, &id).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(audience_check(&u, &jti), "configured");
    let (t, _) = framework_ticket("https://elsewhere.example", u.now());
    let (s, b) = u.redeem(&t, &quality, &id).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_grant")),
        "{b}"
    );

    // Checked at the time of the check: once our certificate has expired, membership lapses,
    // while a ticket addressed to our base URL still works.
    u.clock.set(SEED_IAT + 500 * DAY);
    let (t, _) = framework_ticket(PAYERS, u.now());
    let (s, b) = u.redeem(&t, &quality, &id).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_grant")),
        "{b}"
    );
    assert_eq!(b["error_description"], "Ticket not valid for this server");
    let (t, _) = framework_ticket(PAYERS, u.now());
    let mut p: Value =
        serde_json::from_slice(&tessera_jose::b64::decode(t.split('.').nth(1).unwrap()).unwrap())
            .unwrap();
    p["aud"] = json!(SEED_BASE);
    p["aud_type"] = json!("data_holder_url");
    let (s, b) = u.redeem(&sign(&spec_issuer(), &p), &quality, &id).await;
    assert_eq!(s, 200, "{b}");
}
