//! Person linkage (a minimal MPI, issue 14): which local Patient records are one person.
//!
//! Linkage is explicit. A person is a set of Patient records joined only by sources the Data
//! Holder controls and names in configuration: `Patient.link` in ingested data, shared values
//! of configured enterprise-identifier systems, and operator assertions (`tessera link`, the
//! links file). Demographic similarity never links. The computation ([`compute`]) is a pure
//! function of the stored Patients, the assertions in force and the rules; backends persist
//! its result (`person_record`, `link_conflict`) with a version row per change, and the
//! assertions append-only, so every linkage that ever released data can be reconstructed.
//!
//! Conflicts: a connected set of records that carries two different values of one enterprise
//! system is claimed by two persons. We cannot tell which link is wrong, so none is trusted:
//! every record of that set is quarantined (linked to nobody, reported, and a ticket that
//! reaches one is refused as ambiguous) until the data or an operator `remove` resolves it.

mod compute;

pub use compute::{PatientLinkFacts, compute, patient_link_facts};

use serde::{Deserialize, Serialize};

/// The configured linkage sources.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkageRules {
    /// Identifier systems whose shared values link records (an MPI's enterprise id).
    pub enterprise_systems: Vec<String>,
    /// Honour `Patient.link` (`seealso`, `replaces`, `replaced-by`, `refer`) in the data.
    pub patient_link: bool,
}

/// What an operator assertion is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LinkClaim {
    /// The record and this other Patient record are the same person.
    Record {
        /// The other record's id.
        other: String,
    },
    /// The record carries this enterprise identifier (`system` must be configured).
    Identifier {
        /// Enterprise-identifier system.
        system: String,
        /// Its value.
        value: String,
    },
}

impl LinkClaim {
    /// `(kind, target)` as stored.
    pub fn stored(&self) -> (&'static str, String) {
        match self {
            LinkClaim::Record { other } => ("record", other.clone()),
            LinkClaim::Identifier { system, value } => ("identifier", format!("{system}|{value}")),
        }
    }

    /// Parses the stored form.
    pub fn from_stored(kind: &str, target: &str) -> Option<LinkClaim> {
        match kind {
            "record" => Some(LinkClaim::Record {
                other: target.to_owned(),
            }),
            "identifier" => {
                let (system, value) = target.rsplit_once('|')?;
                Some(LinkClaim::Identifier {
                    system: system.to_owned(),
                    value: value.to_owned(),
                })
            }
            _ => None,
        }
    }
}

/// One operator assertion (append-only; the latest per `(record, claim)` is in force).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkAssertion {
    /// Version (assigned by the store).
    #[serde(default)]
    pub seq: i64,
    /// Unix seconds.
    #[serde(default)]
    pub at: i64,
    /// Who asserted it (`cli`, `links_file`).
    #[serde(default)]
    pub actor: String,
    /// `true` = add, `false` = remove (suppresses the same link found in the data, too).
    pub add: bool,
    /// The Patient record the assertion is about.
    pub record: String,
    /// What is asserted.
    pub claim: LinkClaim,
}

impl LinkAssertion {
    /// The key the latest assertion wins on: record pairs are unordered.
    pub fn key(&self) -> (String, LinkClaim) {
        match &self.claim {
            LinkClaim::Record { other } if other < &self.record => (
                other.clone(),
                LinkClaim::Record {
                    other: self.record.clone(),
                },
            ),
            _ => (self.record.clone(), self.claim.clone()),
        }
    }
}

/// A record's standing in the linkage in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    /// Part of a person with at least one other record.
    Linked,
    /// A person of one record.
    Unlinked,
    /// Claimed by two persons: linked to nobody, refused as ambiguous.
    Quarantined,
}

impl RecordStatus {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordStatus::Linked => "linked",
            RecordStatus::Unlinked => "unlinked",
            RecordStatus::Quarantined => "quarantined",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<RecordStatus> {
        match s {
            "linked" => Some(RecordStatus::Linked),
            "unlinked" => Some(RecordStatus::Unlinked),
            "quarantined" => Some(RecordStatus::Quarantined),
            _ => None,
        }
    }
}

/// One Patient record in the linkage in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedRecord {
    /// The Patient id.
    pub record: String,
    /// The person it belongs to (for an unlinked or quarantined record: itself).
    pub person: String,
    /// The site it was ingested for.
    pub site: Option<String>,
    /// Its standing.
    pub status: RecordStatus,
}

/// A quarantined record and the persons (anchors `system|value`) that claim it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// The Patient id.
    pub record: String,
    /// The competing enterprise identifiers, sorted.
    pub anchors: Vec<String>,
}

