//! Fuzz target: JWK and JWK Set parsing (`Jwk::from_json`, `JwkSet::from_json`,
//! `JwkSet::from_json_set_or_key`), the documents a remote `jwks_uri` serves and the `jwk`
//! a DPoP proof embeds; plus key construction at verification time (an RSA modulus or EC
//! point that parses as JSON but not as a key must fail, never panic).
//!
//! Checks, beyond "no panic": a parsed key serializes without private members and re-parses
//! to the same key with the same RFC 7638 thumbprint; a set never holds more than
//! `MAX_JWKS_KEYS` keys and round-trips through `to_value`; a document over `MAX_JWKS_BYTES`
//! never parses; the set-or-key reading agrees with the two strict readings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_jose::{Alg, Jwk, JwkSet, MAX_JWKS_BYTES, MAX_JWKS_KEYS};

const PRIVATE: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

fn check_key(jwk: &Jwk) {
    let value = jwk.to_value();
    for member in PRIVATE {
        assert!(
            value.get(member).is_none(),
            "private member {member} serialized"
        );
    }
    let again = Jwk::from_value(&value).expect("a serialized key re-parses");
    assert_eq!(&again, jwk);
    assert_eq!(again.thumbprint(), jwk.thumbprint());
    for alg in [Alg::Es256, Alg::Es384, Alg::Rs256] {
        if jwk.check_alg(alg).is_ok() {
            // Builds the aws-lc key from attacker bytes; must fail cleanly.
            assert!(jwk.verify(alg, b"message", &[0u8; 64]).is_err());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let key = Jwk::from_json(data);
    if let Ok(jwk) = &key {
        check_key(jwk);
    }
    let set = JwkSet::from_json(data);
    if let Ok(set) = &set {
        assert!(set.keys.len() <= MAX_JWKS_KEYS);
        set.keys.iter().for_each(check_key);
        let bytes = serde_json::to_vec(&set.to_value()).expect("serializes");
        assert_eq!(
            &JwkSet::from_json(&bytes).expect("a serialized set re-parses"),
            set
        );
    }
    if data.len() > MAX_JWKS_BYTES {
        assert!(key.is_err() && set.is_err());
    }
    match JwkSet::from_json_set_or_key(data) {
        Ok(either) => match &set {
            Ok(s) => assert_eq!(&either, s),
            Err(_) => assert_eq!(either.keys, vec![key.expect("a single key")]),
        },
        Err(_) => assert!(set.is_err()),
    }
});
