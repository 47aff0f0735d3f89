//! Fuzz target: ticket claims checking — every pure verification stage after the signature
//! (envelope typing, ticket type, times, binding required, access constraints incl. legacy
//! translation, per-type rules) on an arbitrary JSON payload, both through
//! `tessera_ticket::check_payload` and, for payloads that get past envelope typing, through
//! the full `tessera_ticket::verify` of the payload really signed by the test issuer key.
//!
//! Checks, beyond "no panic": the two paths agree (same verdict, same error, same typed
//! claims; `check_payload`'s own extra `exp > iat` rule aside); a verified ticket's typed
//! claims re-serialize to a payload that verifies to the same claims.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use tessera_jose::{JwkSet, JwkSigner, json, sign_compact};
use tessera_ticket::{MintError, TicketError, VerifyOptions, check_payload, verify};

static SIGNER: LazyLock<(JwkSigner, JwkSet)> = LazyLock::new(|| {
    let key = tessera_fuzz::private_key(tessera_fuzz::ISSUER_ES256);
    (
        key.signer().expect("test key signs"),
        JwkSet::new(vec![key.public().clone()]),
    )
});

fuzz_target!(|data: &[u8]| {
    let Ok(Value::Object(payload)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let opts = VerifyOptions {
        leeway: 0,
        ..VerifyOptions::default()
    };
    let checked = check_payload(&payload, &opts);
    if let Ok(ticket) = &checked {
        let again: Map<String, Value> = match serde_json::to_value(ticket.claims()) {
            Ok(Value::Object(m)) => m,
            other => panic!("typed claims serialize to an object, got {other:?}"),
        };
        let rechecked = check_payload(&again, &opts).expect("re-serialized claims verify");
        assert_eq!(rechecked.claims(), ticket.claims());
        assert_eq!(rechecked.ticket_type(), ticket.ticket_type());
    }
    // Signing costs ~100x the checks: only payloads with a typed envelope are signed.
    if matches!(checked, Err(TicketError::Format(_))) {
        return;
    }
    let bytes = serde_json::to_vec(&payload).expect("a JSON map serializes");
    if json::nesting_depth(&bytes) > opts.limits.max_json_depth {
        return; // check_payload has no depth bound of its own: the JWS decoder has it.
    }
    let (signer, keys) = &*SIGNER;
    let token = sign_compact(&Map::new(), &bytes, signer).expect("signing succeeds");
    if token.len() > opts.limits.max_token_len {
        return;
    }
    let now = payload.get("iat").and_then(Value::as_i64).unwrap_or(0);
    let verified = verify(&token, keys, now, &opts);
    match (&checked, &verified) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.claims(), b.claims());
            assert_eq!(a.ticket_type(), b.ticket_type());
            assert_eq!(a.legacy_translated(), b.legacy_translated());
        }
        (Err(TicketError::Mint(MintError::ExpNotAfterIat)), _) => {}
        (Err(a), Err(b)) => assert_eq!(a, b),
        (a, b) => panic!("check_payload {a:?} but verify {b:?}"),
    }
});
