//! Helpers shared by the integration tests: small runs and bundle walkers.

use serde_json::Value;
use tessera_synth::{Config, MemorySink, generate};

/// Generate `config` in memory.
pub fn run(config: &Config) -> MemorySink {
    let mut sink = MemorySink::default();
    generate(config, &mut sink).unwrap();
    sink
}

/// Every resource of every bundle of a run, with its bundle path.
pub fn resources(sink: &MemorySink) -> Vec<(String, Value)> {
    sink.bundles()
        .into_iter()
        .flat_map(|(path, bundle)| {
            bundle["entry"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| (path.clone(), e["resource"].clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// All `coding` (system, code) pairs under `value`.
pub fn codings(value: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk(value, &mut |v| {
        if let (Some(s), Some(c)) = (
            v.get("system").and_then(Value::as_str),
            v.get("code").and_then(Value::as_str),
        ) {
            out.push((s.to_owned(), c.to_owned()));
        }
    });
    out
}

/// Visit every object under `value`.
pub fn walk(value: &Value, f: &mut dyn FnMut(&Value)) {
    match value {
        Value::Object(map) => {
            f(value);
            for v in map.values() {
                walk(v, f);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| walk(v, f)),
        _ => {}
    }
}

/// Security label codes of a resource.
pub fn labels(resource: &Value) -> Vec<String> {
    resource["meta"]["security"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|l| l["code"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// True if `resource` has a coding `system|code` anywhere under `field`.
pub fn has_code(resource: &Value, field: &str, system: &str, code: &str) -> bool {
    codings(&resource[field])
        .iter()
        .any(|(s, c)| s == system && c == code)
}

pub const LOINC: &str = "http://loinc.org";
pub const SNOMED: &str = "http://snomed.info/sct";
