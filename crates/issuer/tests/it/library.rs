//! The library API: minting every type, refusals, lifetimes, revocation, key rotation,
//! durability.

use serde_json::{Value, json};
use tessera_issuer::{
    Caller, Config, Db, IssueError, Issuer, KeyRing, KeySpec, KeyStatus, RetiredKey,
};
use tessera_ticket::{TicketType, VerifyOptions, verify};

use crate::support::*;

// PT-ISS-01/02/03/07: every supported type mints, verifies against the published JWKS, and
// carries the issuer-assigned claims and a revocation pointer.
#[test]
fn mints_every_type_and_the_ticket_verifies() {
    let key = es256();
    let issuer = issuer(&key);
    for t in TicketType::ALL {
        let minted = issuer.mint(&claims(t), NOW).unwrap();
        let verified = verify(
            &minted.token,
            &issuer.jwks(NOW),
            NOW,
            &VerifyOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{t}: {e}"));
        let c = verified.claims();
        assert_eq!(c.iss, ISS);
        assert_eq!(c.iat, NOW);
        assert_eq!(c.jti, minted.record.jti);
        assert_eq!(verified.kid(), key.kid().unwrap());
        let rev = c.revocation.as_ref().unwrap();
        assert_eq!(rev.url, format!("{ISS}/status/tickets"));
        assert_eq!(rev.index, minted.record.status_index);
        assert_eq!(minted.record.ticket_type, t.uri());
        assert_eq!(minted.record.requested_by, "operator");
    }
}

// spec-digest §16: default lifetimes per type.
#[test]
fn default_exp_follows_the_type() {
    let issuer = issuer(&es256());
    let exp = |t| issuer.mint(&claims(t), NOW).unwrap().record.expires_at - NOW;
    assert_eq!(exp(TicketType::SelfAccess), 3600);
    assert_eq!(exp(TicketType::DelegatedAccess), 3600);
    assert_eq!(exp(TicketType::PayerClaims), 60 * 86_400);
    assert_eq!(exp(TicketType::QualityGap), 120 * 86_400);
    assert_eq!(exp(TicketType::PublicHealth), 86_400);
}

#[test]
fn caller_exp_is_bounded_by_the_type_maximum() {
    let issuer = issuer(&es256());
    let mut c = claims(TicketType::PayerClaims);
    c["exp"] = json!(NOW + 45 * 86_400);
    assert_eq!(
        issuer.mint(&c, NOW).unwrap().record.expires_at,
        NOW + 45 * 86_400
    );
    c["exp"] = json!(NOW + 76 * 86_400);
    let e = issuer.mint(&c, NOW).unwrap_err();
    assert!(
        matches!(e, IssueError::Request(ref m) if m.contains("longest lifetime")),
        "{e}"
    );
    c["exp"] = json!(NOW);
    assert!(matches!(issuer.mint(&c, NOW), Err(IssueError::Request(_))));
}

// PT-LIFE-08: a delegated ticket never outlives the delegate's authority.
#[test]
fn delegated_exp_never_passes_the_authority_end() {
    let issuer = issuer(&es256());
    let mut c = claims(TicketType::DelegatedAccess);
    // 1_800_000_000 is 2027-01-15T08:00:00Z; authority ends at 2027-01-15T08:30:00Z.
    c["requester"]["period"] = json!({"end": "2027-01-15T08:30:00Z"});
    assert_eq!(issuer.mint(&c, NOW).unwrap().record.expires_at, NOW + 1800);
    c["exp"] = json!(NOW + 3600);
    let e = issuer.mint(&c, NOW).unwrap_err();
    assert!(e.to_string().contains("requester.period.end"), "{e}");
    c.as_object_mut().unwrap().remove("exp");
    c["requester"]["period"] = json!({"end": "2027-01-01"});
    let e = issuer.mint(&c, NOW).unwrap_err();
    assert!(e.to_string().contains("authority has ended"), "{e}");
}

// PT-ISS-05/08 and the per-type rules: the issuer refuses what its verifier would reject,
// naming the rule, and records nothing.
#[test]
fn refuses_claims_its_verifier_would_reject() {
    let issuer = issuer(&es256());
    let cases: Vec<(Value, &str)> = vec![
        (
            {
                let mut c = claims(TicketType::SelfAccess);
                c.as_object_mut().unwrap().remove("presenter_binding");
                c
            },
            "Ticket presenter binding required",
        ),
        (
            {
                let mut c = claims(TicketType::PayerClaims);
                c["access"]["data_period"] = json!({"start": "2026-01-01"});
                c
            },
            "Access constraint not allowed for this ticket type: data_period",
        ),
        (
            {
                let mut c = claims(TicketType::QualityGap);
                c.as_object_mut().unwrap().remove("measure");
                c
            },
            "Ticket missing required claim: measure",
        ),
        (
            {
                let mut c = claims(TicketType::SelfAccess);
                c["access"]["frobnicate"] = json!(true);
                c
            },
            "Unsupported access constraint: frobnicate",
        ),
        (
            {
                let mut c = claims(TicketType::SelfAccess);
                c["ticket_type"] = json!("https://example.org/unknown-type");
                c
            },
            "Unsupported ticket type",
        ),
    ];
    for (c, rule) in cases {
        match issuer.mint(&c, NOW) {
            Err(IssueError::Refused(e)) => {
                assert!(e.oauth_error().1.starts_with(rule), "{rule}: got {e}");
            }
            other => panic!("{rule}: expected a refusal, got {other:?}"),
        }
    }
    let body = issuer.status_list("tickets").unwrap().unwrap();
    assert!(
        decode_bits(&serde_json::to_value(body).unwrap())
            .iter()
            .all(|b| *b == 0)
    );
}

#[test]
fn issuer_assigned_claims_cannot_be_supplied() {
    let issuer = issuer(&es256());
    for (name, value) in [
        ("jti", json!("mine")),
        ("iat", json!(NOW)),
        (
            "revocation",
            json!({"url": "https://x.example/s", "index": 1}),
        ),
        ("iss", json!("https://other.example.org")),
    ] {
        let mut c = claims(TicketType::SelfAccess);
        c[name] = value;
        let e = issuer.mint(&c, NOW).unwrap_err();
        assert!(matches!(e, IssueError::Request(_)), "{name}: {e}");
    }
    let mut c = claims(TicketType::SelfAccess);
    c["iss"] = json!(ISS);
    assert!(issuer.mint(&c, NOW).is_ok());
    assert!(matches!(
        issuer.mint(&json!([1]), NOW),
        Err(IssueError::Request(_))
    ));
}

// PT-ISS-07 / PT-REV-06: revoking flips exactly the ticket's bit, LSB-first.
#[test]
fn revocation_flips_the_bit_in_the_served_list() {
    let issuer = issuer(&es256());
    let a = issuer
        .mint(&claims(TicketType::SelfAccess), NOW)
        .unwrap()
        .record;
    let b = issuer
        .mint(&claims(TicketType::SelfAccess), NOW)
        .unwrap()
        .record;
    assert_ne!(a.status_index, b.status_index);
    let list =
        |i: &Issuer| serde_json::to_value(i.status_list("tickets").unwrap().unwrap()).unwrap();
    let before = decode_bits(&list(&issuer));
    assert_eq!(before.len(), 131_072 / 8);
    assert!(!bit(&before, a.status_index) && !bit(&before, b.status_index));

    let revoked = issuer.revoke(&a.jti, NOW + 5).unwrap();
    assert_eq!(revoked.revoked_at, Some(NOW + 5));
    assert_eq!(revoked.revoked_by.as_deref(), Some("operator"));
    let served = list(&issuer);
    assert_eq!(served["kid"], json!(issuer.config().keys.active_kid()));
    let after = decode_bits(&served);
    assert!(bit(&after, a.status_index));
    assert!(!bit(&after, b.status_index));
    assert_eq!(after.iter().map(|b| b.count_ones()).sum::<u32>(), 1);

    // Idempotent: the first revocation's time stays.
    assert_eq!(
        issuer.revoke(&a.jti, NOW + 9).unwrap().revoked_at,
        Some(NOW + 5)
    );
    assert!(matches!(
        issuer.revoke("nope", NOW),
        Err(IssueError::NotFound(_))
    ));
    assert!(issuer.status_list("unknown").unwrap().is_none());
}

// PT-REV-10: status lists are grouped (one per configured group of types), never per ticket.
#[test]
fn tickets_go_on_the_list_of_their_type_and_lists_fill_up() {
    let key = es256();
    let mut config = config(&key);
    config.status_lists = vec![
        tessera_issuer::StatusListConfig {
            name: "individual".into(),
            size: 8,
            ticket_types: vec![TicketType::SelfAccess, TicketType::DelegatedAccess],
        },
        tessera_issuer::StatusListConfig {
            name: "organizational".into(),
            size: 8,
            ticket_types: vec![
                TicketType::PayerClaims,
                TicketType::QualityGap,
                TicketType::PublicHealth,
            ],
        },
    ];
    let issuer = Issuer::with_db(config, Db::open_in_memory().unwrap());
    let org = issuer
        .mint(&claims(TicketType::PayerClaims), NOW)
        .unwrap()
        .record;
    assert_eq!(org.status_list, "organizational");
    assert_eq!(org.status_url, format!("{ISS}/status/organizational"));
    let mut indexes: Vec<u64> = (0..8)
        .map(|_| {
            issuer
                .mint(&claims(TicketType::SelfAccess), NOW)
                .unwrap()
                .record
                .status_index
        })
        .collect();
    indexes.sort();
    assert_eq!(indexes, (0..8).collect::<Vec<_>>());
    let e = issuer
        .mint(&claims(TicketType::SelfAccess), NOW)
        .unwrap_err();
    assert!(
        matches!(e, IssueError::ListFull(ref l) if l == "individual"),
        "{e}"
    );
}

// Key rotation: the active key signs; a retired key stays published until its tickets have
// expired, then disappears.
#[test]
fn key_rotation_keeps_retired_keys_until_their_tickets_expire() {
    let old = es256();
    let new = es256();
    let grace = 365 * 86_400;
    let ring = KeyRing::new(
        vec![
            KeySpec {
                key: "key[0]".into(),
                json: serde_json::to_vec(&new.to_value()).unwrap(),
                status: KeyStatus::Active,
            },
            KeySpec {
                key: "key[1]".into(),
                json: serde_json::to_vec(&old.public().to_value()).unwrap(),
                status: KeyStatus::Retired {
                    retired_at: NOW - 10,
                },
            },
        ],
        grace,
    )
    .unwrap();
    let config = Config::new(ISS, "unused".into(), ring).unwrap();
    let issuer = Issuer::with_db(config, Db::open_in_memory().unwrap());
    let kids = |now| -> Vec<String> {
        issuer
            .jwks(now)
            .keys
            .iter()
            .map(|k| k.kid.clone().unwrap())
            .collect()
    };
    assert_eq!(kids(NOW), vec![new.kid().unwrap(), old.kid().unwrap()]);
    let minted = issuer.mint(&claims(TicketType::SelfAccess), NOW).unwrap();
    assert_eq!(minted.record.kid, new.kid().unwrap());
    let header = tessera_jose::decode(&minted.token, &tessera_jose::Limits::ticket()).unwrap();
    assert_eq!(header.header().kid.as_deref(), new.kid());
    header.verify_with(new.public()).unwrap();
    // After retired_at + grace the old key is gone.
    assert_eq!(kids(NOW - 10 + grace), vec![new.kid().unwrap()]);
    for k in issuer.jwks(NOW).keys {
        assert_eq!(k.use_.as_deref(), Some("sig"));
    }
}

#[test]
fn a_retired_key_stays_while_the_records_show_unexpired_tickets() {
    let old = es256();
    let db_dir = tempfile::tempdir().unwrap();
    let path = db_dir.path().join("issuer.sqlite3");
    // Mint with `old` as the active key ...
    {
        let issuer = Issuer::with_db(config(&old), Db::open(&path).unwrap());
        let mut c = claims(TicketType::QualityGap);
        c["exp"] = json!(NOW + 300 * 86_400);
        issuer.mint(&c, NOW).unwrap();
    }
    // ... then rotate with a grace shorter than that ticket's remaining life.
    let new = es256();
    let ring = KeyRing::single(&new, 86_400)
        .unwrap()
        .retire(RetiredKey {
            public: old.public().clone(),
            retired_at: NOW,
        })
        .unwrap();
    let issuer = Issuer::with_db(
        Config::new(ISS, path.clone(), ring).unwrap(),
        Db::open(&path).unwrap(),
    );
    let published = |now| issuer.jwks(now).find(old.kid().unwrap()).is_some();
    assert!(published(NOW + 2 * 86_400));
    assert!(!published(NOW + 300 * 86_400));
}

// Proposal 007: issuance records are durable and retrievable by jti.
#[test]
fn issuance_records_survive_reopening() {
    let key = es256();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("issuer.sqlite3");
    let (jti, index) = {
        let issuer = Issuer::with_db(config(&key), Db::open(&path).unwrap());
        let r = issuer
            .mint_as(
                &Caller::Client("portal".into()),
                &claims(TicketType::DelegatedAccess),
                NOW,
            )
            .unwrap_err();
        // An unregistered client may not mint at all.
        assert!(matches!(r, IssueError::TypeNotAllowed { .. }), "{r}");
        let m = issuer
            .mint(&claims(TicketType::DelegatedAccess), NOW)
            .unwrap();
        issuer.revoke(&m.record.jti, NOW + 1).unwrap();
        (m.record.jti, m.record.status_index)
    };
    let issuer = Issuer::with_db(config(&key), Db::open(&path).unwrap());
    let r = issuer.record(&jti).unwrap();
    assert_eq!(r.ticket_type, TicketType::DelegatedAccess.uri());
    assert_eq!(
        r.subject,
        "Reyes, Maria; born 1989-09-14; http://hospital.example.org/mrn|A12345"
    );
    assert_eq!(
        r.requester.as_deref(),
        Some("RelatedPerson: Reyes Elena (DELEGATEE)")
    );
    assert_eq!(r.requested_by, "operator");
    assert_eq!(r.issued_at, NOW);
    assert_eq!(r.status_index, index);
    assert_eq!(r.revoked_at, Some(NOW + 1));
    assert_eq!(r.claims["jti"], json!(jti));
    let bits = decode_bits(
        &serde_json::to_value(issuer.status_list("tickets").unwrap().unwrap()).unwrap(),
    );
    assert!(bit(&bits, index));
}

#[test]
fn clients_see_only_their_own_tickets() {
    let key = es256();
    let client_key = es256();
    let issuer = Issuer::with_db(
        with_client(config(&key), &client_key),
        Db::open_in_memory().unwrap(),
    );
    let me = Caller::Client(CLIENT_ID.into());
    let mine = issuer
        .mint_as(&me, &claims(TicketType::SelfAccess), NOW)
        .unwrap()
        .record;
    let theirs = issuer
        .mint(&claims(TicketType::SelfAccess), NOW)
        .unwrap()
        .record;
    assert_eq!(
        issuer.record_as(&me, &mine.jti).unwrap().requested_by,
        CLIENT_ID
    );
    assert!(matches!(
        issuer.record_as(&me, &theirs.jti),
        Err(IssueError::NotFound(_))
    ));
    assert!(matches!(
        issuer.revoke_as(&me, &theirs.jti, NOW),
        Err(IssueError::NotFound(_))
    ));
    assert!(issuer.record(&theirs.jti).unwrap().revoked_at.is_none());
    assert!(matches!(
        issuer.record_as(&Caller::Demo, &mine.jti),
        Err(IssueError::NotFound(_))
    ));
}

// Proposal 005 (PT-SENS): `sensitivity_withhold` is a constraint any ticket may carry; the
// issuer mints it (a Data Holder that cannot enforce it rejects the ticket, as intended).
#[test]
fn mints_tickets_carrying_sensitivity_withhold() {
    let issuer = issuer(&es256());
    let mut c = claims(TicketType::DelegatedAccess);
    c["access"]["sensitivity_withhold"] = json!({"codes": [
        {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "MH"}]});
    let minted = issuer.mint(&c, NOW).unwrap();
    let mut opts = VerifyOptions::default();
    opts.access.sensitivity_withhold = true;
    let verified = verify(&minted.token, &issuer.jwks(NOW), NOW, &opts).unwrap();
    assert!(verified.access().sensitivity_withhold.is_some());
    // A verifier that does not enforce the profile rejects it by name.
    let err = verify(
        &minted.token,
        &issuer.jwks(NOW),
        NOW,
        &VerifyOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.oauth_error().1,
        "Unsupported access constraint: sensitivity_withhold"
    );
}
