//! The checklist the kit's IDs come from (the repository's copy), and the skip list: requirements
//! the kit does not test black-box, each with its reason, readable and editable by the operator
//! (like rustls's BoGo skip list). An operator's list replaces the built-in one.

use std::collections::BTreeMap;

/// The checklist (test-vectors/conformance/checklist.md).
pub const CHECKLIST: &str = include_str!("../../../test-vectors/conformance/checklist.md");
/// The built-in skip list.
pub const DEFAULT_SKIPS: &str = include_str!("../skips.toml");

/// Every requirement ID of the checklist, in order, with its section title.
pub fn requirements() -> Vec<(String, String)> {
    let mut section = String::new();
    let mut out = Vec::new();
    for line in CHECKLIST.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            section = h.trim().to_owned();
        } else if let Some(rest) = line.strip_prefix("| PT-")
            && let Some(id) = rest.split('|').next()
        {
            out.push((format!("PT-{}", id.trim()), section.clone()));
        }
    }
    out
}

/// The section title of an ID (`PT-VAL-12` ⇒ "4. Ticket parsing, …").
pub fn section_of(id: &str) -> String {
    let prefix = id.rsplit_once('-').map_or(id, |(p, _)| p);
    requirements()
        .into_iter()
        .find(|(r, _)| r.rsplit_once('-').is_some_and(|(p, _)| p == prefix))
        .map_or_else(|| "Other".to_owned(), |(_, s)| s)
}

/// Parses a skip list: `"PT-XXX-NN" = "reason"` lines (TOML).
pub fn parse_skips(text: &str) -> Result<BTreeMap<String, String>, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| format!("skip list: {e}"))?;
    let known: Vec<String> = requirements().into_iter().map(|(id, _)| id).collect();
    let mut out = BTreeMap::new();
    for (id, reason) in table {
        let Some(reason) = reason.as_str().filter(|r| !r.trim().is_empty()) else {
            return Err(format!("skip list: {id} needs a non-empty reason string"));
        };
        if !known.contains(&id) {
            return Err(format!("skip list: {id} is not a checklist ID"));
        }
        out.insert(id, reason.to_owned());
    }
    Ok(out)
}
