//! The staged API as the Data Holder uses it, and minting refusing what verification rejects.

use serde_json::{Value, json};
use tessera_jose::{Alg, PrivateJwk};
use tessera_ticket::claims::{AudType, Audience, Patient, Subject};
use tessera_ticket::{
    ExpectedAudience, Limits, TicketBuilder, TicketType, UnverifiedTicket, VerifyOptions,
    mint_payload,
};

use crate::support::{keys, read};

const SEED: &str = "seed/uc5-2f9a7c11-5d28-4e6b-9b54-3c1f8a02d977.jwt";

#[test]
fn stages_expose_what_the_holder_needs() {
    let token = read(SEED);
    let keys = keys("keys/spec-issuer.public.jwk.json");
    let u = UnverifiedTicket::parse(token.trim(), &Limits::ticket()).unwrap();
    assert_eq!(u.issuer(), "https://fhir.provider.example.org");
    assert_eq!(u.kid(), "nvOGRCsTz2QIQLsbl0ZQ_ux0tfyh5iave-jvNsANWv8");
    assert_eq!(u.alg(), Alg::Es256);
    let now = u.envelope().iat + 60;
    let typed = u
        .verify_signature(&keys)
        .unwrap()
        .check_type(&TicketType::ALL)
        .unwrap();
    let s = typed.shell();
    assert_eq!(s.ticket_type(), TicketType::PayerClaims);
    assert_eq!(s.aud_type(), AudType::DataHolderUrl);
    let mine = ExpectedAudience {
        data_holder_urls: vec!["https://fhir.provider.example.org".into()],
        trust_frameworks: vec![],
    };
    assert!(s.audience_matches(&mine));
    let slash = ExpectedAudience {
        data_holder_urls: vec!["https://fhir.provider.example.org/".into()],
        trust_frameworks: vec![],
    };
    assert!(!s.audience_matches(&slash), "PT-AUD-07: no normalization");
    let current = typed.check_times(now, 30).unwrap();
    current.check_binding_required().unwrap();
    let v = current
        .check_access(&Default::default())
        .unwrap()
        .check_type_rules()
        .unwrap();
    assert_eq!(
        v.access().claim_linkage.as_ref().unwrap().encounter.len(),
        1
    );
}

/// PT-VAL-09: a known type the Data Holder does not advertise is unsupported.
#[test]
fn unadvertised_type_is_unsupported() {
    let token = read(SEED);
    let keys = keys("keys/spec-issuer.public.jwk.json");
    let err = UnverifiedTicket::parse(token.trim(), &Limits::ticket())
        .unwrap()
        .verify_signature(&keys)
        .unwrap()
        .check_type(&[TicketType::SelfAccess])
        .unwrap_err();
    assert_eq!(
        err.oauth_error(),
        ("invalid_grant", "Unsupported ticket type".to_owned())
    );
}

/// PT-AUD-01/04/05 through the one-shot verifier.
#[test]
fn expected_audience_option() {
    let token = read("seed/uc1-4b33cc1d-0f6b-44bf-bd33-80f6d7140f3e.jwt");
    let keys = keys("keys/spec-issuer.public.jwk.json");
    let now = 1782329950 + 60;
    let with = |aud: ExpectedAudience| VerifyOptions {
        expected_audience: Some(aud),
        ..VerifyOptions::default()
    };
    // Framework audience: membership, not URL equality.
    let member = with(ExpectedAudience {
        data_holder_urls: vec![],
        trust_frameworks: vec!["https://network.org".into()],
    });
    assert!(tessera_ticket::verify(token.trim(), &keys, now, &member).is_ok());
    let url_only = with(ExpectedAudience {
        data_holder_urls: vec!["https://network.org".into()],
        trust_frameworks: vec![],
    });
    let err = tessera_ticket::verify(token.trim(), &keys, now, &url_only).unwrap_err();
    assert_eq!(err.oauth_error().1, "Ticket not valid for this server");
}

