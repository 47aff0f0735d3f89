//! Property test: the token request's form parsing (`FormParams::parse`, the first code an
//! unauthenticated peer reaches at `/token` and `/introspect`) never panics, and what it
//! accepts is exactly the decoded form (style.md §14; the `token_request` fuzz target explores
//! the same surface without bounds).

use proptest::prelude::*;
use tessera_holder::token::request::{FormParams, MAX_PARAMS};

const CONTENT_TYPES: [Option<&str>; 6] = [
    Some("application/x-www-form-urlencoded"),
    Some("APPLICATION/x-www-form-urlencoded ; charset=utf-8"),
    Some("application/json"),
    Some(";"),
    Some(""),
    None,
];
const PIECES: [&str; 14] = [
    "grant_type",
    "subject_token",
    "scope",
    "client_assertion",
    "=",
    "&",
    "%",
    "%2",
    "%26",
    "%3D",
    "%FF",
    "+",
    "%C3%A9",
    "%00",
];

fn form_body() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        prop::sample::select(&PIECES[..]).prop_map(|p| p.as_bytes().to_vec()),
        "[a-z_]{1,8}".prop_map(String::into_bytes),
        any::<Vec<u8>>(),
    ];
    prop::collection::vec(piece, 0..48).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn form_parsing_never_panics(ct in 0..CONTENT_TYPES.len(), body in form_body()) {
        let parsed = FormParams::parse(CONTENT_TYPES[ct], &body);
        if let Ok(params) = parsed {
            let decoded: Vec<_> = url::form_urlencoded::parse(&body).collect();
            prop_assert!(decoded.len() <= MAX_PARAMS);
            for (k, v) in decoded {
                prop_assert_eq!(params.get(&k), Some(v.as_ref()).filter(|v| !v.is_empty()));
            }
        }
    }

    #[test]
    fn form_parsing_never_panics_on_arbitrary_bytes(ct in any::<Option<String>>(), body in any::<Vec<u8>>()) {
        let _ = FormParams::parse(ct.as_deref(), &body);
        let _ = FormParams::parse(Some("application/x-www-form-urlencoded"), &body);
    }
}
