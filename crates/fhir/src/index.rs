//! Extraction of search-index entries from a resource, driven by the registry table.
//!
//! Hand-written accessors over `serde_json::Value` (no typed FHIR model): we only need the
//! handful of element shapes our parameters touch. Values that do not parse (a malformed
//! date, say) are skipped rather than failing ingest: they simply cannot be found by that
//! parameter, which is the FHIR server behaviour for unindexable data.

use serde_json::Value;

use crate::date::{DateRange, MAX_INSTANT, MIN_INSTANT, parse_date_range};
use crate::registry::{ParamKind, SearchParam, resource_def};

/// One indexed value of one parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexValue {
    /// A token; `system` is `None` for plain `code` elements and codings without a system.
    Token {
        /// Code system.
        system: Option<String>,
        /// Code or identifier value.
        code: String,
    },
    /// A closed date range in UTC unix seconds.
    Date(DateRange),
    /// A reference target.
    Reference {
        /// Target resource type.
        target_type: String,
        /// Target logical id.
        target_id: String,
    },
    /// A normalized (lower-cased) string.
    String(String),
}

/// An index row: parameter name plus value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// Parameter name (from the registry).
    pub param: &'static str,
    /// The value.
    pub value: IndexValue,
}

/// All index entries of a resource of a supported type (empty for unsupported types).
pub fn extract_index(resource: &Value) -> Vec<IndexEntry> {
    let Some(def) = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .and_then(resource_def)
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for param in def.params {
        for path in param.paths {
            let mut leaves = Vec::new();
            let segments: Vec<&str> = path.split('.').collect();
            collect(resource, &segments, &mut leaves);
            for leaf in leaves {
                push_values(param, leaf, &mut out);
            }
        }
    }
    out.dedup();
    out
}

/// Normalizes a string for string search: lower case, whitespace collapsed.
pub fn normalize_string(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Splits a reference string into `(type, id)`: `Type/id`, an absolute URL ending in
/// `Type/id`, optionally with `/_history/v`. Contained (`#x`) and `urn:` references yield `None`.
pub fn split_reference(reference: &str) -> Option<(&str, &str)> {
    let base = match reference.find("/_history/") {
        Some(i) => &reference[..i],
        None => reference,
    };
    let mut parts = base.rsplit('/');
    let id = parts.next()?;
    let rtype = parts.next()?;
    let type_ok = rtype.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && rtype.chars().all(|c| c.is_ascii_alphanumeric());
    (type_ok && crate::is_valid_id(id)).then_some((rtype, id))
}

fn collect<'a>(value: &'a Value, path: &[&str], out: &mut Vec<&'a Value>) {
    match (value, path.split_first()) {
        (Value::Array(items), _) => {
            for item in items {
                collect(item, path, out);
            }
        }
        (_, None) => out.push(value),
        (_, Some((seg, rest))) => {
            if let Some(child) = value.get(*seg) {
                collect(child, rest, out);
            }
        }
    }
}

fn push_values(param: &'static SearchParam, leaf: &Value, out: &mut Vec<IndexEntry>) {
    let mut push = |value| {
        out.push(IndexEntry {
            param: param.name,
            value,
        })
    };
    match param.kind {
        ParamKind::Token => {
            for (system, code) in tokens(leaf) {
                push(IndexValue::Token { system, code });
            }
        }
        ParamKind::Date => {
            if let Some(range) = date_of(leaf) {
                push(IndexValue::Date(range));
            }
        }
        ParamKind::Reference => {
            let Some((t, id)) = leaf
                .get("reference")
                .and_then(Value::as_str)
                .and_then(split_reference)
            else {
                return;
            };
            if param.target.is_none_or(|want| want == t) {
                push(IndexValue::Reference {
                    target_type: t.to_owned(),
                    target_id: id.to_owned(),
                });
            }
        }
        ParamKind::String => {
            for s in strings(leaf) {
                push(IndexValue::String(normalize_string(s)));
            }
        }
    }
}

