//! Regression tests for findings of the fuzz targets (fuzz/README.md), one per finding, each
//! naming its target; the figures and the finding's story are in docs/security.md.

use tessera_fhir::{MAX_COUNT, SearchError, parse_search};

fn repeat(name: &str, value: &str, n: usize) -> Vec<(String, String)> {
    vec![(name.to_owned(), value.to_owned()); n]
}

/// The decoded pairs of the paging link the FHIR API builds (criteria, `_count`, `_cursor`).
fn next_link(criteria: &[(String, String)], count: u32, cursor: i64) -> Vec<(String, String)> {
    let mut pairs = criteria.to_vec();
    pairs.push(("_count".to_owned(), count.to_string()));
    pairs.push(("_cursor".to_owned(), cursor.to_string()));
    pairs
}

// Fuzz target `search_params` (finding 1): a search with the most criteria accepted got a
// `next` link that added `_count` and `_cursor` and so went over the parameter bound: the
// client could not follow its own paging link (400 "search too large"). PT-RS-03: paging
// links carry exactly the criteria, so following them must search the same thing.
#[test]
fn pt_rs_03_paging_link_of_a_maximal_search_reparses() {
    let mut pairs = repeat("patient", "p1", 31);
    pairs.push(("_count".to_owned(), "10".to_owned()));
    let q = parse_search("Observation", &pairs).unwrap();
    assert_eq!(q.criteria.len(), 31);
    let again = parse_search("Observation", &next_link(&q.criteria, q.count, 42))
        .expect("the next link of an accepted search is itself accepted");
    assert_eq!(again.clauses, q.clauses);
    assert_eq!((again.count, again.cursor), (10, Some(42)));

    let q = parse_search("Observation", &repeat("patient", "p1", 32)).unwrap();
    let again = parse_search("Observation", &next_link(&q.criteria, MAX_COUNT, 7))
        .expect("32 criteria plus the paging controls");
    assert_eq!(again.criteria, q.criteria);
}

// The bound itself still holds: more criteria than the bound, or a flood of repeated control
// parameters, is refused.
#[test]
fn search_parameter_bounds_still_refuse_floods() {
    for pairs in [repeat("patient", "p1", 33), repeat("_count", "1", 64)] {
        assert!(matches!(
            parse_search("Observation", &pairs),
            Err(SearchError::TooLarge(_))
        ));
    }
}
