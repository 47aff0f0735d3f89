//! `[policy]`: the Data Holder's local release policy — what it serves, what each ticket type
//! may release, how it treats sensitivity labels, what it discloses per reportable condition
//! (PT-TYPE-18) and which payer contract panels establish a quality-gap relationship (OP-35).
//!
//! Every key is optional and defaults to [`LocalPolicy::reference_defaults`]; a key that is
//! given replaces that default (for `release_types` and `local_withhold`: per ticket type).
//! Every type name must be a resource type this server implements and every ticket-type key a
//! known ticket type URI, so a typo fails at start-up instead of silently releasing nothing
//! (or, worse, everything).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use tessera_access::scope::TypeSel;
use tessera_access::{DisclosurePolicy, Label, LocalPolicy, validate_public_health};
use tessera_ticket::TicketType;

use super::{ConfigError, IdentifierConfig, invalid};

/// `[policy]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePolicy {
    /// Types the FHIR API serves (and `*` expands to).
    #[serde(default)]
    pub served_types: Option<Vec<String>>,
    /// Types never released under any ticket.
    #[serde(default)]
    pub never_auto_release: Option<Vec<String>>,
    /// Types whose currently relevant records bypass `data_period` (OP-13).
    #[serde(default)]
    pub currently_relevant_types: Option<Vec<String>>,
    /// Per ticket type URI: the types released under it.
    #[serde(default)]
    pub release_types: BTreeMap<String, Vec<String>>,
    /// `[policy.sensitivity]`.
    #[serde(default)]
    pub sensitivity: FileSensitivity,
    /// `[[policy.public_health]]`; absent = the built-in COVID-19 policy, `[]` = none.
    #[serde(default)]
    pub public_health: Option<Vec<FileDisclosure>>,
    /// `[[policy.quality_gap_measure]]`: optional narrowing per measure (PT-TYPE-16).
    #[serde(default)]
    pub quality_gap_measure: Vec<FileMeasure>,
    /// `[[policy.contract_panel]]`: payer attribution lists (OP-35).
    #[serde(default)]
    pub contract_panel: Vec<FilePanel>,
}

/// `[[policy.quality_gap_measure]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileMeasure {
    /// Name (logs, errors).
    pub name: String,
    /// Codings identifying the measure (a ticket's `measure` coding selects it).
    pub measure: Vec<LabelConfig>,
    /// SMART v2 scopes a ticket for this measure may release at most.
    pub release: Vec<String>,
}

/// `[policy.sensitivity]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSensitivity {
    /// Enforce Proposal 005 (`sensitivity_withhold`); default true.
    #[serde(default)]
    pub profile: Option<bool>,
    /// Locally classified sensitive labels.
    #[serde(default)]
    pub sensitive_labels: Option<Vec<LabelConfig>>,
    /// Labels known not to be sensitivity classifications.
    #[serde(default)]
    pub benign_labels: Option<Vec<LabelConfig>>,
    /// Labels restricted from payers.
    #[serde(default)]
    pub payer_restricted: Option<Vec<LabelConfig>>,
    /// Per ticket type URI: labels never released under it.
    #[serde(default)]
    pub local_withhold: BTreeMap<String, Vec<LabelConfig>>,
}

/// `system` + `code`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelConfig {
    /// Code system URI.
    pub system: String,
    /// Code.
    pub code: String,
}

/// `[[policy.public_health]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDisclosure {
    /// Name (logs, errors).
    pub name: String,
    /// Codings identifying the condition.
    pub condition: Vec<LabelConfig>,
    /// SMART v2 scopes that may be released.
    pub release: Vec<String>,
}

/// `[[policy.contract_panel]]`: one payer's attributed members.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePanel {
    /// The payer, as its `requester.identifier` names it.
    pub payer: IdentifierConfig,
    /// Member identifiers, matched against the resolved Patient's `identifier`.
    pub members: Vec<IdentifierConfig>,
}

/// A validated contract panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractPanel {
    /// Payer identifier (`system`, `value`).
    pub payer: (String, String),
    /// Member identifiers (`system`, `value`).
    pub members: BTreeSet<(String, String)>,
}

/// The validated `[policy]`.
#[derive(Debug, Clone)]
pub struct PolicyConfig {
    /// The release policy the grant intersection uses.
    pub release: LocalPolicy,
    /// Quality-gap contract panels.
    pub contract_panels: Vec<ContractPanel>,
}

impl Default for PolicyConfig {
    fn default() -> PolicyConfig {
        PolicyConfig {
            release: LocalPolicy::reference_defaults(),
            contract_panels: Vec::new(),
        }
    }
}

/// Longest list accepted anywhere in `[policy]` (types, labels, members).
pub const MAX_POLICY_LIST: usize = 10_000;