fn tokens(v: &Value) -> Vec<(Option<String>, String)> {
    let system = |o: &Value| o.get("system").and_then(Value::as_str).map(str::to_owned);
    match v {
        Value::String(code) => vec![(None, code.clone())],
        Value::Object(_) => {
            if let Some(Value::Array(codings)) = v.get("coding") {
                codings
                    .iter()
                    .filter_map(|c| Some((system(c), c.get("code")?.as_str()?.to_owned())))
                    .collect()
            } else if let Some(code) = v.get("code").and_then(Value::as_str) {
                vec![(system(v), code.to_owned())]
            } else if let Some(value) = v.get("value").and_then(Value::as_str) {
                vec![(system(v), value.to_owned())]
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    }
}

fn date_of(v: &Value) -> Option<DateRange> {
    match v {
        Value::String(s) => parse_date_range(s).ok(),
        Value::Object(_) => {
            let start = v.get("start").and_then(Value::as_str);
            let end = v.get("end").and_then(Value::as_str);
            if start.is_none() && end.is_none() {
                return None;
            }
            let lo = match start {
                Some(s) => parse_date_range(s).ok()?.lo,
                None => MIN_INSTANT,
            };
            let hi = match end {
                Some(e) => parse_date_range(e).ok()?.hi,
                None => MAX_INSTANT,
            };
            (lo <= hi).then_some(DateRange { lo, hi })
        }
        _ => None,
    }
}

fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Object(o) => {
            // HumanName: every part is searchable by `name`.
            let mut out = Vec::new();
            for key in ["text", "family"] {
                if let Some(s) = o.get(key).and_then(Value::as_str) {
                    out.push(s);
                }
            }
            for key in ["given", "prefix", "suffix"] {
                if let Some(Value::Array(parts)) = o.get(key) {
                    out.extend(parts.iter().filter_map(Value::as_str));
                }
            }
            out
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn observation_entries() {
        let obs = json!({
            "resourceType": "Observation", "id": "o1", "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}, {"code": "x"}]},
            "subject": {"reference": "Patient/p1"},
            "encounter": {"reference": "https://h.example/fhir/Encounter/e1/_history/2"},
            "effectiveDateTime": "2021-10-12"
        });
        let idx = extract_index(&obs);
        let has = |param: &str, value: IndexValue| {
            idx.iter().any(|e| e.param == param && e.value == value)
        };
        assert!(has(
            "code",
            IndexValue::Token {
                system: Some("http://loinc.org".into()),
                code: "4548-4".into()
            }
        ));
        assert!(has(
            "code",
            IndexValue::Token {
                system: None,
                code: "x".into()
            }
        ));
        assert!(has(
            "status",
            IndexValue::Token {
                system: None,
                code: "final".into()
            }
        ));
        let p1 = IndexValue::Reference {
            target_type: "Patient".into(),
            target_id: "p1".into(),
        };
        assert!(has("patient", p1.clone()));
        assert!(has("subject", p1));
        assert!(has(
            "encounter",
            IndexValue::Reference {
                target_type: "Encounter".into(),
                target_id: "e1".into()
            }
        ));
        assert!(idx.iter().any(|e| e.param == "date"));
    }

    #[test]
    fn names_and_periods() {
        let pat = json!({"resourceType": "Patient", "id": "p",
            "name": [{"family": "Reyes", "given": ["Elena", "Marisol"]}], "birthDate": "1989-09-14"});
        let idx = extract_index(&pat);
        let strings: Vec<_> = idx.iter().filter(|e| e.param == "name").collect();
        assert_eq!(strings.len(), 3);
        assert!(idx.contains(&IndexEntry {
            param: "given",
            value: IndexValue::String("marisol".into())
        }));
        let enc =
            json!({"resourceType": "Encounter", "id": "e", "period": {"start": "2021-10-12"}});
        let idx = extract_index(&enc);
        let Some(IndexEntry {
            value: IndexValue::Date(r),
            ..
        }) = idx.iter().find(|e| e.param == "date")
        else {
            panic!("no date");
        };
        assert_eq!(r.hi, MAX_INSTANT);
        assert_eq!(split_reference("urn:uuid:abc"), None);
        assert_eq!(split_reference("#c1"), None);
    }
}
