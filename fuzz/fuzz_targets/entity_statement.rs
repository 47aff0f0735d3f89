//! Fuzz target: OpenID Federation entity statements as a resolver fetches them
//! (`tessera_federation::statement::EntityStatement::parse`: typ, alg allow-list, `kid`,
//! claim shapes, `crit`, metadata policies), and `parse_jwks` of JSON values.
//!
//! Checks, beyond "no panic": a parsed statement has `iss` and `sub`, and the input was within
//! the length bound given to the parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_federation::statement::{EntityStatement, parse_jwks};

const MAX_LEN: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(statement) = EntityStatement::parse(text.trim(), MAX_LEN)
    {
        assert!(text.trim().len() <= MAX_LEN);
        assert!(!statement.iss.is_empty() && !statement.sub.is_empty());
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = parse_jwks(&value, "jwks");
    }
});
