//! The one `check()` of this boundary: (token, keys, now, options) → expected outcome as JSON
//! (`{"ok": true}` or `{"error": code, "error_description": text}`).

use std::path::PathBuf;

use serde_json::{Value, json};
use tessera_ticket::{JwkSet, VerifyOptions, verify};

pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test-vectors")
}

pub fn read(rel: &str) -> String {
    let path = vectors_dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn keys(rel: &str) -> JwkSet {
    JwkSet::from_json_set_or_key(read(rel).as_bytes()).unwrap()
}

/// Runs the one-shot verifier and renders the outcome the way the vectors record it.
pub fn outcome(token: &str, keys: &JwkSet, now: i64, opts: &VerifyOptions) -> Value {
    match verify(token.trim(), keys, now, opts) {
        Ok(_) => json!({"ok": true}),
        Err(e) => {
            let (code, description) = e.oauth_error();
            json!({"error": code, "error_description": description})
        }
    }
}

/// Asserts the outcome, naming the case on failure.
pub fn check(
    case: &str,
    token: &str,
    keys: &JwkSet,
    now: i64,
    opts: &VerifyOptions,
    expected: &Value,
) {
    let actual = outcome(token, keys, now, opts);
    assert_eq!(&actual, expected, "case {case}");
}
