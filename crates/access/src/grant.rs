//! The Grant: the normalized result of the access intersection, stored with an access token,
//! and its two uses — judging one resource ([`Grant::decide`]) and compiling a storage
//! predicate ([`Grant::to_filter`]).
//!
//! Both uses are built from the same per-type [`Grant::parts`], a list of
//! `(constraint, filter)` pairs: `to_filter` is their conjunction, `decide` evaluates each on
//! [`extract_facts`] and names the ones that fail. So `decide(r) == Allow` exactly when
//! `to_filter(type(r))` is `Ok(f)` and `f.matches(&extract_facts(r))` (tested on generated
//! resources).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::facts::{Token, extract_facts};
use crate::filter::{Filter, TokenDim};
use crate::scope::{Clause, Context, Param, Perms, TokenValue, write_query};

/// Types outside any patient compartment: never confined by [`Filter::PatientIs`] (they hold
/// no patient data; clients need them to resolve references).
pub const SHARED_TYPES: [&str; 5] = [
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Location",
    "Medication",
];

/// Types released under `claim_linkage` without an encounter link, as supporting context
/// (OP-34): the patient and the shared types.
const LINKAGE_SUPPORTING: [&str; 6] = [
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Location",
    "Medication",
];

/// Types whose currently relevant records belong to the `claim_linkage` universe (OP-34).
const LINKAGE_CURRENT: [&str; 3] = ["Condition", "AllergyIntolerance", "MedicationRequest"];

/// A FHIR REST interaction on a resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interaction {
    /// `GET [type]/[id]` (needs `r`).
    Read,
    /// `GET [type]/[id]/_history/[vid]` (needs `r`).
    Vread,
    /// `GET [type]?…` (needs `s`).
    Search,
    /// `POST [type]` (needs `c`).
    Create,
    /// `PUT [type]/[id]` (needs `u`).
    Update,
    /// `DELETE [type]/[id]` (needs `d`).
    Delete,
    /// Any `$operation`: never granted from a ticket (PT-ACC-08).
    Operation,
}

impl Interaction {
    fn perm(self) -> Perms {
        match self {
            Interaction::Read | Interaction::Vread => Perms::R,
            Interaction::Search => Perms::S,
            Interaction::Create => Perms::C,
            Interaction::Update => Perms::U,
            Interaction::Delete => Perms::D,
            Interaction::Operation => Perms::NONE,
        }
    }
}

/// One granted scope: always a concrete type (wildcards are expanded over the served types).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GrantedScope {
    /// Resource type.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// AND-ed narrowing clauses (normalized; empty = the whole type).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query: Vec<Clause>,
    /// Permitted interactions.
    pub perms: Perms,
    /// The prefix echoed to the client (not enforced: every grant is confined to the patient).
    pub context: Context,
}

impl fmt::Display for GrantedScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ctx = match self.context {
            Context::Patient => "patient",
            Context::User => "user",
            Context::System => "system",
        };
        write!(f, "{ctx}/{}.{}", self.resource_type, self.perms)?;
        write_query(f, &self.query)
    }
}

/// The `data_period` window, precision-widened (UTC unix seconds, inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Lower bound (start's first second), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<i64>,
    /// Upper bound (end's last second), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<i64>,
}

/// The combined, normalized access decision for one redemption. Pure data: store it with the
/// access token; it needs nothing else to judge resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub(crate) patient: String,
    pub(crate) scopes: Vec<GrantedScope>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) window: Option<Window>,
    /// Types whose currently relevant records bypass the window.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub(crate) relevant: BTreeSet<String>,
    /// `claim_linkage`: the resolved local encounter ids bounding release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) encounters: Option<Vec<String>>,
    /// Labels withheld because the ticket says so (`sensitivity_withhold.codes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) withhold: Vec<TokenValue>,
    /// `sensitivity_withhold.unlisted`: only these labels may appear on a released resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) unlisted_allow: Option<Vec<TokenValue>>,
    /// Labels restricted from the payer (silently excluded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) restricted: Vec<TokenValue>,
    /// Labels local policy never releases under this ticket type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) local_withhold: Vec<TokenValue>,
    /// PT-RS-02: the shared resources (`Type/id`, sorted) released data references; only
    /// these shared resources are released. `compute_grant` starts it empty (fail closed)
    /// and the Data Holder fills it with [`Grant::with_supporting`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) supporting: Option<Vec<String>>,
    /// Network Data Holders (issue 14): the person's records and which Data Holder issued it.
    #[serde(default, skip_serializing_if = "PersonScope::is_default")]
    pub(crate) person: PersonScope,
}

