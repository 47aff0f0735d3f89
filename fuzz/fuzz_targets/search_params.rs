//! Fuzz target: FHIR search parsing (`tessera_fhir::parse_search`) over a resource type and
//! decoded `(name, value)` pairs, as the FHIR API hands them over from a query string or a
//! `_search` form body.
//!
//! Input layout (UTF-8): first line = resource type, where a single byte selects one of the
//! registry's types so the fuzzer reaches parameter parsing quickly; the remainder is split on
//! `&` into pairs and on the first `=` into name and value (no percent-decoding: the pairs are
//! already decoded when `parse_search` sees them). Checks, beyond "no panic": an accepted
//! query names the requested type and keeps its page size within `MAX_COUNT`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_fhir::{MAX_COUNT, RESOURCES, parse_search};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };
    let (head, rest) = input.split_once('\n').unwrap_or((input, ""));
    let resource_type = match head.as_bytes() {
        [b] if !RESOURCES.is_empty() => RESOURCES[usize::from(*b) % RESOURCES.len()].resource_type,
        _ => head,
    };
    let pairs: Vec<(String, String)> = rest
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (n.to_owned(), v.to_owned())
        })
        .collect();
    if let Ok(q) = parse_search(resource_type, &pairs) {
        assert_eq!(q.resource_type, resource_type);
        assert!(q.count <= MAX_COUNT);
    }
});
