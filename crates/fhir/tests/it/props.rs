//! Property test: search parsing never panics on whatever a client puts in a query string or
//! `_search` body (style.md §14; the `search_params` fuzz target explores the same surface
//! without bounds). Inputs mix registry names, modifiers, prefixes and separators with
//! arbitrary text so most cases reach per-kind value parsing rather than failing on the name.

use proptest::prelude::*;
use tessera_fhir::{MAX_COUNT, RESOURCES, parse_search};

const CONTROLS: [&str; 12] = [
    "_id",
    "_lastUpdated",
    "_count",
    "_summary",
    "_total",
    "_format",
    "_cursor",
    "_include",
    "_revinclude",
    "_sort",
    "_elements",
    "_has",
];
const MODIFIERS: [&str; 9] = [
    "",
    ":exact",
    ":contains",
    ":missing",
    ":not",
    ":text",
    ":identifier",
    ":Patient",
    ":",
];
const PIECES: [&str; 14] = [
    "eq", "ne", "ge", "le", "gt", "lt", "sa", "eb", "ap", "|", ",", "$", "\\", "-",
];

fn resource_type() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (0..RESOURCES.len()).prop_map(|i| RESOURCES[i].resource_type.to_owned()),
        1 => "[A-Za-z]{0,12}",
    ]
}

fn name() -> impl Strategy<Value = String> {
    let registered: Vec<&'static str> = RESOURCES
        .iter()
        .flat_map(|d| d.params.iter().map(|p| p.name))
        .collect();
    let base = prop_oneof![
        3 => prop::sample::select(registered).prop_map(str::to_owned),
        2 => prop::sample::select(&CONTROLS[..]).prop_map(str::to_owned),
        1 => "[ -~]{0,8}",
    ];
    (base, prop::sample::select(&MODIFIERS[..])).prop_map(|(b, m)| format!("{b}{m}"))
}

fn value() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(&PIECES[..]).prop_map(str::to_owned),
        "[0-9]{1,4}",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2}))?",
        "[A-Za-z]{1,10}/[A-Za-z0-9.-]{0,8}",
        "[ -~]{0,10}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..6).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_search_never_panics(
        rtype in resource_type(),
        pairs in prop::collection::vec((name(), value()), 0..8),
    ) {
        if let Ok(q) = parse_search(&rtype, &pairs) {
            prop_assert_eq!(q.resource_type, rtype.as_str());
            prop_assert!(q.count <= MAX_COUNT);
        }
    }

    #[test]
    fn parse_search_never_panics_on_arbitrary_pairs(
        rtype in any::<String>(),
        pairs in prop::collection::vec((any::<String>(), any::<String>()), 0..40),
    ) {
        let _ = parse_search(&rtype, &pairs);
        if let Some(def) = RESOURCES.first() {
            let _ = parse_search(def.resource_type, &pairs);
        }
    }
}
