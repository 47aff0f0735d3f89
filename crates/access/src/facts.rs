//! The facts about one FHIR resource that access decisions depend on, extracted once.
//!
//! The same extraction feeds [`crate::Filter::matches`] (single-resource decisions) and the
//! storage index (searches), so the two cannot disagree about what a resource is.

/// A `(system, code)` token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Token {
    /// Code system URI, if the coding has one.
    pub system: Option<String>,
    /// The code.
    pub code: String,
}

impl Token {
    /// FHIR token matching: `None` = any system, `Some("")` = no system, else exact.
    pub fn matches(&self, system: Option<&str>, code: &str) -> bool {
        if self.code != code {
            return false;
        }
        match system {
            None => true,
            Some("") => self.system.is_none(),
            Some(s) => self.system.as_deref() == Some(s),
        }
    }
}

/// Everything the access algebra needs to know about a resource.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceFacts {
    /// `resourceType`.
    pub resource_type: String,
    /// Logical id.
    pub id: String,
    /// Local id of the patient whose compartment holds the resource, if any.
    pub patient: Option<String>,
    /// Primary code tokens.
    pub codes: Vec<Token>,
    /// Category tokens.
    pub categories: Vec<Token>,
    /// `meta.security` tokens.
    pub security: Vec<Token>,
    /// Designated clinical date as a closed UTC range in unix seconds (precision-widened).
    pub clinical_date: Option<(i64, i64)>,
    /// Encounter ids this resource is or references.
    pub encounters: Vec<String>,
    /// Active allergy / active problem-list condition / active medication.
    pub currently_relevant: bool,
}
