//! The Data Holder's own facts and release policy: the last two operands of the grant
//! intersection (spec-digest §12 items 4–5), passed in explicitly.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use tessera_ticket::claims::{TYPE_PAYER_CLAIMS, TYPE_QUALITY_GAP};

use crate::facts::Token;
use crate::public_health::{DisclosurePolicy, default_public_health};
use crate::scope::Perms;

/// The HL7 v3 ActCode system, home of the sensitivity categories and `HIPAASelfPay`.
pub const V3_ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
/// The HL7 v3 Confidentiality system.
pub const V3_CONFIDENTIALITY: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";

/// A security label named exactly by system and code.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Label {
    /// Code system URI.
    pub system: String,
    /// Code.
    pub code: String,
}

impl Label {
    /// A label in `system`.
    pub fn new(system: &str, code: &str) -> Label {
        Label {
            system: system.to_owned(),
            code: code.to_owned(),
        }
    }

    /// As a resource token (exact system).
    pub fn token(&self) -> Token {
        Token {
            system: Some(self.system.clone()),
            code: self.code.clone(),
        }
    }
}

/// Who the Data Holder is, from its configuration (data_holder_filter is matched against
/// this once, PT-DHF-01). Empty lists mean "not configured": a filter entry that needs the
/// missing fact is indeterminate and rejected (PT-DHF-09).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HolderProfile {
    /// `(system, value)` identifiers of the Data Holder's organization and of every
    /// organization it is authorized to answer for (PT-DHF-05).
    #[serde(default)]
    pub organization_identifiers: Vec<(String, String)>,
    /// `(country, state)` jurisdictions; `None` state = the whole country (PT-DHF-06).
    #[serde(default)]
    pub jurisdictions: Vec<(String, Option<String>)>,
}

/// Local release policy and capability. Every set narrows; nothing here can widen a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalPolicy {
    /// Resource types the FHIR API serves; `*` scopes expand to exactly these.
    pub served_types: BTreeSet<String>,
    /// Types never released automatically under any ticket (e.g. notes routed to review).
    #[serde(default)]
    pub never_auto_release: BTreeSet<String>,
    /// Per `ticket_type`: the types released for that type. For payer claims this *is* the
    /// ceiling (the type has no `smart_scopes`, OQ-PAYER-DATA); a ticket type without an
    /// entry is limited only by `served_types` — except payer claims, which then releases
    /// nothing.
    #[serde(default)]
    pub release_types: BTreeMap<String, BTreeSet<String>>,
    /// Interactions the FHIR API supports (read-only: `rs`).
    pub interactions: Perms,
    /// Types whose currently relevant records bypass `data_period` (OP-13, PT-DP-09).
    /// Default: AllergyIntolerance and Condition. Empty = exception off.
    #[serde(default)]
    pub currently_relevant_types: BTreeSet<String>,
    /// Whether Proposal 005 (`sensitivity_withhold`, `sensitivity_release_authorized`) is
    /// implemented. Off ⇒ tickets carrying `sensitivity_withhold` are rejected and release
    /// authorizations ignored (PT-SENS-01/02).
    pub sensitivity_profile: bool,
    /// Locally classified sensitive categories (what `unlisted: true` withholds).
    pub sensitive_labels: BTreeSet<Label>,
    /// Labels known *not* to be sensitivity classifications (confidentiality levels U/L/M/N).
    /// Under `unlisted: true` a label in neither list is uncertain ⇒ withheld (PT-SENS-05).
    pub benign_labels: BTreeSet<Label>,
    /// Per `ticket_type`: labels never released under that type, whatever the ticket says
    /// (PT-SENS-09, PT-ACC-12).
    #[serde(default)]
    pub local_withhold: BTreeMap<String, BTreeSet<Label>>,
    /// Labels marking records restricted from payers (HIPAA self-pay), withheld silently
    /// under payer ticket types unless `sensitivity_release_authorized` names them.
    pub payer_restricted: BTreeSet<Label>,
    /// Public-health disclosure policy per reportable condition (PT-TYPE-18). Empty = the
    /// public-health type cannot be honoured (and is not advertised, PT-DISC-03).
    #[serde(default)]
    pub public_health: Vec<DisclosurePolicy>,
    /// Optional quality-gap narrowing per `measure` (PT-TYPE-16): a ticket whose measure one
    /// of these covers releases at most its scopes. Empty (the default) = no narrowing.
    #[serde(default)]
    pub quality_gap_measures: Vec<DisclosurePolicy>,
}

