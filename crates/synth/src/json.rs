//! Canonical JSON text: stable key order whatever `serde_json`'s map implementation is.
//!
//! `serde_json::Map` is a `BTreeMap` unless some crate in the build enables the
//! `preserve_order` feature, which silently turns it into an insertion-ordered map. Our
//! promise is byte-identical output for the same inputs, so we never rely on either: objects
//! are written with `resourceType`, `id`, `meta` first (as FHIR JSON is usually read) and
//! every other key in byte order.

use serde_json::Value;

const FIRST_KEYS: [&str; 3] = ["resourceType", "id", "meta"];

/// Compact (one line) canonical JSON.
pub fn to_compact(value: &Value) -> String {
    let mut out = String::with_capacity(1024);
    write_value(&mut out, value, None);
    out
}

/// Pretty (two-space indented) canonical JSON with a trailing newline.
pub fn to_pretty(value: &Value) -> String {
    let mut out = String::with_capacity(4096);
    write_value(&mut out, value, Some(0));
    out.push('\n');
    out
}

fn write_value(out: &mut String, value: &Value, indent: Option<usize>) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
            if keys.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (n, key) in keys.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                newline(out, indent.map(|i| i + 1));
                write_str(out, key);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                if let Some(child) = map.get(*key) {
                    write_value(out, child, indent.map(|i| i + 1));
                }
            }
            newline(out, indent);
            out.push('}');
        }
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                newline(out, indent.map(|i| i + 1));
                write_value(out, item, indent.map(|i| i + 1));
            }
            newline(out, indent);
            out.push(']');
        }
        leaf => write_leaf(out, leaf),
    }
}

fn rank(key: &str) -> usize {
    FIRST_KEYS
        .iter()
        .position(|k| *k == key)
        .unwrap_or(FIRST_KEYS.len())
}

fn newline(out: &mut String, indent: Option<usize>) {
    if let Some(level) = indent {
        out.push('\n');
        for _ in 0..level {
            out.push_str("  ");
        }
    }
}

fn write_leaf(out: &mut String, value: &Value) {
    match value {
        Value::String(s) => write_str(out, s),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        // Numbers go through serde_json so their text is exactly what `to_string` gives.
        Value::Number(_) => out.push_str(&serde_json::to_string(value).unwrap_or_default()),
        _ => out.push_str("null"),
    }
}

/// A JSON string literal, escaped as `serde_json` does (RFC 8259 §7).
fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resource_keys_first_then_sorted() {
        let v = json!({"zeta": 1, "id": "x", "alpha": [1, {"b": 2, "a": "é\"\n"}], "resourceType": "Patient", "meta": {}});
        assert_eq!(
            to_compact(&v),
            r#"{"resourceType":"Patient","id":"x","meta":{},"alpha":[1,{"a":"é\"\n","b":2}],"zeta":1}"#
        );
        let pretty = to_pretty(&v);
        assert!(pretty.starts_with("{\n  \"resourceType\": \"Patient\",\n  \"id\": \"x\""));
        assert_eq!(serde_json::from_str::<Value>(&pretty).unwrap(), v);
    }

    #[test]
    fn strings_escape_like_serde_json() {
        for s in [
            "plain",
            "quote\" back\\ nl\n cr\r tab\t bs\u{08} ff\u{0c} nul\u{0} us\u{1f}",
            "é ü 中 🎉",
            "</script>",
        ] {
            let mut out = String::new();
            write_str(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap());
        }
    }

    #[test]
    fn numbers_are_stable() {
        assert_eq!(to_compact(&json!([7.2, 95, 0.1, -3])), "[7.2,95,0.1,-3]");
    }
}
