//! PT-VAL-16 / PT-FIELD-05: the spec's seed tickets verify with the spec issuer key at
//! `iat + 60 s` (legacy `permissions` tickets only with `legacy_access_shapes`), and every one
//! is expired at the real clock (PT-VAL-12).

use serde_json::{Value, json};
use tessera_ticket::evidence::verify_id_token;
use tessera_ticket::{AccessOptions, VerifyOptions, verify};

use crate::support::{check, keys, read};

fn outcomes() -> Value {
    serde_json::from_str(&read("seed/outcomes.json")).unwrap()
}

fn iat(token: &str) -> i64 {
    let parts = tessera_ticket::danger::decode_unverified(token.trim()).unwrap();
    parts.payload["iat"].as_i64().unwrap()
}

fn legacy() -> VerifyOptions {
    VerifyOptions {
        access: AccessOptions {
            legacy_access_shapes: true,
            ..AccessOptions::default()
        },
        ..VerifyOptions::default()
    }
}

#[test]
fn seed_tickets_at_iat_plus_60() {
    let o = outcomes();
    let keys = keys(o["keys"].as_str().unwrap());
    let offset = o["now_offset"].as_i64().unwrap();
    let tickets = o["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 8);
    for t in tickets {
        let file = t["file"].as_str().unwrap();
        let token = read(&format!("seed/{file}"));
        let now = iat(&token) + offset;
        check(
            file,
            &token,
            &keys,
            now,
            &VerifyOptions::default(),
            &t["default"],
        );
        check(file, &token, &keys, now, &legacy(), &t["legacy"]);
    }
}

#[test]
fn seed_tickets_are_expired_at_the_real_clock() {
    #[allow(clippy::disallowed_methods)] // PT-VAL-12 asks for exactly this: today's clock.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let o = outcomes();
    let keys = keys(o["keys"].as_str().unwrap());
    let expired = json!({"error": "invalid_grant", "error_description": "Ticket expired"});
    for t in o["tickets"].as_array().unwrap() {
        let file = t["file"].as_str().unwrap();
        check(
            file,
            &read(&format!("seed/{file}")),
            &keys,
            now,
            &legacy(),
            &expired,
        );
    }
}

#[test]
fn seed_expected_json_agrees() {
    // The upstream facts file lists every ticket we cover, with the same header kid.
    let expected: Value = serde_json::from_str(&read("seed/expected.json")).unwrap();
    for e in expected.as_array().unwrap() {
        let file = e["file"].as_str().unwrap();
        let token = read(&format!("seed/{file}"));
        let parts = tessera_ticket::danger::decode_unverified(token.trim()).unwrap();
        assert_eq!(parts.header["kid"], e["kid"], "{file}");
        assert_eq!(
            parts
                .payload
                .get("ticket_type")
                .cloned()
                .unwrap_or(Value::Null),
            e["ticket_type"],
            "{file}"
        );
    }
}

#[test]
fn legacy_translation_of_seed_tickets() {
    let keys = keys("keys/spec-issuer.public.jwk.json");
    let token = read("seed/uc3-16ff62cf-2d2d-4b30-8c86-6a13d7ab7d16.jwt");
    let t = verify(token.trim(), &keys, iat(&token) + 60, &legacy()).unwrap();
    assert!(t.legacy_translated());
    assert_eq!(
        t.access().smart_scopes.as_deref().unwrap(),
        [
            "patient/Condition.rs",
            "patient/Observation.rs",
            "patient/DiagnosticReport.rs"
        ]
    );
    // J10 context.reportable_condition becomes the top-level profile claim (OP-20).
    let rc = t.claims().reportable_condition.as_ref().unwrap();
    assert_eq!(rc.coding[0].code.as_deref(), Some("840539006"));

    let token = read("seed/uc1-4b33cc1d-0f6b-44bf-bd33-80f6d7140f3e.jwt");
    let t = verify(
        token.trim(),
        &keys,
        iat(&token) + 60,
        &VerifyOptions::default(),
    )
    .unwrap();
    assert!(!t.legacy_translated());
    assert_eq!(t.ticket_type(), tessera_ticket::TicketType::SelfAccess);
}

#[test]
fn seed_id_tokens_verify_with_the_evidence_key() {
    let o = outcomes();
    for e in o["id_tokens"].as_array().unwrap() {
        let file = e["file"].as_str().unwrap();
        let keys = keys(e["keys"].as_str().unwrap());
        let token = read(&format!("seed/{file}"));
        let id = verify_id_token(token.trim(), &keys).unwrap();
        assert_eq!(id.iss, "https://id.example-csp.org");
        assert_eq!(id.claims["birthdate"], "1989-09-14");
        // PT-EVID-03: valid at the ticket's iat, exactly at the boundary.
        let ticket_iat = iat(&read(&format!("seed/{}", e["ticket"].as_str().unwrap())));
        assert!(id.valid_at(ticket_iat, 0), "{file}");
        assert!(!id.valid_at(id.exp + 1, 0), "{file}");
        // The ticket issuer's key does not verify evidence.
        let wrong = crate::support::keys("keys/spec-issuer.public.jwk.json");
        assert!(verify_id_token(token.trim(), &wrong).is_err());
    }
    // The evidence embedded in the ticket is the same token.
    let ticket = read("seed/uc1-ev-9f1c2b6a-3a77-4d09-9c4e-5a0d2f81c3b7.jwt");
    let parts = tessera_ticket::danger::decode_unverified(ticket.trim()).unwrap();
    assert_eq!(
        parts.payload["subject_identity_evidence"]["jwt"]
            .as_str()
            .unwrap(),
        read("seed/idtoken-csp-user-7d2f0a44.jwt").trim()
    );
}
