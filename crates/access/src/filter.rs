//! The storage-neutral predicate a Grant compiles to, and its in-memory evaluation.
//!
//! This is the contract between the access algebra and every storage backend: a backend
//! indexes each resource's [`ResourceFacts`] at ingest and translates a [`Filter`] into its
//! query language, so that searches, paging and counts see only released resources. The
//! in-memory [`Filter::matches`] is the reference semantics; backends must agree with it
//! (each backend's test suite checks that on generated resources).

use crate::facts::{ResourceFacts, Token};

/// Which indexed token dimension a [`Filter::Token`] looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenDim {
    /// The resource's primary code (e.g. `Observation.code`, `Condition.code`).
    Code,
    /// The resource's category (e.g. `Observation.category`, `Condition.category`).
    Category,
    /// `meta.security` labels.
    Security,
}

/// A predicate over a resource's [`ResourceFacts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// Matches every resource.
    All,
    /// Matches no resource.
    Nothing,
    /// All of the parts hold.
    And(Vec<Filter>),
    /// At least one of the parts holds.
    Or(Vec<Filter>),
    /// The part does not hold.
    Not(Box<Filter>),
    /// The resource is in this local patient's compartment (the Patient itself, or a resource
    /// whose subject/patient reference points at it).
    PatientIs(String),
    /// The resource carries a token in `dim` matching `system`/`code` with FHIR token
    /// semantics: `system: None` matches any system; `Some("")` matches only codes without a
    /// system; otherwise both must be equal.
    Token {
        /// Dimension searched.
        dim: TokenDim,
        /// Code system constraint.
        system: Option<String>,
        /// The code.
        code: String,
    },
    /// The resource's designated clinical date (a closed range in UTC unix seconds, widened
    /// to its FHIR precision at ingest) overlaps `[start, end]`. `None` bounds are open.
    /// A resource without a designated date does not match.
    ClinicalDateOverlaps {
        /// Inclusive lower bound.
        start: Option<i64>,
        /// Inclusive upper bound.
        end: Option<i64>,
    },
    /// The resource is one of these Encounters or references one of them.
    EncounterIn(Vec<String>),
    /// The resource is judged currently relevant (active allergy, active problem-list
    /// condition, active medication) from its own content.
    CurrentlyRelevant,
    /// The resource carries at least one `meta.security` label that is *not* exactly
    /// (`system` and `code` both equal, a missing system only equal to a missing system) one
    /// of these. Used, negated, to withhold everything not known to be releasable
    /// (`sensitivity_withhold.unlisted`: uncertain classification ⇒ withhold, PT-SENS-05).
    /// SQL: `EXISTS (label of resource WHERE (system, code) NOT IN allowed)`.
    SecurityLabelOutside(Vec<Token>),
    /// The resource's logical id is one of these (supporting resources referenced by released
    /// data, PT-RS-02). Empty = nothing. SQL: `r.id IN (…)`.
    IdIn(Vec<String>),
}

impl Filter {
    /// Reference semantics: does a resource with these facts satisfy the filter?
    pub fn matches(&self, facts: &ResourceFacts) -> bool {
        match self {
            Filter::All => true,
            Filter::Nothing => false,
            Filter::And(parts) => parts.iter().all(|p| p.matches(facts)),
            Filter::Or(parts) => parts.iter().any(|p| p.matches(facts)),
            Filter::Not(part) => !part.matches(facts),
            Filter::PatientIs(id) => facts.patient.as_deref() == Some(id.as_str()),
            Filter::Token { dim, system, code } => {
                let tokens: &[Token] = match dim {
                    TokenDim::Code => &facts.codes,
                    TokenDim::Category => &facts.categories,
                    TokenDim::Security => &facts.security,
                };
                tokens.iter().any(|t| t.matches(system.as_deref(), code))
            }
            Filter::ClinicalDateOverlaps { start, end } => match facts.clinical_date {
                None => false,
                Some((lo, hi)) => start.is_none_or(|s| hi >= s) && end.is_none_or(|e| lo <= e),
            },
            Filter::EncounterIn(ids) => facts.encounters.iter().any(|e| ids.contains(e)),
            Filter::CurrentlyRelevant => facts.currently_relevant,
            Filter::SecurityLabelOutside(allowed) => {
                facts.security.iter().any(|label| !allowed.contains(label))
            }
            Filter::IdIn(ids) => ids.contains(&facts.id),
        }
    }
}