/// What a grant knows of the person and the Data Holder it was issued by (issue 14). Frozen at
/// redemption: a linkage change reaches the next redemption, never a token already issued.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PersonScope {
    /// Every local Patient record of the person this grant releases (sorted; includes the
    /// grant's `patient`). Empty = the grant's `patient` alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<String>,
    /// The per-site Data Holder that issued the grant; `None` = the network base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_holder: Option<String>,
    /// Sites whose own identity accepts the ticket (`data_holder_filter`), for record location.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepting_sites: Vec<String>,
}

impl PersonScope {
    fn is_default(&self) -> bool {
        *self == PersonScope::default()
    }
}

/// Which constraint a resource failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Violation {
    /// No granted scope covers this type and interaction (HTTP 403).
    NotGranted,
    /// A covering scope exists but none of their `?code`/`?category` narrowings match.
    SmartScopes,
    /// Not in the granted patient's compartment.
    Patient,
    /// Outside `data_period` (or no designated date).
    DataPeriod,
    /// Not associated with the `claim_linkage` encounters.
    ClaimLinkage,
    /// Carries a label `sensitivity_withhold` withholds.
    SensitivityWithhold,
    /// Restricted from the payer (HIPAA self-pay).
    Restricted,
    /// Local policy withholds it.
    LocalPolicy,
    /// A supporting resource no released resource references (PT-RS-02).
    NotReferenced,
}

impl Violation {
    /// The constraint name, as logged.
    pub fn constraint(self) -> &'static str {
        match self {
            Violation::NotGranted | Violation::SmartScopes => "smart_scopes",
            Violation::Patient => "patient",
            Violation::DataPeriod => "data_period",
            Violation::ClaimLinkage => "claim_linkage",
            Violation::SensitivityWithhold => "sensitivity_withhold",
            Violation::Restricted => "restricted",
            Violation::LocalPolicy => "local_policy",
            Violation::NotReferenced => "supporting",
        }
    }
}

/// The verdict on one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Released.
    Allow,
    /// Not released, with every failed constraint.
    Deny {
        /// Failed constraints, in a fixed order.
        reasons: Vec<Violation>,
    },
}

/// The type/interaction is not covered by the grant at all (HTTP 403, not 404).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interaction not granted")]
pub struct NotGranted;

impl Grant {
    /// The resolved local patient id the grant is confined to.
    pub fn patient(&self) -> &str {
        &self.patient
    }

    /// Every local Patient record the grant releases: the person's records (issue 14), or
    /// just [`Grant::patient`].
    pub fn person_records(&self) -> Vec<&str> {
        if self.person.records.is_empty() {
            vec![self.patient.as_str()]
        } else {
            self.person.records.iter().map(String::as_str).collect()
        }
    }

    /// The grant's person and Data Holder scope.
    pub fn person_scope(&self) -> &PersonScope {
        &self.person
    }

    /// This grant confined to the person's `records` (which always include the grant's own
    /// patient), issued by `data_holder` (`None` = the network base), with the sites that
    /// accept the ticket.
    pub fn for_person(mut self, mut scope: PersonScope) -> Grant {
        scope.records.push(self.patient.clone());
        scope.records.sort();
        scope.records.dedup();
        if scope.records.len() == 1 {
            scope.records.clear();
        }
        scope.accepting_sites.sort();
        scope.accepting_sites.dedup();
        self.person = scope;
        self
    }

    /// The granted scopes, space-separated, canonical and deterministic: exactly what is
    /// enforced.
    pub fn scope_string(&self) -> String {
        let parts: Vec<String> = self.scopes.iter().map(ToString::to_string).collect();
        parts.join(" ")
    }

