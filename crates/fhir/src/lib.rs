//! FHIR R4 knowledge: the search-parameter registry, index extraction and search-query parsing.
//! Pure: no I/O, no HTTP, no storage.
//!
//! Storage backends index what [`extract_index`] yields and evaluate what [`parse_search`]
//! returns; the HTTP layer only decodes pairs and maps [`SearchError`] to OperationOutcome.

pub mod date;
mod index;
mod query;
mod registry;

pub use date::{DateError, DatePrefix, DateRange, parse_date_range};
pub use index::{IndexEntry, IndexValue, extract_index, normalize_string, split_reference};
pub use query::{
    Clause, ClauseValues, DEFAULT_COUNT, DateValue, MAX_COUNT, RefValue, SearchError, SearchQuery,
    TokenValue, parse_search,
};
pub use registry::{ParamKind, RESOURCES, ResourceDef, SearchParam, resource_def};

/// Is `s` a valid FHIR logical id (`[A-Za-z0-9\-\.]{1,64}`)?
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}