/// The result of a linkage computation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Linkage {
    /// Every Patient record, sorted by id.
    pub records: Vec<LinkedRecord>,
    /// Quarantined records, sorted.
    pub conflicts: Vec<Conflict>,
    /// Links that could not be followed (a target that does not exist), for the operator.
    pub warnings: Vec<String>,
}

impl Linkage {
    /// Number of persons with more than one record.
    pub fn linked_persons(&self) -> usize {
        let persons: std::collections::BTreeSet<&str> = self
            .records
            .iter()
            .filter(|r| r.status == RecordStatus::Linked)
            .map(|r| r.person.as_str())
            .collect();
        persons.len()
    }

    /// SHA-256 of what is persisted (records and conflicts): equal digests mean the linkage in
    /// force did not change, so no version row is written. The same on every backend.
    pub fn digest(&self) -> Vec<u8> {
        let encoded = serde_json::to_vec(&(&self.records, &self.conflicts)).unwrap_or_default();
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &encoded)
            .as_ref()
            .to_vec()
    }
}

/// What a rebuild did.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LinkageSummary {
    /// The version in force after it.
    pub version: i64,
    /// Whether the linkage in force changed (a new version row).
    pub changed: bool,
    /// Persons with more than one record.
    pub persons: usize,
    /// Records in such persons.
    pub linked: usize,
    /// Quarantined records.
    pub conflicts: Vec<Conflict>,
    /// Links that could not be followed (empty when not recomputed: they were logged when
    /// the linkage was computed).
    pub warnings: Vec<String>,
    /// Whether the linkage was computed from the data; `false` when its inputs were unchanged
    /// since the last rebuild (the linkage in force is then read back, not recomputed).
    #[serde(default)]
    pub recomputed: bool,
}

/// Bumped when what [`compute`] does with the same inputs changes, so a stored
/// [`inputs_fingerprint`] from an older binary never skips a rebuild.
const COMPUTE_VERSION: u32 = 1;

/// What a rebuild's result depends on, in a digest both backends store with the linkage:
/// `patient_changes` (a backend's own witness of every change of a Patient row or of a
/// Patient's sites, maintained by triggers), the latest assertion `seq`, and the rules. Equal
/// fingerprints mean a rebuild would compute the linkage in force again.
pub fn inputs_fingerprint(
    patient_changes: &[i64],
    last_assertion: i64,
    rules: &LinkageRules,
) -> Vec<u8> {
    let encoded = serde_json::json!({
        "compute": COMPUTE_VERSION,
        "patient_changes": patient_changes,
        "last_assertion": last_assertion,
        "enterprise_systems": rules.enterprise_systems,
        "patient_link": rules.patient_link,
    })
    .to_string();
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, encoded.as_bytes())
        .as_ref()
        .to_vec()
}

/// The summary of a linkage in force that was not recomputed: its version, the persons with
/// more than one record and those records (counted by the store), its conflicts.
pub fn stored_summary(
    version: i64,
    persons: i64,
    linked: i64,
    conflicts: Vec<Conflict>,
) -> LinkageSummary {
    let count = |n: i64| usize::try_from(n).unwrap_or(0);
    LinkageSummary {
        version,
        changed: false,
        persons: count(persons),
        linked: count(linked),
        conflicts,
        warnings: Vec::new(),
        recomputed: false,
    }
}

/// A version row: one change of the linkage in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkageVersion {
    /// Version number.
    pub version: i64,
    /// Unix seconds.
    pub at: i64,
    /// Persons with more than one record.
    pub persons: i64,
    /// Records in such persons.
    pub linked: i64,
    /// Quarantined records.
    pub quarantined: i64,
    /// What caused the rebuild (`ingest`, `cli add …`).
    pub cause: String,
}

/// The person a record belongs to, as the linkage in force says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonOf {
    /// No such Patient record in the linkage.
    Unknown,
    /// The record is quarantined (claimed by two persons).
    Quarantined(Conflict),
    /// The person: its stable id and every record (id, site), sorted by id.
    Person {
        /// The person id (one of its record ids; stable across rebuilds while it is kept).
        id: String,
        /// Its records.
        records: Vec<(String, Option<String>)>,
    },
}

/// An operator linkage request that was refused (audited: who, what, why).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRefusal {
    /// Unix seconds.
    pub at: i64,
    /// Who asked (`cli`, `links_file`).
    pub actor: String,
    /// The request as given (JSON).
    pub request: String,
    /// Why it was refused.
    pub error: String,
}
