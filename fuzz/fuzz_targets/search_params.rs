//! Fuzz target: FHIR search parsing (`tessera_fhir::parse_search`) over a query string decoded
//! exactly as the FHIR API decodes it (`application/x-www-form-urlencoded`), and the paging
//! links the API builds from an accepted search (`_count` and the keyset `_cursor`).
//!
//! Input layout (UTF-8): first line = resource type, where a single byte selects one of the
//! registry's types so the fuzzer reaches parameter parsing quickly; the rest is the query.
//! Checks, beyond "no panic": an accepted query names the requested type, keeps its page size
//! within `MAX_COUNT`, and never accepts a parameter the registry does not define for the type
//! (no modifier, no `_include`/`_has`/chaining, nothing silently ignored: every criterion is a
//! clause); a paging link built from it (as `crates/holder/src/fhir/search.rs` `page_url`
//! does: criteria, then `_summary=count` or `_count`, then `_cursor`) re-parses to the same
//! criteria, page size and cursor, so following `next` can never change what is searched.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_fhir::{MAX_COUNT, RESOURCES, SearchQuery, parse_search, resource_def};
use url::form_urlencoded;

/// The paging link's query, built like the holder's `page_url`.
fn page_query(q: &SearchQuery, cursor: Option<i64>) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &q.criteria {
        ser.append_pair(k, v);
    }
    if q.summary_count {
        ser.append_pair("_summary", "count");
    } else {
        ser.append_pair("_count", &q.count.to_string());
    }
    if let Some(c) = cursor {
        ser.append_pair("_cursor", &c.to_string());
    }
    ser.finish()
}

fn decode(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let (head, rest) = input.split_once('\n').unwrap_or((input, ""));
    let resource_type = match head.as_bytes() {
        [b] if !RESOURCES.is_empty() => RESOURCES[usize::from(*b) % RESOURCES.len()].resource_type,
        _ => head,
    };
    let pairs = decode(rest);
    let Ok(q) = parse_search(resource_type, &pairs) else {
        return;
    };
    assert_eq!(q.resource_type, resource_type);
    assert!(q.count <= MAX_COUNT);
    let def = resource_def(resource_type).expect("an accepted type is in the registry");
    assert_eq!(q.criteria.len(), q.clauses.len());
    for ((name, _), clause) in q.criteria.iter().zip(&q.clauses) {
        assert_eq!(
            name, clause.param,
            "criterion is the clause's own parameter"
        );
        let defined = matches!(name.as_str(), "_id" | "_lastUpdated") || def.param(name).is_some();
        assert!(
            defined,
            "accepted undefined parameter {name:?} on {resource_type}"
        );
    }
    for (name, _) in &pairs {
        let control = matches!(
            name.as_str(),
            "_count" | "_summary" | "_total" | "_format" | "_cursor"
        );
        assert!(control || q.criteria.iter().any(|(n, _)| n == name));
    }
    for cursor in [q.cursor, None, Some(i64::MAX), Some(i64::MIN)] {
        let again = parse_search(resource_type, &decode(&page_query(&q, cursor)))
            .expect("a paging link re-parses");
        assert_eq!(again.clauses, q.clauses);
        assert_eq!(again.criteria, q.criteria);
        assert_eq!(again.summary_count, q.summary_count);
        assert_eq!(again.cursor, cursor);
        if !q.summary_count {
            assert_eq!(again.count, q.count);
        }
    }
});
