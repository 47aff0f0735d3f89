//! `data_holder_filter`: does this Data Holder, as a whole, match any entry? (constraints.md
//! §5, OP-25). Evaluated once, at presentation, against the configured [`HolderProfile`].

use tessera_ticket::claims::HolderFilterEntry;

use crate::error::AccessError;
use crate::policy::HolderProfile;

/// Upper bound on filter entries and on identifiers per organization entry.
pub const MAX_FILTER_ENTRIES: usize = 64;

/// The three outcomes of one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryMatch {
    Yes,
    No,
    /// The entry needs a fact the profile does not configure.
    Indeterminate,
}

/// Checks the filter: any entry matching suffices (PT-DHF-03); otherwise an indeterminate
/// entry makes the whole answer indeterminate (PT-DHF-09), else it is a mismatch (PT-DHF-02).
/// Malformed entries are rejected before matching (PT-DHF-08).
pub fn check_holder_filter(
    entries: &[HolderFilterEntry],
    holder: &HolderProfile,
) -> Result<(), AccessError> {
    let malformed = || AccessError::MalformedTicket("access.data_holder_filter");
    if entries.is_empty() || entries.len() > MAX_FILTER_ENTRIES {
        return Err(malformed());
    }
    let mut results = Vec::with_capacity(entries.len());
    for entry in entries {
        results.push(match_entry(entry, holder).ok_or_else(malformed)?);
    }
    if results.contains(&EntryMatch::Yes) {
        Ok(())
    } else if results.contains(&EntryMatch::Indeterminate) {
        Err(AccessError::Unenforceable("data_holder_filter"))
    } else {
        Err(AccessError::HolderNotInFilter)
    }
}

/// `None` = malformed entry.
fn match_entry(entry: &HolderFilterEntry, holder: &HolderProfile) -> Option<EntryMatch> {
    let verdict = |hit: bool| if hit { EntryMatch::Yes } else { EntryMatch::No };
    match entry {
        HolderFilterEntry::Jurisdiction { address } => {
            let country = address.country.as_deref().filter(|c| !c.trim().is_empty());
            let state = address.state.as_deref().filter(|s| !s.trim().is_empty());
            if country.is_none() && state.is_none() {
                return None;
            }
            if holder.jurisdictions.is_empty() {
                return Some(EntryMatch::Indeterminate);
            }
            let eq = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
            Some(verdict(holder.jurisdictions.iter().any(|(hc, hs)| {
                // A country-only entry matches every state of that country; an entry with a
                // state needs a Data Holder jurisdiction in that state (a country-wide Data
                // Holder is not "in" one state).
                country.is_none_or(|c| eq(c, hc))
                    && state.is_none_or(|s| hs.as_deref().is_some_and(|h| eq(s, h)))
            })))
        }
        HolderFilterEntry::Organization { organization } => {
            if organization.is_empty() || organization.len() > MAX_FILTER_ENTRIES {
                return None;
            }
            let mut ids = Vec::with_capacity(organization.len());
            for org in organization {
                let system = org.identifier.system.as_deref().filter(|s| !s.is_empty())?;
                let value = org.identifier.value.as_deref().filter(|v| !v.is_empty())?;
                ids.push((system, value));
            }
            if holder.organization_identifiers.is_empty() {
                return Some(EntryMatch::Indeterminate);
            }
            Some(verdict(ids.iter().any(|(s, v)| {
                holder
                    .organization_identifiers
                    .iter()
                    .any(|(hs, hv)| hs == s && hv == v)
            })))
        }
    }
}
