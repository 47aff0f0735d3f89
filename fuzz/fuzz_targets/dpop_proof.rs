//! Fuzz target: DPoP proof verification (`tessera_holder::token::dpop::verify_proof`, RFC
//! 9449) at the token endpoint (no `ath`) and at the FHIR API (`ath` of an access token).
//!
//! Input layout: byte 0 picks the context (token endpoint or resource request) and the mode:
//! raw (the rest is the proof) or signed (the rest is `header JSON \n claims JSON`, signed by
//! the harness with a fixed proof key whose public JWK is put in the header unless the input
//! header brings its own `jwk`), so the claim checks behind the signature are reached.
//!
//! Checks, beyond "no panic": an accepted proof is `typ: dpop+jwt`, its `jkt` is the RFC 7638
//! thumbprint of the header `jwk` (the harness key in signed mode unless the input replaced
//! it), its `htm`/`htu` are the request's, `iat` is inside the acceptance window, `jti` is
//! bounded, and on resource requests `ath` is the token's hash.
#![no_main]

use std::sync::LazyLock;

use aws_lc_rs::digest::{SHA256, digest};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use tessera_holder::token::dpop::{MAX_PROOF_AGE, ProofExpectation, verify_proof};
use tessera_jose::{JwkSigner, PrivateJwk, b64, sign_compact};

const NOW: i64 = 1_750_000_000;
const LEEWAY: i64 = 30;
const ACCESS_TOKEN: &str = "access-token-value";

static KEY: LazyLock<(PrivateJwk, JwkSigner)> = LazyLock::new(|| {
    let key = tessera_fuzz::private_key(tessera_fuzz::OTHER_ES256);
    let signer = key.signer().expect("test key signs");
    (key, signer)
});

fn object(bytes: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (key, signer) = &*KEY;
    let want = if mode & 1 == 0 {
        ProofExpectation {
            htm: "POST",
            htu: "https://holder.example/token",
            access_token: None,
            now: NOW,
            leeway: LEEWAY,
        }
    } else {
        ProofExpectation {
            htm: "GET",
            htu: "https://holder.example/fhir/Observation",
            access_token: Some(ACCESS_TOKEN),
            now: NOW,
            leeway: LEEWAY,
        }
    };
    let proof = if mode & 0x80 != 0 {
        let (head, body) = tessera_fuzz::split_line(rest);
        let (Some(mut header), Some(claims)) = (object(head), object(body)) else {
            return;
        };
        header
            .entry("jwk")
            .or_insert_with(|| key.public().to_value());
        let bytes = serde_json::to_vec(&claims).expect("a JSON map serializes");
        sign_compact(&header, &bytes, signer).expect("signing succeeds")
    } else {
        let Ok(raw) = std::str::from_utf8(rest) else {
            return;
        };
        raw.to_owned()
    };
    let Ok(verified) = verify_proof(&proof, want) else {
        return;
    };
    let jws = tessera_jose::decode(&proof, &tessera_jose::Limits::client()).expect("decodes");
    let header = jws.header();
    assert_eq!(header.typ.as_deref(), Some("dpop+jwt"));
    let jwk = header.jwk.as_ref().expect("accepted proofs embed a jwk");
    assert_eq!(verified.jkt, jwk.thumbprint());
    if jwk == key.public() {
        assert_eq!(verified.jkt, key.public().thumbprint());
    }
    let c = jws.claims();
    assert_eq!(c.get("htm").and_then(Value::as_str), Some(want.htm));
    let htu = c.get("htu").and_then(Value::as_str).expect("htu accepted");
    assert!(htu.starts_with(want.htu));
    assert!(verified.iat <= NOW + LEEWAY && verified.iat >= NOW - MAX_PROOF_AGE);
    assert!(!verified.jti.is_empty() && verified.jti.len() <= 256);
    if let Some(token) = want.access_token {
        let ath = b64::encode(digest(&SHA256, token.as_bytes()).as_ref());
        assert_eq!(c.get("ath").and_then(Value::as_str), Some(ath.as_str()));
    }
});
