//! Bounded JSON parsing: size and nesting depth are checked on the raw bytes before serde
//! sees them, so a hostile token cannot make the parser recurse or allocate without bound.

use serde_json::{Map, Value};

use crate::JoseError;

/// Returns the maximum nesting depth of `{`/`[` in a JSON text, ignoring brackets inside
/// strings. Malformed JSON is not detected here (serde does that next); the scan only has to
/// be right for well-formed input and terminate on anything.
pub fn nesting_depth(bytes: &[u8]) -> usize {
    let mut depth = 0usize;
    let mut max = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Parses a JSON object after checking its nesting depth.
pub fn parse_object(
    bytes: &[u8],
    max_depth: usize,
    what: &'static str,
) -> Result<Map<String, Value>, JoseError> {
    if nesting_depth(bytes) > max_depth {
        return Err(JoseError::TooDeep);
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JoseError::InvalidJson(what)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_ignores_brackets_in_strings() {
        assert_eq!(nesting_depth(br#"{"a":"[[[{{{\"]]"}"#), 1);
        assert_eq!(nesting_depth(br#"{"a":[{"b":[]}]}"#), 4);
        assert_eq!(nesting_depth(b"1"), 0);
    }

    #[test]
    fn rejects_deep_and_non_objects() {
        let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
        assert_eq!(
            parse_object(deep.as_bytes(), 32, "payload"),
            Err(JoseError::TooDeep)
        );
        assert_eq!(
            parse_object(b"[]", 32, "payload"),
            Err(JoseError::InvalidJson("payload"))
        );
        assert!(parse_object(br#"{"a":1}"#, 32, "payload").is_ok());
    }
}
