//! The issuer's own duties: `aud_type` for framework audiences (PT-AUD-08, PT-ISS-04), a
//! verification record per ticket kept by `jti` (PT-ISS-06), lifetimes, revocation and a
//! revocation-management URL (PT-ISS-09), and identity evidence embedded only when its
//! audience names who obtained it (PT-EVID-15).

use serde_json::Map;
use serde_json::{Value, json};
use tessera_issuer::{Caller, Config, Fact, IssueError, Issuer, required_facts};
use tessera_jose::sign_compact;
use tessera_ticket::{TicketType, VerifyOptions, verify};

use crate::support::*;

const FRAMEWORK: &str = "https://network.example.org";
const IDP: &str = "https://idp.example.org";

fn framework_issuer() -> (Issuer, tessera_jose::PrivateJwk) {
    let key = es256();
    let mut config = with_client(config(&key), &es256());
    config.trust_frameworks = vec![FRAMEWORK.into()];
    config.evidence_client_ids = vec!["issuer-oidc-client".into()];
    config.revocation_management_url = Some(format!("{ISS}/manage/{{jti}}"));
    (
        Issuer::with_db(config, tessera_issuer::Db::open_in_memory().unwrap()),
        key,
    )
}

fn request_error(r: Result<tessera_issuer::Minted, IssueError>) -> String {
    match r {
        Err(e @ (IssueError::Request(_) | IssueError::Verification(_))) => e.to_string(),
        other => panic!("expected a refused request, got {other:?}"),
    }
}

#[test]
fn pt_aud_08_pt_iss_04_framework_aud_always_carries_aud_type() {
    let (issuer, _) = framework_issuer();
    // Absent aud_type: completed, and the signed ticket carries it.
    let mut c = claims(TicketType::SelfAccess);
    c["aud"] = json!(FRAMEWORK);
    let minted = issuer.mint(&c, NOW).unwrap();
    let payload = tessera_ticket::danger::decode_unverified(&minted.token)
        .unwrap()
        .payload;
    assert_eq!(payload["aud_type"], "trust_framework");
    assert_eq!(minted.record.claims["aud_type"], "trust_framework");
    // A contradiction is refused, never signed.
    c["aud_type"] = json!("data_holder_url");
    assert!(request_error(issuer.mint(&c, NOW)).contains("must be \"trust_framework\""));
    c["aud"] = json!([FRAMEWORK, "https://dh.example.org/fhir"]);
    c.as_object_mut().unwrap().remove("aud_type");
    assert!(request_error(issuer.mint(&c, NOW)).contains("mixes"));
    // A framework this issuer is not configured for.
    c["aud"] = json!("https://unknown-network.example");
    c["aud_type"] = json!("trust_framework");
    assert!(request_error(issuer.mint(&c, NOW)).contains("no trust framework"));
    // A Data Holder URL stays as it was.
    let minted = issuer.mint(&claims(TicketType::SelfAccess), NOW).unwrap();
    assert!(minted.record.claims.get("aud_type").is_none());
}

#[test]
fn pt_iss_06_minting_requires_a_verification_record_kept_by_jti() {
    let (issuer, _) = framework_issuer();
    for t in TicketType::ALL {
        let e = request_error(issuer.mint(&bare_claims(t), NOW));
        assert!(
            e.contains("a `verification` record is required"),
            "{t}: {e}"
        );
    }
    // Delegated access needs the delegate's authority verified, not only identity.
    let mut c = claims(TicketType::DelegatedAccess);
    c["verification"] = verification(&[Fact::Identity]);
    assert!(request_error(issuer.mint(&c, NOW)).contains("must include authority"));
    // Shape and time checks.
    let bad: [(Value, &str); 5] = [
        (json!({"facts": ["identity"]}), "malformed"),
        (
            json!({"facts": ["identity"], "method": "", "verified_by": "x", "verified_at": NOW}),
            "verification.method",
        ),
        (
            json!({"facts": ["identity"], "method": "m", "verified_by": "x", "verified_at": NOW + 3600}),
            "in the future",
        ),
        (
            json!({"facts": ["identity"], "method": "m", "verified_by": "x", "verified_at": NOW - 400 * 86_400}),
            "more than a year old",
        ),
        (
            json!({"facts": ["telepathy"], "method": "m", "verified_by": "x", "verified_at": NOW}),
            "malformed",
        ),
    ];
    for (v, want) in bad {
        let mut c = claims(TicketType::SelfAccess);
        c["verification"] = v;
        let e = request_error(issuer.mint(&c, NOW));
        assert!(e.contains(want), "{want}: {e}");
    }
    // Kept with the issuance record, never signed into the ticket.
    let minted = issuer
        .mint(&claims(TicketType::DelegatedAccess), NOW)
        .unwrap();
    let payload = tessera_ticket::danger::decode_unverified(&minted.token)
        .unwrap()
        .payload;
    assert!(payload.get("verification").is_none());
    let record = issuer.record(&minted.record.jti).unwrap();
    let v = record.verification.unwrap();
    assert_eq!(
        v["facts"],
        json!(required_facts(TicketType::DelegatedAccess))
    );
    assert_eq!(v["verified_by"], "front-desk-17");
    assert_eq!(v["evidence"][0]["reference"], "scan-0042");
}