/// Validates `[policy]` over the reference defaults.
pub fn validate_policy(file: FilePolicy) -> Result<PolicyConfig, ConfigError> {
    let mut p = LocalPolicy::reference_defaults();
    if let Some(list) = file.served_types {
        if list.is_empty() {
            return Err(invalid(
                "policy.served_types",
                "empty: nothing would be served",
            ));
        }
        p.served_types = types("policy.served_types", &list)?;
    }
    if let Some(list) = file.never_auto_release {
        p.never_auto_release = types("policy.never_auto_release", &list)?;
    }
    if let Some(list) = file.currently_relevant_types {
        p.currently_relevant_types = types("policy.currently_relevant_types", &list)?;
    }
    for (uri, list) in file.release_types {
        let key = format!("policy.release_types.\"{uri}\"");
        ticket_type(&key, &uri)?;
        p.release_types.insert(uri, types(&key, &list)?);
    }
    let s = file.sensitivity;
    if let Some(on) = s.profile {
        p.sensitivity_profile = on;
    }
    if let Some(list) = s.sensitive_labels {
        p.sensitive_labels = labels("policy.sensitivity.sensitive_labels", &list)?;
    }
    if let Some(list) = s.benign_labels {
        p.benign_labels = labels("policy.sensitivity.benign_labels", &list)?;
    }
    if let Some(list) = s.payer_restricted {
        p.payer_restricted = labels("policy.sensitivity.payer_restricted", &list)?;
    }
    for (uri, list) in s.local_withhold {
        let key = format!("policy.sensitivity.local_withhold.\"{uri}\"");
        ticket_type(&key, &uri)?;
        p.local_withhold.insert(uri, labels(&key, &list)?);
    }
    if let Some(list) = file.public_health {
        let entries: Vec<(&str, &[LabelConfig], &[String])> = list
            .iter()
            .map(|d| {
                (
                    d.name.as_str(),
                    d.condition.as_slice(),
                    d.release.as_slice(),
                )
            })
            .collect();
        p.public_health = disclosures("policy.public_health", "condition", &entries)?;
    }
    let measures: Vec<(&str, &[LabelConfig], &[String])> = file
        .quality_gap_measure
        .iter()
        .map(|m| (m.name.as_str(), m.measure.as_slice(), m.release.as_slice()))
        .collect();
    p.quality_gap_measures = disclosures("policy.quality_gap_measure", "measure", &measures)?;
    let contract_panels = panels(file.contract_panel)?;
    Ok(PolicyConfig {
        release: p,
        contract_panels,
    })
}

fn ticket_type(key: &str, uri: &str) -> Result<(), ConfigError> {
    TicketType::from_uri(uri)
        .map(|_| ())
        .ok_or_else(|| invalid(key, format!("{uri} is not a known ticket type URI")))
}

fn types(key: &str, list: &[String]) -> Result<BTreeSet<String>, ConfigError> {
    if list.len() > MAX_POLICY_LIST {
        return Err(invalid(key, "too many entries"));
    }
    list.iter()
        .enumerate()
        .map(|(i, t)| {
            if tessera_fhir::resource_def(t).is_some() {
                Ok(t.clone())
            } else {
                Err(invalid(
                    format!("{key}[{i}]"),
                    format!("{t:?} is not a resource type this server implements"),
                ))
            }
        })
        .collect()
}

fn labels(key: &str, list: &[LabelConfig]) -> Result<BTreeSet<Label>, ConfigError> {
    if list.len() > MAX_POLICY_LIST {
        return Err(invalid(key, "too many entries"));
    }
    list.iter()
        .enumerate()
        .map(|(i, l)| {
            if l.system.trim().is_empty() || l.code.trim().is_empty() {
                Err(invalid(format!("{key}[{i}]"), "needs system and code"))
            } else {
                Ok(Label::new(&l.system, &l.code))
            }
        })
        .collect()
}

/// `(name, selecting codings, release scopes)` entries of `section`, validated.
fn disclosures(
    section: &str,
    selector: &str,
    list: &[(&str, &[LabelConfig], &[String])],
) -> Result<Vec<DisclosurePolicy>, ConfigError> {
    let mut out = Vec::with_capacity(list.len());
    for (i, (name, codings, release)) in list.iter().enumerate() {
        let key = format!("{section}[{i}]");
        let policy = DisclosurePolicy {
            name: (*name).to_owned(),
            condition: labels(&format!("{key}.{selector}"), codings)?
                .into_iter()
                .collect(),
            release: release.to_vec(),
        };
        let scopes = policy.scopes().map_err(|s| {
            invalid(
                format!("{key}.release"),
                format!("{s:?} is not a SMART v2 resource scope"),
            )
        })?;
        for s in scopes {
            if let TypeSel::Named(t) = &s.resource_type
                && tessera_fhir::resource_def(t).is_none()
            {
                return Err(invalid(
                    format!("{key}.release"),
                    format!("{t:?} is not a resource type this server implements"),
                ));
            }
        }
        out.push(policy);
    }
    validate_public_health(&out).map_err(|e| invalid(section, e))?;
    Ok(out)
}

fn panels(list: Vec<FilePanel>) -> Result<Vec<ContractPanel>, ConfigError> {
    let mut out: Vec<ContractPanel> = Vec::with_capacity(list.len());
    for (i, f) in list.into_iter().enumerate() {
        let key = format!("policy.contract_panel[{i}]");
        let pair = |k: &str, id: IdentifierConfig| {
            if id.system.trim().is_empty() || id.value.trim().is_empty() {
                Err(invalid(k, "needs system and value"))
            } else {
                Ok((id.system, id.value))
            }
        };
        let payer = pair(&format!("{key}.payer"), f.payer)?;
        if out.iter().any(|p| p.payer == payer) {
            return Err(invalid(
                format!("{key}.payer"),
                "another contract_panel names the same payer; merge their members",
            ));
        }
        if f.members.is_empty() {
            return Err(invalid(format!("{key}.members"), "empty"));
        }
        if f.members.len() > MAX_POLICY_LIST {
            return Err(invalid(format!("{key}.members"), "too many entries"));
        }
        let members = f
            .members
            .into_iter()
            .enumerate()
            .map(|(j, m)| pair(&format!("{key}.members[{j}]"), m))
            .collect::<Result<_, _>>()?;
        out.push(ContractPanel { payer, members });
    }
    Ok(out)
}
