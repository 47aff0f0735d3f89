//! Fuzz target: the token endpoint's body parsing (`tessera_holder::token::request::FormParams`),
//! the first code an unauthenticated peer reaches.
//!
//! The first input byte picks the `Content-Type` (including absent and wrong ones), the rest is
//! the body. Checks, beyond "no panic": an accepted body stays within the parameter bound and
//! every decoded name round-trips through `get` (empty values count as absent, RFC 6749 §3.1).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_holder::token::request::{FormParams, MAX_PARAMS};

const CONTENT_TYPES: [Option<&str>; 5] = [
    Some("application/x-www-form-urlencoded"),
    Some("Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
    Some("application/json"),
    Some(""),
    None,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()];
    let Ok(params) = FormParams::parse(content_type, body) else {
        return;
    };
    let mut seen = 0;
    for (k, v) in url::form_urlencoded::parse(body) {
        seen += 1;
        assert_eq!(params.get(&k), Some(v.as_ref()).filter(|v| !v.is_empty()));
    }
    assert!(seen <= MAX_PARAMS);
});