#[test]
fn pt_iss_09_lifetimes_revocation_and_a_management_url() {
    let (issuer, _) = framework_issuer();
    for t in TicketType::ALL {
        let minted = issuer.mint(&claims(t), NOW).unwrap();
        let verified = verify(
            &minted.token,
            &issuer.jwks(NOW),
            NOW,
            &VerifyOptions::default(),
        )
        .unwrap();
        // Every ticket, long-lived or not, is revocable.
        assert!(verified.claims().revocation.is_some(), "{t}");
        let lifetime = minted.record.expires_at - NOW;
        if matches!(t, TicketType::SelfAccess | TicketType::DelegatedAccess) {
            assert!((3600..=4 * 3600).contains(&lifetime), "{t}: {lifetime}");
        }
        let url = format!("{ISS}/manage/{}", minted.record.jti);
        assert_eq!(
            minted.record.revocation_management.as_deref(),
            Some(url.as_str())
        );
        assert_eq!(
            issuer
                .record(&minted.record.jti)
                .unwrap()
                .revocation_management,
            Some(url)
        );
    }
    // A long default for an interactive type is a configuration error.
    let dir = tempfile::tempdir().unwrap();
    let key = es256();
    std::fs::write(dir.path().join("k.json"), key.to_value().to_string()).unwrap();
    let text = |default: &str| {
        format!(
            "issuer = \"{ISS}\"\ndatabase = \"db.sqlite3\"\n[[key]]\nfile = \"k.json\"\nstatus = \"active\"\n\
             [lifetimes]\nself_access = {{ default = \"{default}\" }}\n"
        )
    };
    let load = |t: String| {
        let file = toml::from_str(&t).unwrap();
        Config::from_file(file, dir.path())
    };
    assert!(load(text("4h")).is_ok());
    let e = load(text("30d")).unwrap_err().to_string();
    assert!(e.contains("lifetimes.self_access.default"), "{e}");
    // Self-issued evidence is omitted (refused).
    let mut c = claims(TicketType::SelfAccess);
    c["subject_identity_evidence"] = evidence(json!({"iss": ISS, "aud": "issuer-oidc-client"}));
    assert!(request_error(issuer.mint(&c, NOW)).contains("self-issued"));
}

/// An embedded ID token with `claims` over Elena's demographics (signature irrelevant to the
/// issuer's audience check; the Data Holder verifies it).
fn evidence(claims: Value) -> Value {
    let mut c = json!({"iss": IDP, "sub": "u1", "family_name": "Reyes", "birthdate": "1989-09-14",
        "iat": NOW - 60, "exp": NOW + 600});
    for (k, v) in claims.as_object().unwrap() {
        c[k] = v.clone();
    }
    let key = es256();
    let jwt = sign_compact(
        &Map::new(),
        &serde_json::to_vec(&c).unwrap(),
        &key.signer().unwrap(),
    )
    .unwrap();
    json!({"source": "embedded", "token_type": "id_token", "jwt": jwt})
}

#[test]
fn pt_evid_15_evidence_embedded_only_when_its_aud_names_the_authenticated_client() {
    let (issuer, _) = framework_issuer();
    let client = Caller::Client(CLIENT_ID.into());
    let with = |ev: Value, facts: &[Fact]| {
        let mut c = claims(TicketType::SelfAccess);
        c["subject_identity_evidence"] = ev;
        c["verification"] = verification(facts);
        c
    };
    let id = &[Fact::Identity];
    let id_redisclosure = &[Fact::Identity, Fact::EvidenceRedisclosure];
    // Issuer-obtained (aud = our own OIDC client): embedded.
    let ok = with(evidence(json!({"aud": "issuer-oidc-client"})), id);
    assert!(issuer.mint_as(&client, &ok, NOW).is_ok());
    // Client-obtained (aud = the authenticated client): needs re-disclosure authorization.
    let mine = evidence(json!({"aud": CLIENT_ID}));
    let e = request_error(issuer.mint_as(&client, &with(mine.clone(), id), NOW));
    assert!(e.contains("evidence_redisclosure"), "{e}");
    assert!(
        issuer
            .mint_as(&client, &with(mine.clone(), id_redisclosure), NOW)
            .is_ok()
    );
    // Issued to somebody else: refused whatever the record says.
    let theirs = evidence(json!({"aud": "another-app"}));
    let e = request_error(issuer.mint_as(&client, &with(theirs, id_redisclosure), NOW));
    assert!(e.contains("names neither"), "{e}");
    // The operator is no client: client-obtained evidence cannot be attributed.
    let e = request_error(issuer.mint_as(&Caller::Operator, &with(mine, id_redisclosure), NOW));
    assert!(e.contains("names neither"), "{e}");
    // Several audiences: azp decides.
    let multi = evidence(json!({"aud": [CLIENT_ID, "another-app"]}));
    let e = request_error(issuer.mint_as(&client, &with(multi, id_redisclosure), NOW));
    assert!(e.contains("names neither"), "{e}");
    let multi = evidence(json!({"aud": [CLIENT_ID, "another-app"], "azp": CLIENT_ID}));
    assert!(
        issuer
            .mint_as(&client, &with(multi, id_redisclosure), NOW)
            .is_ok()
    );
    // subject.patient must stay consistent with the evidence.
    let other_person = evidence(json!({"aud": "issuer-oidc-client", "birthdate": "1950-01-01"}));
    let e = request_error(issuer.mint_as(&client, &with(other_person, id), NOW));
    assert!(e.contains("contradicts subject.patient"), "{e}");
}
