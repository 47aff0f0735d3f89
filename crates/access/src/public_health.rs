//! Local public-health disclosure policy (ticket-types.md §7, PT-TYPE-18): for each reportable
//! condition the Data Holder will investigate, which resource types and which codes or
//! categories it may release. The policy's scopes are one more ceiling of the grant
//! intersection; a public-health ticket naming a condition no policy covers is refused
//! (`invalid_grant`), never granted by default. The same shape, keyed by a quality-gap
//! ticket's `measure`, optionally narrows quality-gap releases (PT-TYPE-16).

use serde::{Deserialize, Serialize};
use tessera_ticket::claims::CodeableConcept;

use crate::error::AccessError;
use crate::policy::Label;
use crate::scope::{Scope, Syntax, parse_scope};

/// SNOMED CT.
pub const SNOMED: &str = "http://snomed.info/sct";
/// ICD-10-CM.
pub const ICD10_CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
/// LOINC.
pub const LOINC: &str = "http://loinc.org";
/// CVX vaccine codes.
pub const CVX: &str = "http://hl7.org/fhir/sid/cvx";

/// What may be released for one reportable condition (or, for quality gap, one measure).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisclosurePolicy {
    /// A name for logs and configuration errors (e.g. `covid-19`).
    pub name: String,
    /// Codings that identify the condition (or measure): a ticket's `reportable_condition`
    /// (`measure`) selects this policy when one of its codings equals one of these exactly
    /// (system and code).
    pub condition: Vec<Label>,
    /// What may be released, as SMART v2 scopes (`patient/Observation.rs?code=…`): the types,
    /// and the codes or categories within them. Intersected with the ticket's scopes.
    pub release: Vec<String>,
}

/// SARS-CoV-2 laboratory tests (LOINC): the synthetic data's PCR (94500-6) and the other
/// common RNA, antigen and antibody panels.
pub const COVID_LAB_CODES: [&str; 8] = [
    "94500-6", "94309-2", "94531-1", "94534-5", "94558-4", "94759-8", "95209-3", "94563-4",
];

/// COVID-19 vaccines (CVX): the synthetic data's 208 and the other US COVID-19 products.
pub const COVID_VACCINE_CODES: [&str; 14] = [
    "207", "208", "210", "211", "212", "213", "217", "218", "219", "221", "228", "229", "300",
    "301",
];

/// `patient/{ty}.rs?code=system|c1,system|c2,…`
fn coded_scope(ty: &str, system: &str, codes: &[&str]) -> String {
    let values: Vec<String> = codes.iter().map(|c| format!("{system}|{c}")).collect();
    format!("patient/{ty}.rs?code={}", values.join(","))
}

/// The built-in policies (docs/decisions.md, "Local release policy"): COVID-19, the
/// reportable condition of the synthetic data and of the specification's example — the
/// patient, the condition itself, its laboratory results and reports, COVID-19 immunizations,
/// and the supporting Practitioner/Organization/Location those reference.
pub fn default_public_health() -> Vec<DisclosurePolicy> {
    let condition = [(SNOMED, "840539006"), (ICD10_CM, "U07.1")];
    let condition_values: Vec<String> = condition.iter().map(|(s, c)| format!("{s}|{c}")).collect();
    vec![DisclosurePolicy {
        name: "covid-19".into(),
        condition: condition.iter().map(|(s, c)| Label::new(s, c)).collect(),
        release: vec![
            "patient/Patient.rs".into(),
            format!("patient/Condition.rs?code={}", condition_values.join(",")),
            coded_scope("Observation", LOINC, &COVID_LAB_CODES),
            coded_scope("DiagnosticReport", LOINC, &COVID_LAB_CODES),
            coded_scope("Immunization", CVX, &COVID_VACCINE_CODES),
            "patient/Practitioner.rs".into(),
            "patient/Organization.rs".into(),
            "patient/Location.rs".into(),
        ],
    }]
}

impl DisclosurePolicy {
    /// Does the ticket's condition select this policy?
    pub fn covers(&self, condition: &CodeableConcept) -> bool {
        condition.coding.iter().any(|c| {
            let (Some(system), Some(code)) = (c.system.as_deref(), c.code.as_deref()) else {
                return false;
            };
            self.condition
                .iter()
                .any(|l| l.system == system && l.code == code)
        })
    }

    /// The release scopes, parsed; `Err` names the first that is not a ticket-grammar scope.
    pub fn scopes(&self) -> Result<Vec<Scope>, String> {
        self.release
            .iter()
            .map(|s| parse_scope(s, Syntax::Ticket).map_err(|_| s.clone()))
            .collect()
    }
}

/// PT-TYPE-16 (MAY): the release scopes for a quality-gap ticket's `measure`, when a
/// configured measure policy covers it; `None` = no measure narrowing (there is no default:
/// scopes and `data_period` still bound the release).
pub(crate) fn measure_release(
    policies: &[DisclosurePolicy],
    measure: Option<&CodeableConcept>,
) -> Option<Vec<Scope>> {
    let measure = measure?;
    let policy = policies.iter().find(|p| p.covers(measure))?;
    // Validated at start-up; an unparseable entry narrows to nothing rather than to all.
    Some(policy.scopes().unwrap_or_default())
}

/// The release scopes for a public-health ticket's `reportable_condition`: the first policy
/// covering it (configuration validation rejects two policies sharing a coding).
pub(crate) fn release_for(
    policies: &[DisclosurePolicy],
    condition: Option<&CodeableConcept>,
) -> Result<Vec<Scope>, AccessError> {
    let condition = condition.ok_or(AccessError::MissingClaim("reportable_condition"))?;
    let policy = policies
        .iter()
        .find(|p| p.covers(condition))
        .ok_or(AccessError::NoDisclosurePolicy)?;
    // Validated at start-up; a bad entry here releases nothing rather than everything.
    policy.scopes().map_err(|_| AccessError::NoDisclosurePolicy)
}

/// Checks a configured policy list: names unique and non-empty, every policy with at least
/// one condition coding and one release scope, every scope parseable, and no coding claimed
/// by two policies (which would make the choice depend on order). `Err` says which.
pub fn validate_public_health(policies: &[DisclosurePolicy]) -> Result<(), String> {
    let mut names = std::collections::BTreeSet::new();
    let mut codings = std::collections::BTreeMap::new();
    for p in policies {
        if p.name.trim().is_empty() {
            return Err("a policy has an empty name".into());
        }
        if !names.insert(p.name.as_str()) {
            return Err(format!("policy name {} appears twice", p.name));
        }
        if p.condition.is_empty() {
            return Err(format!("policy {}: no selecting codings", p.name));
        }
        for l in &p.condition {
            if l.system.is_empty() || l.code.is_empty() {
                return Err(format!(
                    "policy {}: a selecting coding needs system and code",
                    p.name
                ));
            }
            if let Some(other) = codings.insert((l.system.as_str(), l.code.as_str()), &p.name) {
                return Err(format!(
                    "coding {}|{} is claimed by policies {other} and {}",
                    l.system, l.code, p.name
                ));
            }
        }
        if p.release.is_empty() {
            return Err(format!("policy {}: empty release list", p.name));
        }
        p.scopes().map_err(|s| {
            format!(
                "policy {}: release scope {s:?} is not a SMART v2 resource scope",
                p.name
            )
        })?;
    }
    Ok(())
}
