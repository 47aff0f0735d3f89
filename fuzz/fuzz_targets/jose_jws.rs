//! Fuzz target: compact JWS decoding (`tessera_jose::decode`) under every production context
//! (tickets, ID tokens, client assertions and DPoP proofs), and signature verification of
//! whatever decodes against a fixed key set.
//!
//! Checks, beyond "no panic": a decoded token re-encodes to exactly its input bytes (strict
//! base64url leaves no second spelling of a signature); its `alg` is in the context's
//! allow-list; a `kid` is present where required; no `crit`; an embedded header `jwk` carries
//! no private member; the payload object is the JSON of the payload bytes; the ticket context
//! accepts nothing the (laxer) ID-token context refuses; nothing verifies against a key that
//! did not sign it (the fuzzer cannot forge ES256, so a verification success is only possible
//! for the committed seed tokens that the test issuer really signed).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use tessera_jose::{JwkSet, Limits, b64, decode, jws};

static KEYS: LazyLock<JwkSet> = LazyLock::new(|| {
    JwkSet::new(vec![
        tessera_fuzz::private_key(tessera_fuzz::ISSUER_ES256)
            .public()
            .clone(),
    ])
});

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let ticket = decode(token, &Limits::ticket());
    let id_token = decode(token, &Limits::id_token());
    if ticket.is_ok() {
        assert!(
            id_token.is_ok(),
            "ticket context accepted what id_token refused"
        );
    }
    for (limits, result) in [
        (Limits::ticket(), ticket),
        (Limits::id_token(), id_token),
        (Limits::client(), decode(token, &Limits::client())),
    ] {
        let Ok(jws) = result else { continue };
        assert!(token.len() <= limits.max_token_len);
        let header = jws.header();
        assert!(limits.algs.contains(&header.alg));
        if limits.require_kid {
            assert!(header.kid.as_deref().is_some_and(|k| !k.is_empty()));
        }
        assert!(!header.raw.contains_key("crit"));
        if let Some(jwk) = &header.jwk {
            let public = jwk.to_value();
            for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
                assert!(public.get(private).is_none());
            }
        }
        // Re-encoding is the identity.
        let segments: Vec<&str> = token.split('.').collect();
        assert_eq!(segments.len(), 3);
        assert_eq!(b64::encode(jws.payload_bytes()), segments[1]);
        assert_eq!(b64::encode(jws.signature()), segments[2]);
        let input = std::str::from_utf8(jws.signing_input()).expect("signing input is ASCII");
        assert_eq!(jws::assemble(input, jws.signature()), token);
        let header_bytes = b64::decode(segments[0]).expect("header segment decoded once");
        assert_eq!(b64::encode(header_bytes), segments[0]);
        let reparsed: serde_json::Value =
            serde_json::from_slice(jws.payload_bytes()).expect("payload decoded once");
        assert_eq!(reparsed.as_object(), Some(jws.claims()));
        if jws.verify_with_set(&KEYS).is_ok() {
            assert_eq!(header.alg, tessera_jose::Alg::Es256);
        }
    }
});
