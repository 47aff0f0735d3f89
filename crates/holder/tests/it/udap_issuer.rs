//! Issuer trust by UDAP (PT-TRUST-04): a ticket issuer on loopback publishes
//! `/.well-known/udap` with `signed_metadata` (x5c to the community anchor, SAN = its URL);
//! the Data Holder takes the ticket key from that certificate, `kid` = its RFC 7638
//! thumbprint.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use serde_json::{Map, Value, json};
use tessera_jose::sign_compact;
use tessera_udap::Pkcs8Signer;
use tessera_udap::metadata::{MetadataClaims, sign_metadata};
use tessera_udap::pki::{LeafSpec, Pki};

use crate::udap_support::*;

/// Serves `/.well-known/udap` for an issuer whose certificate SAN is `san` (the issuer URL
/// unless a test wants a mismatch); returns (issuer URL, leaf).
async fn udap_issuer(pki: &Pki, san_override: Option<&str>) -> (String, tessera_udap::pki::Leaf) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let iss = format!("http://{}", listener.local_addr().unwrap());
    let san = san_override.unwrap_or(&iss).to_owned();
    let leaf = pki
        .leaf(&LeafSpec::server(
            &san,
            SEED_IAT - 400 * DAY,
            SEED_IAT + 400 * DAY,
        ))
        .unwrap();
    let doc = Map::new();
    let signer = Pkcs8Signer::from_pem(leaf.key_pem.as_bytes()).unwrap();
    let jwt = sign_metadata(
        &MetadataClaims {
            base_url: &iss,
            document: &doc,
            now: iat_of(&seed(PH_SEED)) - 3600,
            lifetime: 300 * DAY,
            jti: "issuer-metadata-1",
        },
        &leaf.chain,
        &signer,
    )
    .unwrap();
    let body = json!({"udap_versions_supported": ["1"], "signed_metadata": jwt});
    let router = Router::new().route(
        "/.well-known/udap",
        get(move || {
            let b = body.clone();
            async move { axum::Json(b) }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (iss, leaf)
}

/// The public-health seed's claims, re-issued by `iss` and signed with `leaf`'s key.
fn reissue(iss: &str, leaf: &tessera_udap::pki::Leaf, kid: &str) -> String {
    let seed_ticket = seed(PH_SEED);
    let payload = tessera_jose::b64::decode(seed_ticket.split('.').nth(1).unwrap()).unwrap();
    let mut claims: Map<String, Value> = serde_json::from_slice(&payload).unwrap();
    claims.insert("iss".into(), iss.into());
    let mut header = Map::new();
    header.insert("kid".into(), kid.into());
    header.insert("typ".into(), "JWT".into());
    let signer = Pkcs8Signer::from_pem(leaf.key_pem.as_bytes()).unwrap();
    sign_compact(&header, &serde_json::to_vec(&claims).unwrap(), &signer).unwrap()
}

fn issuer_toml(iss: &str) -> String {
    format!(
        "[[issuer]]\niss = \"{iss}\"\ntrust_framework = \"{PUBLIC_HEALTH}\"\nticket_types = [\"{T_PH}\"]\n"
    )
}

#[tokio::test]
async fn pt_trust_04_udap_trusted_issuer_keys_from_signed_metadata() {
    let from = SEED_IAT - 400 * DAY;
    let until = SEED_IAT + 400 * DAY;
    let payers = Arc::new(Pki::new("Payers", from, until, None).unwrap());
    let ph = Arc::new(Pki::new("Public Health", from, until, None).unwrap());
    let (iss, leaf) = udap_issuer(&ph, None).await;
    let (bad_iss, bad_leaf) = udap_issuer(&ph, Some("https://someone-else.example")).await;
    let u = Udap::start_extra(
        payers,
        ph.clone(),
        &format!("{}{}", issuer_toml(&iss), issuer_toml(&bad_iss)),
    )
    .await;
    let epi = u.client(&u.public_health, EPI);
    let id = u.register(&epi, EPI).await;
    let thumb = tessera_udap::inspect(&leaf.chain[0])
        .unwrap()
        .public_key
        .unwrap()
        .thumbprint();
    let ticket = reissue(&iss, &leaf, &thumb);
    u.clock.set(iat_of(&ticket) + 60);
    let (s, b) = u.redeem(&ticket, &epi, &id).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["patient"], "carter");
    // A kid other than the certificate key's thumbprint names no key.
    let got = u
        .redeem(&reissue(&iss, &leaf, "some-other-kid"), &epi, &id)
        .await;
    assert_eq!(got.0, 400, "{}", got.1);
    assert_eq!(got.1["error"], "invalid_grant");
    // Metadata whose certificate SAN is not the issuer URL does not vouch for its keys.
    let bad_thumb = tessera_udap::inspect(&bad_leaf.chain[0])
        .unwrap()
        .public_key
        .unwrap()
        .thumbprint();
    let got = u
        .redeem(&reissue(&bad_iss, &bad_leaf, &bad_thumb), &epi, &id)
        .await;
    assert_eq!(got.0, 400, "{}", got.1);
    assert_eq!(got.1["error_description"], "Unable to retrieve issuer keys");
}
