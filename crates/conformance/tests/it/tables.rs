//! The kit's tables: unique (ID, case) pairs, every ID a checklist ID, every checklist ID
//! either tested by the kit or in the skip list with a reason.

use std::collections::BTreeSet;

use tessera_conformance::checklist::{DEFAULT_SKIPS, parse_skips, requirements};
use tessera_conformance::{check_ids, selected};

#[test]
fn cases_are_unique_and_name_checklist_ids() {
    let known: BTreeSet<String> = requirements().into_iter().map(|(id, _)| id).collect();
    let mut seen = BTreeSet::new();
    for (id, case) in check_ids() {
        assert!(known.contains(id), "{id} is not a checklist ID");
        assert!(seen.insert((id, case)), "{id}/{case} twice");
    }
}

#[test]
fn every_requirement_is_tested_or_skipped_with_a_reason() {
    let skips = parse_skips(DEFAULT_SKIPS).unwrap();
    let tested: BTreeSet<&str> = check_ids().into_iter().map(|(id, _)| id).collect();
    let mut missing = Vec::new();
    for (id, _) in requirements() {
        let is_tested = tested.contains(id.as_str());
        assert!(
            !(is_tested && skips.contains_key(&id)),
            "{id} is tested by the kit and in its skip list"
        );
        if !is_tested && !skips.contains_key(&id) {
            missing.push(id);
        }
    }
    assert!(
        missing.is_empty(),
        "neither tested nor skipped: {missing:?}"
    );
}

#[test]
fn only_selects_ids_and_id_prefixes() {
    let only = vec!["PT-VAL".to_owned(), "PT-BIND-02".to_owned()];
    assert!(selected(&only, "PT-VAL-12"));
    assert!(selected(&only, "PT-BIND-02"));
    assert!(!selected(&only, "PT-BIND-01"));
    // A prefix ends at a dash: `PT-RE` selects neither PT-REQ nor PT-REV rows.
    assert!(!selected(&["PT-RE".to_owned()], "PT-REV-01"));
    assert!(selected(&[], "PT-RS-01"));
}
