//! The kit's own tests: its tables against the checklist, its reports, and a deliberately
//! wrong server that must fail exactly the matching IDs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod b2b;
mod hostile;
mod parties;
mod tables;

/// The kit runs on real time, like its operator.
#[allow(clippy::disallowed_methods)]
pub fn wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// How many cases `--only ids` selects: what a run over them must report, one outcome each.
pub fn cases_selected_by(ids: &[&str]) -> usize {
    let only: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    tessera_conformance::check_ids()
        .iter()
        .filter(|(id, _)| tessera_conformance::selected(&only, id))
        .count()
}

/// The outcome is a skip whose reason starts "needs setup:" and names `section`.
pub fn assert_needs_setup(o: &tessera_conformance::report::Outcome, section: &str) {
    assert_eq!(
        o.status,
        tessera_conformance::Status::Skip,
        "{}/{}: {}",
        o.id,
        o.case,
        o.detail
    );
    assert!(
        o.detail.starts_with("needs setup:") && o.detail.contains(section),
        "{}/{}: {}",
        o.id,
        o.case,
        o.detail
    );
}
