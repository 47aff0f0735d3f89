//! tessera-udap against a PKI generated in-process (rcgen): chain validation, CRLs, software
//! statements, signed metadata. Every refusal asserts its exact error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use serde_json::{Map, Value, json};
use tessera_udap::claims::{self, MAX_LIFETIME, Rules, Signer};
use tessera_udap::metadata::{MetadataClaims, sign_metadata, verify_metadata};
use tessera_udap::pki::{Leaf, LeafSpec, Pki};
use tessera_udap::{
    Anchors, CrlSet, ErrorClass, Pkcs8Signer, Purpose, UdapError, X5cJwt, sign_x5c, validate,
};

const NOW: i64 = 1_800_000_000;
const DAY: i64 = 86_400;
const SAN: &str = "https://payer.example.org/udap";
const REG: &str = "https://holder.example.org/fhir/register";

fn pki(dp: Option<&str>) -> Pki {
    Pki::new("Test", NOW - 30 * DAY, NOW + 3650 * DAY, dp).unwrap()
}

fn anchors(p: &Pki) -> Anchors {
    Anchors::from_pem(p.root_pem().as_bytes()).unwrap()
}

fn leaf(p: &Pki) -> Leaf {
    p.leaf(&LeafSpec::client(SAN, NOW - DAY, NOW + 365 * DAY))
        .unwrap()
}

