//! UDAP end to end over loopback HTTP with a generated PKI: discovery and signed metadata,
//! DCR (every refusal with its RFC 7591 code), JWT client authentication with x5c, and the
//! seed B2B tickets bound to UDAP identities (PT-CA-10, PT-BIND-06).

use serde_json::{Value, json};
use tessera_udap::pki::{LeafSpec, Pki};
use tessera_udap::{Anchors, CrlSet};

use crate::udap_support::*;

#[tokio::test]
async fn pt_ca_10_pt_bind_06_seed_b2b_tickets_redeem_with_verified_udap_clients() {
    let u = Udap::start().await;
    let quality = u.client(&u.payers, QUALITY);
    let claims = u.client(&u.payers, CLAIMS);
    let epi = u.client(&u.public_health, EPI);
    let q_id = u.register(&quality, QUALITY).await;
    let c_id = u.register(&claims, CLAIMS).await;
    let e_id = u.register(&epi, EPI).await;
    assert_ne!(q_id, c_id);

    let qg = seed(QG_SEED);
    u.clock.set(iat_of(&qg) + 60);
    let (s, b) = u.redeem(&qg, &quality, &q_id).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["patient"], "C10288");
    // Bound to the quality entity: the claims-review certificate does not match.
    let got = u.redeem(&qg, &claims, &c_id).await;
    assert_oauth(&got, 400, "invalid_grant", "presenter binding mismatch");

    let uc5 = seed(CLAIMS_SEED);
    let (s, b) = u.redeem(&uc5, &claims, &c_id).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["patient"], "B77421");

    let uc3 = seed(PH_SEED);
    u.clock.set(iat_of(&uc3) + 60);
    let (s, b) = u.redeem(&uc3, &epi, &e_id).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["patient"], "carter");

    // The audit trail says how each binding was checked.
    let rows = u.audit("token_exchange");
    let verified = rows
        .iter()
        .filter(|r| r.outcome == "accepted")
        .filter(|r| r.binding.as_deref() == Some("trust_framework_client:verified(udap)"))
        .count();
    assert_eq!(verified, 3, "{rows:?}");
}

#[tokio::test]
async fn pt_bind_06_san_under_another_communitys_anchor_does_not_bind() {
    let u = Udap::start().await;
    // The quality entity's SAN, but certified by the public-health community: the binding
    // names the payers' framework, so the identity is not proven under its anchors.
    let imposter = u.client(&u.public_health, QUALITY);
    let id = u.register(&imposter, QUALITY).await;
    let qg = seed(QG_SEED);
    u.clock.set(iat_of(&qg) + 60);
    let got = u.redeem(&qg, &imposter, &id).await;
    assert_oauth(&got, 400, "invalid_grant", "presenter binding mismatch");
}

#[tokio::test]
async fn udap_discovery_members_and_signed_metadata() {
    let u = Udap::start().await;
    let r = u
        .http
        .get(format!("http://{}/.well-known/udap", u.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    for m in [
        "udap_versions_supported",
        "udap_profiles_supported",
        "udap_authorization_extensions_supported",
        "udap_authorization_extensions_required",
        "udap_certifications_supported",
        "udap_certifications_required",
        "grant_types_supported",
        "scopes_supported",
        "token_endpoint",
        "token_endpoint_auth_methods_supported",
        "token_endpoint_auth_signing_alg_values_supported",
        "registration_endpoint",
        "registration_endpoint_jwt_signing_alg_values_supported",
        "signed_metadata",
    ] {
        assert!(doc.get(m).is_some(), "missing {m}");
    }
    assert_eq!(
        doc["registration_endpoint"],
        format!("{SEED_BASE}/register")
    );
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["private_key_jwt"])
    );
    let anchors = Anchors::from_pem(u.payers.root_pem().as_bytes()).unwrap();
    let v = tessera_udap::metadata::verify_metadata(
        doc["signed_metadata"].as_str().unwrap(),
        SEED_BASE,
        doc.as_object(),
        &anchors,
        &CrlSet::new(),
        u.now(),
    )
    .unwrap();
    assert_eq!(
        v.claims["registration_endpoint"],
        doc["registration_endpoint"]
    );
    // A community we do not serve: 204; ours by id: 200.
    for (q, status) in [
        ("community=https://unknown.example", 204),
        (&format!("community={PAYERS}"), 200),
    ] {
        let (k, v) = q.split_once('=').unwrap();
        let mut url = url::Url::parse(&format!("http://{}/.well-known/udap", u.addr)).unwrap();
        url.query_pairs_mut().append_pair(k, v);
        let r = u.http.get(url).send().await.unwrap();
        assert_eq!(r.status(), status, "{q}");
    }
}