    /// The granted scopes.
    pub fn scopes(&self) -> &[GrantedScope] {
        &self.scopes
    }

    /// Resource types with at least one granted scope, sorted.
    pub fn allowed_types(&self) -> Vec<&str> {
        let set: BTreeSet<&str> = self
            .scopes
            .iter()
            .map(|s| s.resource_type.as_str())
            .collect();
        set.into_iter().collect()
    }

    /// Granted types outside [`SHARED_TYPES`]: the released data whose references decide
    /// which supporting resources are released (PT-RS-02).
    pub fn referencing_types(&self) -> Vec<&str> {
        self.allowed_types()
            .into_iter()
            .filter(|t| !SHARED_TYPES.contains(t))
            .collect()
    }

    /// Whether any shared type is granted (so supporting references matter).
    pub fn grants_shared_types(&self) -> bool {
        self.allowed_types()
            .iter()
            .any(|t| SHARED_TYPES.contains(t))
    }

    /// The grant with its supporting set: the shared-type references (`Type/id`, e.g. from
    /// [`crate::shared_references`]) of the resources it releases and of the patient's own
    /// Patient resource. At most [`crate::MAX_SUPPORTING`] are kept (fewer released, never
    /// more).
    pub fn with_supporting(mut self, refs: BTreeSet<String>) -> Grant {
        let kept: Vec<String> = refs
            .into_iter()
            .filter(|r| {
                r.split_once('/')
                    .is_some_and(|(t, id)| SHARED_TYPES.contains(&t) && !id.is_empty())
            })
            .take(crate::MAX_SUPPORTING)
            .collect();
        self.supporting = Some(kept);
        self
    }

    /// This grant with its supporting set limited to what `earlier` released too: a grant
    /// recomputed later (a narrowed refresh) never releases a supporting resource the grant
    /// it derives from did not (PT-LIFE-07).
    pub fn within_supporting_of(mut self, earlier: &Grant) -> Grant {
        if let (Some(now), Some(before)) = (self.supporting.as_mut(), earlier.supporting.as_ref()) {
            now.retain(|r| before.contains(r));
        }
        self
    }

    /// The storage predicate for `interaction` on `resource_type`; `Err(NotGranted)` when no
    /// granted scope covers the pair.
    pub fn to_filter(
        &self,
        resource_type: &str,
        interaction: Interaction,
    ) -> Result<Filter, NotGranted> {
        let parts = self.parts(resource_type, interaction).ok_or(NotGranted)?;
        let mut conj: Vec<Filter> = parts
            .into_iter()
            .map(|(_, f)| f)
            .filter(|f| *f != Filter::All)
            .collect();
        Ok(match conj.len() {
            0 => Filter::All,
            1 => conj.pop().unwrap_or(Filter::All),
            _ => Filter::And(conj),
        })
    }

    /// Judges one resource for `interaction`.
    pub fn decide(&self, resource: &Value, interaction: Interaction) -> Decision {
        let facts = extract_facts(resource);
        match self.parts(&facts.resource_type, interaction) {
            None => Decision::Deny {
                reasons: vec![Violation::NotGranted],
            },
            Some(parts) => {
                let mut reasons: Vec<Violation> = parts
                    .iter()
                    .filter(|(_, f)| !f.matches(&facts))
                    .map(|(v, _)| *v)
                    .collect();
                // Both sensitivity parts report the same constraint.
                reasons.dedup();
                if reasons.is_empty() {
                    Decision::Allow
                } else {
                    Decision::Deny { reasons }
                }
            }
        }
    }