fn statement_claims(iss: &str) -> Map<String, Value> {
    json!({
        "iss": iss, "sub": iss, "aud": REG, "iat": NOW, "exp": NOW + 300, "jti": "j-1",
        "client_name": "Payer", "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "private_key_jwt", "scope": "system/*.rs"
    })
    .as_object()
    .cloned()
    .unwrap()
}

fn sign(l: &Leaf, claims: &Map<String, Value>) -> String {
    let signer = Pkcs8Signer::from_pem(l.key_pem.as_bytes()).unwrap();
    sign_x5c(claims, &l.chain, &signer).unwrap()
}

fn rules(aud: &[String]) -> Rules<'_> {
    Rules {
        audiences: aud,
        now: NOW,
        leeway: 0,
        max_lifetime: MAX_LIFETIME,
    }
}

fn verify_statement(p: &Pki, crls: &CrlSet, token: &str) -> Result<claims::Checked, UdapError> {
    let v = X5cJwt::decode(token, tessera_jose::Alg::TICKET)?.verify(
        &anchors(p),
        crls,
        NOW,
        Purpose::Client,
    )?;
    claims::check(&v, Signer::San, rules(&[REG.to_owned()]))
}

#[test]
fn valid_ec_and_rsa_statements_verify() {
    let p = pki(None);
    for rsa in [false, true] {
        let l = p
            .leaf(&LeafSpec {
                rsa,
                ..LeafSpec::client(SAN, NOW - DAY, NOW + DAY)
            })
            .unwrap();
        let c = verify_statement(&p, &CrlSet::new(), &sign(&l, &statement_claims(SAN))).unwrap();
        assert_eq!(c.iss, SAN);
        assert_eq!(c.jti, "j-1");
    }
}

#[test]
fn foreign_root_is_untrusted() {
    let ours = pki(None);
    // Same names (a look-alike hierarchy), and other names: both untrusted.
    for name in ["Test", "Foreign"] {
        let foreign = Pki::new(name, NOW - DAY, NOW + DAY, None).unwrap();
        let l = leaf(&foreign);
        let e = verify_statement(&ours, &CrlSet::new(), &sign(&l, &statement_claims(SAN)));
        assert_eq!(e.unwrap_err(), UdapError::UntrustedChain);
    }
    assert_eq!(UdapError::UntrustedChain.class(), ErrorClass::Trust);
}

#[test]
fn expired_and_not_yet_valid_leaves_are_refused() {
    let p = pki(None);
    let expired = p
        .leaf(&LeafSpec::client(SAN, NOW - 10 * DAY, NOW - DAY))
        .unwrap();
    let e = verify_statement(&p, &CrlSet::new(), &sign(&expired, &statement_claims(SAN)));
    assert_eq!(e.unwrap_err(), UdapError::CertificateExpired);
    let future = p
        .leaf(&LeafSpec::client(SAN, NOW + DAY, NOW + 10 * DAY))
        .unwrap();
    let e = verify_statement(&p, &CrlSet::new(), &sign(&future, &statement_claims(SAN)));
    assert_eq!(e.unwrap_err(), UdapError::CertificateNotYetValid);
}

#[test]
fn revoked_leaf_is_refused_and_unrevoked_passes_with_the_same_crl() {
    let p = pki(None);
    let dp = "http://127.0.0.1:1/int.crl";
    let spec = LeafSpec {
        crl_uri: Some(dp.into()),
        ..LeafSpec::client(SAN, NOW - DAY, NOW + DAY)
    };
    let revoked = p.leaf(&spec).unwrap();
    let good = p.leaf(&spec).unwrap();
    let mut crls = CrlSet::new();
    crls.add(
        &p.intermediate_crl(&[revoked.serial], NOW - DAY, NOW + DAY)
            .unwrap(),
    )
    .unwrap();
    let e = verify_statement(&p, &crls, &sign(&revoked, &statement_claims(SAN)));
    assert_eq!(e.unwrap_err(), UdapError::Revoked);
    verify_statement(&p, &crls, &sign(&good, &statement_claims(SAN))).unwrap();
    // Distribution points are reported for fetching, deduplicated.
    let jwt = X5cJwt::decode(
        &sign(&good, &statement_claims(SAN)),
        tessera_jose::Alg::TICKET,
    )
    .unwrap();
    assert_eq!(jwt.distribution_points().unwrap(), vec![dp.to_owned()]);
}

#[test]
fn crl_unavailable_fails_closed_for_leaf_and_intermediate() {
    let p = pki(None);
    let dp = "http://127.0.0.1:1/int.crl";
    let l = p
        .leaf(&LeafSpec {
            crl_uri: Some(dp.into()),
            ..LeafSpec::client(SAN, NOW - DAY, NOW + DAY)
        })
        .unwrap();
    let e = verify_statement(&p, &CrlSet::new(), &sign(&l, &statement_claims(SAN)));
    assert_eq!(e.unwrap_err(), UdapError::CrlUnavailable(dp.into()));
    // The intermediate names the root's CRL: the intermediate's own CRL does not cover it.
    let root_dp = "http://127.0.0.1:1/root.crl";
    let p2 = pki(Some(root_dp));
    let l2 = leaf(&p2);
    let mut only_int = CrlSet::new();
    only_int
        .add(&p2.intermediate_crl(&[], NOW - DAY, NOW + DAY).unwrap())
        .unwrap();
    let e = verify_statement(&p2, &only_int, &sign(&l2, &statement_claims(SAN)));
    assert_eq!(e.unwrap_err(), UdapError::CrlUnavailable(root_dp.into()));
    // With the root's CRL revoking the intermediate (serial 2), the whole branch is revoked.
    let mut with_root = CrlSet::new();
    with_root
        .add(&p2.root_crl(&[2], NOW - DAY, NOW + DAY).unwrap())
        .unwrap();
    let e = verify_statement(&p2, &with_root, &sign(&l2, &statement_claims(SAN)));
    assert_eq!(e.unwrap_err(), UdapError::Revoked);
}

#[test]
fn expired_crl_is_not_usable() {
    let p = pki(None);
    let l = p
        .leaf(&LeafSpec {
            crl_uri: Some("http://127.0.0.1:1/int.crl".into()),
            ..LeafSpec::client(SAN, NOW - DAY, NOW + DAY)
        })
        .unwrap();
    let mut crls = CrlSet::new();
    crls.add(&p.intermediate_crl(&[], NOW - 3 * DAY, NOW - DAY).unwrap())
        .unwrap();
    let e = verify_statement(&p, &crls, &sign(&l, &statement_claims(SAN))).unwrap_err();
    assert!(matches!(e, UdapError::CrlInvalid(_)), "{e:?}");
}

#[test]
fn key_usage_and_purpose_are_enforced() {
    let p = pki(None);
    let no_sig = p
        .leaf(&LeafSpec {
            digital_signature: false,
            ..LeafSpec::client(SAN, NOW - DAY, NOW + DAY)
        })
        .unwrap();
    let e = verify_statement(&p, &CrlSet::new(), &sign(&no_sig, &statement_claims(SAN)));
    assert!(matches!(e.unwrap_err(), UdapError::KeyUsage(_)));
    let server = p
        .leaf(&LeafSpec::server(SAN, NOW - DAY, NOW + DAY))
        .unwrap();
    let e = validate(
        &server.chain,
        &anchors(&p),
        &CrlSet::new(),
        NOW,
        Purpose::Client,
    );
    assert!(matches!(e.unwrap_err(), UdapError::KeyUsage(_)));
    validate(
        &server.chain,
        &anchors(&p),
        &CrlSet::new(),
        NOW,
        Purpose::Server,
    )
    .unwrap();
}

#[test]
fn chain_longer_than_the_bound_is_refused() {
    let p = pki(None);
    let l = leaf(&p);
    let mut chain = l.chain.clone();
    for _ in 0..5 {
        chain.push(p.intermediate_der());
    }
    let e = validate(&chain, &anchors(&p), &CrlSet::new(), NOW, Purpose::Client);
    assert_eq!(
        e.unwrap_err(),
        UdapError::ChainTooLong(tessera_udap::MAX_CHAIN_LEN)
    );
}

#[test]
fn statement_defects_are_named() {
    let p = pki(None);
    let l = leaf(&p);
    let crls = CrlSet::new();
    let check = |c: Map<String, Value>| verify_statement(&p, &crls, &sign(&l, &c)).unwrap_err();
    assert_eq!(
        check(statement_claims("https://other.example.org")),
        UdapError::IssNotSan
    );
    let mut c = statement_claims(SAN);
    c.insert("sub".into(), "x".into());
    assert_eq!(check(c), UdapError::SubNotIss);
    let mut c = statement_claims(SAN);
    c.insert("aud".into(), "https://elsewhere/register".into());
    assert_eq!(check(c), UdapError::Audience(REG.into()));
    let mut c = statement_claims(SAN);
    c.insert("exp".into(), (NOW + 301).into());
    assert_eq!(check(c), UdapError::Lifetime(MAX_LIFETIME));
    let mut c = statement_claims(SAN);
    c.insert("iat".into(), (NOW - 400).into());
    c.insert("exp".into(), (NOW - 100).into());
    assert_eq!(check(c), UdapError::Expired);
    let mut c = statement_claims(SAN);
    c.remove("jti");
    assert_eq!(check(c), UdapError::Claim("jti"));
    for e in [
        UdapError::IssNotSan,
        UdapError::Expired,
        UdapError::BadSignature,
    ] {
        assert_eq!(e.class(), ErrorClass::Token);
    }
}

#[test]
fn tampered_signature_and_foreign_key_are_refused() {
    let p = pki(None);
    let l = leaf(&p);
    let other = leaf(&p);
    // Signed by another leaf's key but carrying l's chain.
    let signer = Pkcs8Signer::from_pem(other.key_pem.as_bytes()).unwrap();
    let t = sign_x5c(&statement_claims(SAN), &l.chain, &signer).unwrap();
    assert_eq!(
        verify_statement(&p, &CrlSet::new(), &t).unwrap_err(),
        UdapError::BadSignature
    );
    let mut missing = sign(&l, &statement_claims(SAN));
    missing.truncate(missing.rfind('.').unwrap());
    missing.push_str(".AAAA");
    assert_eq!(
        verify_statement(&p, &CrlSet::new(), &missing).unwrap_err(),
        UdapError::BadSignature
    );
    // No x5c at all.
    let key = tessera_jose::PrivateJwk::generate(tessera_jose::Alg::Es256).unwrap();
    let t = tessera_jose::sign_compact(
        &Map::new(),
        &serde_json::to_vec(&statement_claims(SAN)).unwrap(),
        &key.signer().unwrap(),
    )
    .unwrap();
    assert_eq!(
        X5cJwt::decode(&t, tessera_jose::Alg::TICKET).unwrap_err(),
        UdapError::X5c("missing")
    );
}

#[test]
fn client_assertion_signer_needs_registered_id_and_unchanged_san() {
    let p = pki(None);
    let l = leaf(&p);
    let mut c = statement_claims("cid-1");
    c.insert("aud".into(), "https://holder/token".into());
    let v = X5cJwt::decode(&sign(&l, &c), tessera_jose::Alg::CLIENT)
        .unwrap()
        .verify(&anchors(&p), &CrlSet::new(), NOW, Purpose::Client)
        .unwrap();
    let aud = ["https://holder/token".to_owned()];
    let ok = Signer::Client {
        client_id: "cid-1",
        san: SAN,
    };
    claims::check(&v, ok, rules(&aud)).unwrap();
    let other_san = Signer::Client {
        client_id: "cid-1",
        san: "https://other.example.org",
    };
    assert_eq!(
        claims::check(&v, other_san, rules(&aud)).unwrap_err(),
        UdapError::IssNotSan
    );
    let other_id = Signer::Client {
        client_id: "cid-2",
        san: SAN,
    };
    assert_eq!(
        claims::check(&v, other_id, rules(&aud)).unwrap_err(),
        UdapError::Claim("iss")
    );
}

#[test]
fn signed_metadata_round_trip_and_mismatch() {
    let p = pki(None);
    let base = "https://holder.example.org/fhir";
    let server = p
        .leaf(&LeafSpec::server(base, NOW - DAY, NOW + DAY))
        .unwrap();
    let signer = Pkcs8Signer::from_pem(server.key_pem.as_bytes()).unwrap();
    let doc = json!({"token_endpoint": format!("{base}/token"), "registration_endpoint": format!("{base}/register")});
    let doc = doc.as_object().unwrap();
    let m = MetadataClaims {
        base_url: base,
        document: doc,
        now: NOW,
        lifetime: 3600,
        jti: "m-1",
    };
    let token = sign_metadata(&m, &server.chain, &signer).unwrap();
    let v = verify_metadata(&token, base, Some(doc), &anchors(&p), &CrlSet::new(), NOW).unwrap();
    assert_eq!(v.claims["token_endpoint"], doc["token_endpoint"]);
    let mut other = doc.clone();
    other.insert("token_endpoint".into(), "https://evil/token".into());
    assert_eq!(
        verify_metadata(
            &token,
            base,
            Some(&other),
            &anchors(&p),
            &CrlSet::new(),
            NOW
        )
        .unwrap_err(),
        UdapError::MetadataMismatch("token_endpoint")
    );
    assert_eq!(
        verify_metadata(
            &token,
            "https://elsewhere",
            None,
            &anchors(&p),
            &CrlSet::new(),
            NOW
        )
        .unwrap_err(),
        UdapError::Claim("iss")
    );
    // A certificate whose SAN is not the base URL cannot vouch for it.
    let wrong = p
        .leaf(&LeafSpec::server(
            "https://other.example.org",
            NOW - DAY,
            NOW + DAY,
        ))
        .unwrap();
    let s2 = Pkcs8Signer::from_pem(wrong.key_pem.as_bytes()).unwrap();
    let t2 = sign_metadata(&m, &wrong.chain, &s2).unwrap();
    assert_eq!(
        verify_metadata(&t2, base, None, &anchors(&p), &CrlSet::new(), NOW).unwrap_err(),
        UdapError::IssNotSan
    );
}

#[test]
fn inspect_reads_sans_and_key() {
    let p = pki(None);
    let l = leaf(&p);
    let info = tessera_udap::inspect(&l.chain[0]).unwrap();
    assert_eq!(info.uri_sans, vec![SAN.to_owned()]);
    assert!(info.digital_signature);
    assert!(info.public_key.is_some());
    assert!(tessera_udap::inspect(b"not a cert").is_err());
    assert!(Anchors::from_pem(b"").is_err());
}
