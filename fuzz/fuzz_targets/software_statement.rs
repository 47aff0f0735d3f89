//! Fuzz target: UDAP software statements and registration bodies as `POST /register` receives
//! them: `tessera_udap::X5cJwt::decode` (compact JWS with an `x5c` chain, size bound, alg
//! allow-list), its chain's distribution points, and the RFC 7591 metadata validation of the
//! statement's claims (`tessera_holder::registration::metadata::validate`); a JSON input is
//! also validated as a request body.
//!
//! Checks, beyond "no panic": a decoded statement carries a non-empty chain and was within
//! `MAX_X5C_JWT_LEN`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_holder::registration::metadata::validate;
use tessera_jose::Alg;
use tessera_udap::{MAX_X5C_JWT_LEN, X5cJwt};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(jwt) = X5cJwt::decode(text.trim(), &[Alg::Es256, Alg::Es384, Alg::Rs256])
    {
        assert!(text.trim().len() <= MAX_X5C_JWT_LEN);
        assert!(!jwt.chain().is_empty());
        let _ = jwt.distribution_points();
        let _ = validate(jwt.unverified_claims(), true);
    }
    if let Ok(serde_json::Value::Object(body)) = serde_json::from_slice(data) {
        let _ = validate(&body, false);
    }
});