    /// Every constraint that applies to `resource_type`, as `(name, predicate)`; `None` when
    /// no scope covers the type and interaction.
    fn parts(
        &self,
        resource_type: &str,
        interaction: Interaction,
    ) -> Option<Vec<(Violation, Filter)>> {
        let perm = interaction.perm();
        if perm.is_empty() || resource_type.is_empty() {
            return None;
        }
        let covering: Vec<&GrantedScope> = self
            .scopes
            .iter()
            .filter(|s| s.resource_type == resource_type && perm.within(s.perms))
            .collect();
        if covering.is_empty() {
            return None;
        }
        let mut parts = Vec::new();
        let scope_filter = if covering.iter().any(|s| s.query.is_empty()) {
            Filter::All
        } else {
            Filter::Or(covering.iter().map(|s| query_filter(&s.query)).collect())
        };
        parts.push((Violation::SmartScopes, scope_filter));
        if !SHARED_TYPES.contains(&resource_type) {
            let patient = match self.person.records.as_slice() {
                [] => Filter::PatientIs(self.patient.clone()),
                many => Filter::Or(many.iter().cloned().map(Filter::PatientIs).collect()),
            };
            parts.push((Violation::Patient, patient));
        } else if let Some(refs) = &self.supporting {
            let ids = refs
                .iter()
                .filter_map(|r| r.split_once('/'))
                .filter(|(t, _)| *t == resource_type)
                .map(|(_, id)| id.to_owned())
                .collect();
            parts.push((Violation::NotReferenced, Filter::IdIn(ids)));
        }
        if let Some(window) = self.window
            && let Some(f) = window_filter(window, resource_type, &self.relevant)
        {
            parts.push((Violation::DataPeriod, f));
        }
        if let Some(encounters) = &self.encounters
            && !LINKAGE_SUPPORTING.contains(&resource_type)
        {
            let linked = Filter::EncounterIn(encounters.clone());
            let f = if LINKAGE_CURRENT.contains(&resource_type) {
                Filter::Or(vec![linked, Filter::CurrentlyRelevant])
            } else {
                linked
            };
            parts.push((Violation::ClaimLinkage, f));
        }
        if !self.withhold.is_empty() {
            parts.push((Violation::SensitivityWithhold, none_of(&self.withhold)));
        }
        if let Some(allow) = &self.unlisted_allow {
            let allowed = allow
                .iter()
                .map(|v| Token {
                    system: v.system.clone(),
                    code: v.code.clone(),
                })
                .collect();
            parts.push((
                Violation::SensitivityWithhold,
                Filter::Not(Box::new(Filter::SecurityLabelOutside(allowed))),
            ));
        }
        if !self.restricted.is_empty() {
            parts.push((Violation::Restricted, none_of(&self.restricted)));
        }
        if !self.local_withhold.is_empty() {
            parts.push((Violation::LocalPolicy, none_of(&self.local_withhold)));
        }
        Some(parts)
    }
}

/// `?a=x,y&b=z` as a predicate.
fn query_filter(query: &[Clause]) -> Filter {
    let clause = |c: &Clause| {
        let dim = match c.param {
            Param::Code => TokenDim::Code,
            Param::Category => TokenDim::Category,
        };
        Filter::Or(
            c.values
                .iter()
                .map(|v| Filter::Token {
                    dim,
                    system: v.system.clone(),
                    code: v.code.clone(),
                })
                .collect(),
        )
    };
    match query {
        [] => Filter::All,
        [one] => clause(one),
        many => Filter::And(many.iter().map(clause).collect()),
    }
}

/// The data-period predicate for a type; `None` for exempt types.
fn window_filter(
    window: Window,
    resource_type: &str,
    relevant: &BTreeSet<String>,
) -> Option<Filter> {
    use crate::designated::{DateRule, date_rule};
    if date_rule(resource_type) == DateRule::Exempt {
        return None;
    }
    let overlaps = Filter::ClinicalDateOverlaps {
        start: window.start,
        end: window.end,
    };
    Some(if relevant.contains(resource_type) {
        Filter::Or(vec![overlaps, Filter::CurrentlyRelevant])
    } else {
        overlaps
    })
}

/// The resource carries none of these security labels.
fn none_of(labels: &[TokenValue]) -> Filter {
    Filter::Not(Box::new(Filter::Or(
        labels
            .iter()
            .map(|l| Filter::Token {
                dim: TokenDim::Security,
                system: l.system.clone(),
                code: l.code.clone(),
            })
            .collect(),
    )))
}
