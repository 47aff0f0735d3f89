//! An independent reference for search parameters over raw FHIR JSON: the values a resource
//! carries at a parameter's paths, search values built from them, and which resources a value
//! matches. Deliberately written apart from tessera-fhir's index extraction, so the store's and
//! the API's answers are checked against the JSON itself. (Also compiled into the Data Holder's
//! tests, which check the same parameters over HTTP.)

use serde_json::Value;
use tessera_fhir::{DatePrefix, ParamKind, SearchParam, parse_date_range};

/// Every value at a dotted `path`, arrays flattened at each step.
pub fn at<'a>(resource: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut current = vec![resource];
    for key in path.split('.') {
        current = current
            .into_iter()
            .filter_map(|v| v.get(key))
            .flat_map(|v| match v {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            })
            .collect();
    }
    current
}

/// The `(system, code)` tokens of one element: a code string, a CodeableConcept, a Coding or
/// an Identifier.
fn tokens(v: &Value) -> Vec<(Option<String>, String)> {
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    match v {
        Value::String(code) => vec![(None, code.clone())],
        Value::Object(_) if v.get("coding").is_some() => v["coding"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| Some((s(c, "system"), s(c, "code")?)))
            .collect(),
        Value::Object(_) if v.get("value").is_some() => s(v, "value")
            .map(|val| (s(v, "system"), val))
            .into_iter()
            .collect(),
        Value::Object(_) => s(v, "code")
            .map(|c| (s(v, "system"), c))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// The strings of one element: a string, or a HumanName's parts.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Object(_) => ["family", "given", "text", "prefix", "suffix"]
            .iter()
            .flat_map(|k| at(v, k))
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The `(lo, hi)` unix-second range of one date element: a date/dateTime/instant, or a Period
/// (an open end is unbounded).
fn range(v: &Value) -> Option<(i64, i64)> {
    match v {
        Value::String(s) => parse_date_range(s).ok().map(|r| (r.lo, r.hi)),
        Value::Object(_) => {
            let end = |k: &str| {
                v.get(k)
                    .and_then(Value::as_str)
                    .and_then(|s| parse_date_range(s).ok())
            };
            let (start, stop) = (end("start"), end("end"));
            if start.is_none() && stop.is_none() {
                return None;
            }
            Some((
                start.map_or(i64::MIN, |r| r.lo),
                stop.map_or(i64::MAX, |r| r.hi),
            ))
        }
        _ => None,
    }
}

fn elements<'a>(param: &SearchParam, resource: &'a Value) -> Vec<&'a Value> {
    param.paths.iter().flat_map(|p| at(resource, p)).collect()
}

/// The references of `param` in `resource`, only those to its target type if it has one.
fn references<'a>(param: &SearchParam, resource: &'a Value) -> Vec<&'a str> {
    elements(param, resource)
        .into_iter()
        .filter_map(|v| v.get("reference").and_then(Value::as_str))
        .filter(|r| param.target.is_none_or(|t| r.split('/').next() == Some(t)))
        .collect()
}

/// Search values for `param` taken from `resource` (each one a value the resource matches).
pub fn values_of(param: &SearchParam, resource: &Value) -> Vec<String> {
    let els = elements(param, resource);
    match param.kind {
        ParamKind::Token => els
            .iter()
            .flat_map(|v| tokens(v))
            .map(|(system, code)| match system {
                Some(s) => format!("{s}|{code}"),
                None => code,
            })
            .collect(),
        ParamKind::String => els
            .iter()
            .flat_map(|v| strings(v))
            .filter(|s| s.chars().count() >= 3)
            .map(|s| s.chars().take(3).collect::<String>().to_lowercase())
            .collect(),
        ParamKind::Date => els
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.as_str()),
                _ => v.get("start").and_then(Value::as_str),
            })
            .filter_map(|s| s.get(..10))
            .map(str::to_owned)
            .collect(),
        ParamKind::Reference => references(param, resource)
            .into_iter()
            .map(str::to_owned)
            .collect(),
    }
}

/// Whether `resource` matches `param=value` (no modifier, no prefix, one value).
pub fn matches(param: &SearchParam, value: &str, resource: &Value) -> bool {
    let els = elements(param, resource);
    match param.kind {
        ParamKind::Token => {
            let (system, code) = match value.split_once('|') {
                Some((s, c)) => (Some(s), c),
                None => (None, value),
            };
            els.iter().flat_map(|v| tokens(v)).any(|(s, c)| {
                c == code
                    && match system {
                        None => true,
                        Some("") => s.is_none(),
                        Some(want) => s.as_deref() == Some(want),
                    }
            })
        }
        ParamKind::String => els
            .iter()
            .flat_map(|v| strings(v))
            .any(|s| s.to_lowercase().starts_with(&value.to_lowercase())),
        ParamKind::Date => {
            let Ok(search) = parse_date_range(value) else {
                return false;
            };
            els.iter().filter_map(|v| range(v)).any(|(lo, hi)| {
                let target = tessera_fhir::DateRange { lo, hi };
                DatePrefix::Eq.matches(search, target)
            })
        }
        ParamKind::Reference => references(param, resource).into_iter().any(|r| {
            if value.contains('/') {
                r == value
            } else {
                r.rsplit('/').next() == Some(value)
            }
        }),
    }
}