/// The ticket types to which the payer restriction applies.
pub const PAYER_TYPES: [&str; 2] = [TYPE_PAYER_CLAIMS, TYPE_QUALITY_GAP];

/// The clinical types of the synthetic corpus and US Core that the reference Data Holder
/// serves (the default `served_types`).
pub const DEFAULT_SERVED_TYPES: [&str; 16] = [
    "AllergyIntolerance",
    "Condition",
    "Coverage",
    "DiagnosticReport",
    "DocumentReference",
    "Encounter",
    "Immunization",
    "Location",
    "MedicationRequest",
    "Observation",
    "Organization",
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Procedure",
    "ServiceRequest",
];

/// The default payer-claims release set (OQ-PAYER-DATA): the encounter-linked clinical
/// record plus supporting resources.
pub const DEFAULT_PAYER_CLAIMS_TYPES: [&str; 14] = [
    "AllergyIntolerance",
    "Condition",
    "DiagnosticReport",
    "DocumentReference",
    "Encounter",
    "Immunization",
    "Location",
    "MedicationRequest",
    "Observation",
    "Organization",
    "Patient",
    "Practitioner",
    "Procedure",
    "ServiceRequest",
];

/// The default locally classified sensitive categories (HL7 v3 ActCode
/// InformationSensitivityPolicy codes in common use).
pub const DEFAULT_SENSITIVE_CODES: [&str; 12] = [
    "ETH", "GDIS", "HIV", "MH", "PSY", "SCA", "SDV", "SEX", "SICKLE", "STD", "SUD", "TBOO",
];

impl LocalPolicy {
    /// The documented defaults (docs/decisions.md, "Access algebra").
    pub fn reference_defaults() -> LocalPolicy {
        let set = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect();
        LocalPolicy {
            served_types: set(&DEFAULT_SERVED_TYPES),
            never_auto_release: BTreeSet::new(),
            release_types: BTreeMap::from([(
                TYPE_PAYER_CLAIMS.to_owned(),
                set(&DEFAULT_PAYER_CLAIMS_TYPES),
            )]),
            interactions: Perms::RS,
            currently_relevant_types: set(&["AllergyIntolerance", "Condition"]),
            sensitivity_profile: true,
            sensitive_labels: DEFAULT_SENSITIVE_CODES
                .iter()
                .map(|c| Label::new(V3_ACT_CODE, c))
                .collect(),
            benign_labels: ["U", "L", "M", "N"]
                .iter()
                .map(|c| Label::new(V3_CONFIDENTIALITY, c))
                .collect(),
            local_withhold: BTreeMap::new(),
            payer_restricted: BTreeSet::from([Label::new(V3_ACT_CODE, "HIPAASelfPay")]),
            public_health: default_public_health(),
            quality_gap_measures: Vec::new(),
        }
    }

    /// Types this policy would release under `ticket_type`, before any ticket limit.
    pub fn release_ceiling(&self, ticket_type: &str) -> BTreeSet<String> {
        let base = self
            .served_types
            .iter()
            .filter(|t| !self.never_auto_release.contains(*t));
        match self.release_types.get(ticket_type) {
            Some(set) => base.filter(|t| set.contains(*t)).cloned().collect(),
            None if ticket_type == TYPE_PAYER_CLAIMS => BTreeSet::new(),
            None => base.cloned().collect(),
        }
    }
}