#[tokio::test]
async fn registration_supersedes_cancels_and_audits() {
    let u = Udap::start().await;
    let leaf = u.client(&u.payers, QUALITY);
    let first = u.register(&leaf, QUALITY).await;
    // Re-registration by the same iss (even with a new certificate) supersedes: same id.
    let renewed = u.client(&u.payers, QUALITY);
    let mut c = u.statement_claims(QUALITY);
    c.insert("scope".into(), "system/Observation.rs".into());
    let (s, b) = u.register_claims(&renewed, &c).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["client_id"], first.as_str());
    assert_eq!(b["scope"], "system/Observation.rs");
    assert_eq!(b["token_endpoint_auth_method"], "private_key_jwt");
    assert!(b["software_statement"].is_string());
    // Empty grant_types cancels: 200, and the client id no longer authenticates.
    let mut c = u.statement_claims(QUALITY);
    c.insert("grant_types".into(), json!([]));
    let (s, b) = u.register_claims(&renewed, &c).await;
    assert_eq!(s, 200, "{b}");
    let qg = seed(QG_SEED);
    let got = u.redeem(&qg, &renewed, &first).await;
    assert_oauth(&got, 401, "invalid_client", "Unknown client");
    let rows = u.audit("registration");
    let actions: Vec<String> = rows
        .iter()
        .filter(|r| r.outcome == "accepted")
        .map(|r| {
            serde_json::from_str::<Value>(&r.details).unwrap()["action"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    for a in ["registered", "superseded", "cancelled"] {
        assert!(actions.iter().any(|x| x == a), "{actions:?}");
    }
}

#[tokio::test]
async fn registration_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("tokens.db");
    let u = Udap::start_with("enabled = true", Some(&db_path)).await;
    let leaf = u.client(&u.payers, QUALITY);
    let id = u.register(&leaf, QUALITY).await;
    let (payers, ph) = (u.payers.clone(), u.public_health.clone());
    drop(u);
    // A new holder process over the same database file and the same community anchors.
    let u2 = Udap::start_in(
        payers,
        ph,
        tempfile::tempdir().unwrap(),
        "enabled = true",
        Some(&db_path),
    )
    .await;
    let qg = seed(QG_SEED);
    u2.clock.set(iat_of(&qg) + 60);
    let (s, b) = u2.redeem(&qg, &leaf, &id).await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn registration_refusals_name_the_failed_check() {
    let u = Udap::start().await;
    // Trust failures: unapproved_software_statement.
    let foreign = Pki::new("Foreign", SEED_IAT - DAY, SEED_IAT + DAY, None).unwrap();
    let f = u.client(&foreign, QUALITY);
    let got = u.register_claims(&f, &u.statement_claims(QUALITY)).await;
    assert_oauth(&got, 400, "unapproved_software_statement", "trusted anchor");
    let expired = u
        .payers
        .leaf(&LeafSpec::client(
            QUALITY,
            SEED_IAT - 10 * DAY,
            SEED_IAT - DAY,
        ))
        .unwrap();
    let got = u
        .register_claims(&expired, &u.statement_claims(QUALITY))
        .await;
    assert_oauth(&got, 400, "unapproved_software_statement", "expired");
    let with_dp = |uri: &str| {
        u.payers
            .leaf(&LeafSpec {
                crl_uri: Some(uri.to_owned()),
                ..LeafSpec::client(QUALITY, SEED_IAT - DAY, SEED_IAT + DAY)
            })
            .unwrap()
    };
    let unavailable = with_dp(&u.missing_crl_url);
    let got = u
        .register_claims(&unavailable, &u.statement_claims(QUALITY))
        .await;
    assert_oauth(
        &got,
        400,
        "unapproved_software_statement",
        "CRL unavailable",
    );
    let revoked = with_dp(&u.crl_url);
    let now = u.now();
    *u.crl.0.lock().unwrap() = Some(
        u.payers
            .intermediate_crl(&[revoked.serial], now - DAY, now + DAY)
            .unwrap(),
    );
    let got = u
        .register_claims(&revoked, &u.statement_claims(QUALITY))
        .await;
    assert_oauth(&got, 400, "unapproved_software_statement", "revoked");

    // Statement defects: invalid_software_statement.
    let leaf = u.client(&u.payers, QUALITY);
    let got = u.register_claims(&leaf, &u.statement_claims(CLAIMS)).await;
    assert_oauth(&got, 400, "invalid_software_statement", "subjectAltName");
    let mut c = u.statement_claims(QUALITY);
    c.insert("aud".into(), "https://elsewhere.example/register".into());
    let got = u.register_claims(&leaf, &c).await;
    assert_oauth(&got, 400, "invalid_software_statement", "aud");
    let mut c = u.statement_claims(QUALITY);
    c.insert("exp".into(), (u.now() + 600).into());
    let got = u.register_claims(&leaf, &c).await;
    assert_oauth(&got, 400, "invalid_software_statement", "lifetime");
    let c = u.statement_claims(QUALITY);
    let st = Udap::sign(&leaf, &c);
    let body = json!({"software_statement": st, "udap": "1"});
    assert_eq!(u.post_json("/register", &body).await.0, 201);
    let (s, b, _) = u.post_json("/register", &body).await;
    assert_oauth(&(s, b), 400, "invalid_software_statement", "replay");
    let mut tampered = st.clone();
    tampered.truncate(st.rfind('.').unwrap());
    tampered.push_str(".AAAA");
    let (s, b, _) = u
        .post_json("/register", &json!({"software_statement": tampered}))
        .await;
    assert_oauth(&(s, b), 400, "invalid_software_statement", "signature");

    // Metadata: invalid_client_metadata.
    let mut c = u.statement_claims(QUALITY);
    c.insert("grant_types".into(), json!(["authorization_code"]));
    let got = u.register_claims(&leaf, &c).await;
    assert_oauth(&got, 400, "invalid_client_metadata", "grant type");
    let mut c = u.statement_claims(QUALITY);
    c.insert(
        "token_endpoint_auth_method".into(),
        "client_secret_basic".into(),
    );
    let got = u.register_claims(&leaf, &c).await;
    assert_oauth(&got, 400, "invalid_client_metadata", "private_key_jwt");
    let mut c = u.statement_claims(QUALITY);
    c.insert("scope".into(), "openid launch".into());
    let got = u.register_claims(&leaf, &c).await;
    assert_oauth(&got, 400, "invalid_client_metadata", "scope");
    // Without a software statement the request is read as RFC 7591 (its own tests are in
    // registration_rfc7591.rs), and its metadata is still checked.
    let (s, b, _) = u.post_json("/register", &json!({"client_name": "x"})).await;
    assert_oauth(
        &(s, b),
        400,
        "invalid_client_metadata",
        "grant_types is required",
    );

    // Every refusal is audited.
    let refused = u
        .audit("registration")
        .into_iter()
        .filter(|r| r.outcome == "rejected")
        .count();
    assert!(refused >= 13, "{refused}");
}

#[tokio::test]
async fn pt_ca_10_udap_client_authentication_refusals() {
    let u = Udap::start().await;
    let leaf = u
        .payers
        .leaf(&LeafSpec {
            crl_uri: Some(u.crl_url.clone()),
            ..LeafSpec::client(QUALITY, SEED_IAT - 400 * DAY, SEED_IAT + 400 * DAY)
        })
        .unwrap();
    let now = u.now();
    *u.crl.0.lock().unwrap() = Some(
        u.payers
            .intermediate_crl(&[], now - DAY, now + DAY)
            .unwrap(),
    );
    let id = u.register(&leaf, QUALITY).await;
    let qg = seed(QG_SEED);
    u.clock.set(iat_of(&qg) + 60);
    // Replay of one assertion.
    let a = Udap::sign(&leaf, &u.assertion_claims(&id));
    assert_eq!(u.redeem_with(&qg, &a).await.0, 200);
    assert_oauth(
        &u.redeem_with(&qg, &a).await,
        401,
        "invalid_client",
        "replayed",
    );
    // Lifetime over 5 minutes.
    let mut c = u.assertion_claims(&id);
    c.insert("exp".into(), (u.now() + 301).into());
    assert_oauth(
        &u.redeem_with(&qg, &Udap::sign(&leaf, &c)).await,
        401,
        "invalid_client",
        "lifetime",
    );
    // Wrong audience.
    let mut c = u.assertion_claims(&id);
    c.insert("aud".into(), "https://elsewhere.example/token".into());
    assert_oauth(
        &u.redeem_with(&qg, &Udap::sign(&leaf, &c)).await,
        401,
        "invalid_client",
        "aud",
    );
    // A certificate with another SAN for the same client id: SAN changed.
    let other = u.client(&u.payers, CLAIMS);
    assert_oauth(
        &u.redeem(&qg, &other, &id).await,
        401,
        "invalid_client",
        "subjectAltName",
    );
    // Chain re-validated at each use: revoked after registration.
    let now = u.now();
    *u.crl.0.lock().unwrap() = Some(
        u.payers
            .intermediate_crl(&[leaf.serial], now - DAY, now + DAY)
            .unwrap(),
    );
    // The first CRL may be cached per its headers (none here: not reused), so this refetches.
    assert_oauth(
        &u.redeem(&qg, &leaf, &id).await,
        401,
        "invalid_client",
        "revoked",
    );
    // Unregistered client id.
    assert_oauth(
        &u.redeem(&qg, &leaf, "nobody").await,
        401,
        "invalid_client",
        "Unknown client",
    );
}

#[tokio::test]
async fn initial_access_token_and_disabled_registration() {
    let u = Udap::start_with(
        "enabled = true\ninitial_access_token = \"0123456789abcdef-secret\"",
        None,
    )
    .await;
    let leaf = u.client(&u.payers, QUALITY);
    let got = u.register_claims(&leaf, &u.statement_claims(QUALITY)).await;
    assert_oauth(&got, 401, "invalid_token", "initial access token required");
    let st = Udap::sign(&leaf, &u.statement_claims(QUALITY));
    let r = u
        .http
        .post(format!("http://{}/register", u.addr))
        .bearer_auth("0123456789abcdef-secret")
        .json(&json!({"software_statement": st}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let off = Udap::start_with("enabled = false", None).await;
    let (s, b, _) = off.post_json("/register", &json!({})).await;
    assert_eq!(s, 404, "{b}");
    assert_eq!(b["error"], "invalid_request");
    let rows = off.audit("registration");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].error_description.as_deref(),
        Some("dynamic client registration is not enabled")
    );
}