fn quality_gap_payload() -> serde_json::Map<String, Value> {
    let v = json!({
        "iss": "https://payer.example.com", "aud": "https://fhir.provider.example.org",
        "iat": 1_800_000_000, "exp": 1_800_086_400, "jti": "qg-1",
        "ticket_type": TicketType::QualityGap.uri(),
        "subject": {"patient": {"resourceType": "Patient", "birthDate": "1957-11-02"}},
        "requester": {"resourceType": "Organization", "name": "Plan"},
        "measure": {"coding": [{"system": "https://www.cms.gov/medicare/quality/measures", "code": "CMS122v12"}]},
        "access": {"smart_scopes": ["patient/Observation.rs?code=http://loinc.org|4548-4"],
                   "data_period": {"start": "2026-01-01", "end": "2026-12-31"}}
    });
    v.as_object().unwrap().clone()
}

/// A way to break a valid payload.
type Breaker = fn(&mut serde_json::Map<String, Value>);

#[test]
fn mint_round_trips_and_refuses_invalid_tickets() {
    let key = PrivateJwk::generate(Alg::Es256).unwrap();
    let signer = key.signer().unwrap();
    let opts = VerifyOptions::default();
    let payload = quality_gap_payload();
    let token = mint_payload(&payload, &signer, &opts).unwrap();
    let keys = tessera_ticket::JwkSet::new(vec![key.public().clone()]);
    let v = tessera_ticket::verify(&token, &keys, 1_800_000_060, &opts).unwrap();
    assert_eq!(v.claims().jti, "qg-1");

    // Each broken rule is refused with the verifier's own error.
    let cases: [(&str, Breaker, &str); 4] = [
        (
            "measure",
            |p| {
                p.remove("measure");
            },
            "Ticket missing required claim: measure",
        ),
        (
            "unnarrowed",
            |p| {
                p["access"]["smart_scopes"] = json!(["patient/Observation.rs"]);
            },
            "Ticket missing required claim: narrowed smart_scopes",
        ),
        (
            "unknown member",
            |p| {
                p["access"]["foo"] = json!(1);
            },
            "Unsupported access constraint: foo",
        ),
        (
            "no type",
            |p| {
                p.remove("ticket_type");
            },
            "Missing ticket type",
        ),
    ];
    for (name, break_it, description) in cases {
        let mut p = quality_gap_payload();
        break_it(&mut p);
        let err = mint_payload(&p, &signer, &opts).unwrap_err();
        assert_eq!(
            err.oauth_error(),
            ("invalid_grant", description.to_owned()),
            "{name}"
        );
    }
}

#[test]
fn builder_mints_every_type_it_can_verify() {
    let key = PrivateJwk::generate(Alg::Rs256).unwrap();
    let signer = key.signer().unwrap();
    let subject = Subject {
        patient: Patient {
            resource_type: "Patient".into(),
            name: vec![],
            birth_date: Some("1989-09-14".into()),
            identifier: vec![],
            gender: None,
            extra: Default::default(),
        },
        patient_reference: None,
        recipient_record: None,
    };
    let b = TicketBuilder::new(
        TicketType::SelfAccess,
        "https://issuer.example",
        Audience::One("https://fhir.example".into()),
        subject,
        1_800_000_000,
        1_800_003_600,
        "self-1",
    );
    // Unbound self access is refused before signing (PT-BIND-04).
    let err = b.sign(&signer, &VerifyOptions::default()).unwrap_err();
    assert_eq!(err.oauth_error().1, "Ticket presenter binding required");
    let b = b.presenter_binding(tessera_ticket::claims::PresenterBinding::Jkt {
        jkt: key.public().thumbprint(),
    });
    let err = b.sign(&signer, &VerifyOptions::default()).unwrap_err();
    assert_eq!(
        err.oauth_error().1,
        "Ticket missing required claim: smart_scopes"
    );
    let b = b.access(tessera_ticket::claims::Access {
        smart_scopes: Some(vec!["patient/Condition.rs".into()]),
        ..Default::default()
    });
    let token = b.sign(&signer, &VerifyOptions::default()).unwrap();
    let keys = tessera_ticket::JwkSet::new(vec![key.public().clone()]);
    let v =
        tessera_ticket::verify(&token, &keys, 1_800_000_001, &VerifyOptions::default()).unwrap();
    assert_eq!(v.alg(), Alg::Rs256, "PT-VAL-04");
}
