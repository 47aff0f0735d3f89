//! The machine-readable `manifest.json`: what was generated, where, and handy demo facts.
//!
//! It is written in three parts so a million-patient run never holds it in memory: the
//! [`Header`] (run parameters, sites, payers) first, then one [`PatientEntry`] per patient,
//! then the [`Summary`] (counts and a bounded sample of [`Facts`]).
//! [`manifest_value`] assembles the same document in memory for small runs.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

/// At most this many examples of each kind of fact are kept in the summary.
pub const FACT_SAMPLE: usize = 25;

/// Run parameters and the shared world.
#[derive(Debug, Clone, Serialize)]
pub struct Header {
    /// Always `tessera-synth`.
    pub generator: String,
    /// Manifest format version.
    pub format_version: u32,
    /// PRNG seed.
    pub seed: u64,
    /// Number of patients.
    pub patients: u64,
    /// The fixed reference date all dates are relative to.
    pub reference_date: String,
    /// First day of the clinical history window.
    pub window_start: String,
    /// Last day of the clinical history window.
    pub window_end: String,
    /// `bundles` or `ndjson`.
    pub layout: String,
    /// Care sites.
    pub sites: Vec<SiteInfo>,
    /// Health plans.
    pub payers: Vec<PayerInfo>,
}

/// A care site.
#[derive(Debug, Clone, Serialize)]
pub struct SiteInfo {
    /// File-name slug.
    pub slug: String,
    /// Organization name.
    pub name: String,
    /// `clinic`, `hospital` or `behavioral-health`.
    pub kind: String,
    /// Organization NPI.
    pub npi: String,
    /// City.
    pub city: String,
    /// US state (two letters).
    pub state: String,
    /// Organization resource id.
    pub organization_id: String,
    /// Location resource id.
    pub location_id: String,
    /// Identifier system of this site's MRNs.
    pub mrn_system: String,
    /// Identifier system of this site's claim control numbers.
    pub claim_system: String,
    /// Clinicians.
    pub practitioners: Vec<PractitionerInfo>,
}

/// A clinician.
#[derive(Debug, Clone, Serialize)]
pub struct PractitionerInfo {
    /// Practitioner resource id.
    pub id: String,
    /// Individual NPI.
    pub npi: String,
    /// Display name.
    pub name: String,
}

/// A health plan.
#[derive(Debug, Clone, Serialize)]
pub struct PayerInfo {
    /// Slug.
    pub slug: String,
    /// Organization name.
    pub name: String,
    /// Payer NPI (as carried in its Organization identifier).
    pub npi: String,
    /// Home state.
    pub state: String,
    /// States served (empty = national).
    pub serves: Vec<String>,
    /// Organization resource id.
    pub organization_id: String,
    /// Identifier system of member ids.
    pub member_system: String,
}

/// One patient.
#[derive(Debug, Clone, Serialize)]
pub struct PatientEntry {
    /// Patient index (0-based; stable: the first N patients of a bigger run are identical).
    pub index: u64,
    /// Demo archetype of the first few patients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archetype: Option<String>,
    /// Given name.
    pub given: String,
    /// Family name.
    pub family: String,
    /// `female` or `male`.
    pub gender: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// Home state.
    pub state: String,
    /// Cross-site person id (`PERSON_ID_SYSTEM`), on every one of the patient's records.
    pub person_id: String,
    /// Payer slug, if insured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payer: Option<String>,
    /// Member id at the payer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_id: Option<String>,
    /// Chronic condition keys (e.g. `diabetes`).
    pub conditions: Vec<String>,
    /// Security-label codes present anywhere in the patient's records.
    pub labels: Vec<String>,
    /// The patient's record at each site.
    pub sites: Vec<PatientSite>,
}

/// A patient's record at one site.
#[derive(Debug, Clone, Serialize)]
pub struct PatientSite {
    /// Site slug.
    pub site: String,
    /// The site-local Patient id.
    pub patient_id: String,
    /// The site's MRN.
    pub mrn: String,
    /// Bundle file (relative to the output directory), in the `bundles` layout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Number of encounters.
    pub encounters: u64,
    /// Number of claims.
    pub claims: u64,
    /// Number of resources in the bundle (including shared site resources).
    pub resources: u64,
}

/// Where a fact lives: patient, site and the site-local patient id.
#[derive(Debug, Clone, Serialize)]
pub struct Locator {
    /// Patient index.
    pub patient: u64,
    /// Site slug.
    pub site: String,
    /// Site-local Patient id.
    pub patient_id: String,
}

/// A diabetic patient's HbA1c history at one site (quality-gap scenarios).
#[derive(Debug, Clone, Serialize)]
pub struct DiabetesFact {
    /// Where.
    #[serde(flatten)]
    pub at: Locator,
    /// Number of HbA1c results.
    pub hba1c_count: u64,
    /// Most recent value (%).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_hba1c: Option<f64>,
    /// Most recent date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_hba1c_date: Option<String>,
    /// Last value above 9% (CMS122 "poor control").
    pub poor_control: bool,
    /// No HbA1c in the last 365 days before the reference date.
    pub gap: bool,
}

/// A COVID-19 Condition recorded at a Texas site (public-health scenarios).
#[derive(Debug, Clone, Serialize)]
pub struct CovidFact {
    /// Where.
    #[serde(flatten)]
    pub at: Locator,
    /// Condition id.
    pub condition_id: String,
    /// Encounter id.
    pub encounter_id: String,
    /// Date recorded.
    pub date: String,
}

/// A claim (payer claims-adjudication scenarios).
#[derive(Debug, Clone, Serialize)]
pub struct ClaimFact {
    /// Where.
    #[serde(flatten)]
    pub at: Locator,
    /// Claim id.
    pub claim_id: String,
    /// Provider claim control number (identifier value).
    pub control_number: String,
    /// Encounters the claim covers.
    pub encounter_ids: Vec<String>,
    /// Payer slug.
    pub payer: String,
    /// Payer NPI.
    pub payer_npi: String,
}

/// A self-pay (restricted-from-payer) encounter.
#[derive(Debug, Clone, Serialize)]
pub struct SelfPayFact {
    /// Where.
    #[serde(flatten)]
    pub at: Locator,
    /// Encounter id.
    pub encounter_id: String,
}

/// An example resource carrying a security label.
#[derive(Debug, Clone, Serialize)]
pub struct LabelFact {
    /// Where.
    #[serde(flatten)]
    pub at: Locator,
    /// Label code.
    pub label: String,
    /// `Type/id`.
    pub resource: String,
}

/// Demo facts: per patient (unbounded, small) or sampled in the summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Facts {
    /// Diabetic patients and their HbA1c series.
    pub diabetic: Vec<DiabetesFact>,
    /// COVID-19 in Texas.
    pub covid_tx: Vec<CovidFact>,
    /// Claims.
    pub claims: Vec<ClaimFact>,
    /// Self-pay encounters.
    pub self_pay: Vec<SelfPayFact>,
    /// Labeled resources.
    pub labeled: Vec<LabelFact>,
}

impl Facts {
    /// Append `other`, keeping at most [`FACT_SAMPLE`] of each kind (and per label).
    pub fn absorb_sample(&mut self, other: Facts) {
        fn take<T>(into: &mut Vec<T>, from: Vec<T>) {
            let room = FACT_SAMPLE.saturating_sub(into.len());
            into.extend(from.into_iter().take(room));
        }
        take(&mut self.diabetic, other.diabetic);
        take(&mut self.covid_tx, other.covid_tx);
        take(&mut self.claims, other.claims);
        take(&mut self.self_pay, other.self_pay);
        for fact in other.labeled {
            let same = self
                .labeled
                .iter()
                .filter(|f| f.label == fact.label)
                .count();
            if same < FACT_SAMPLE {
                self.labeled.push(fact);
            }
        }
    }
}

/// Totals of interesting facts (unsampled).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    /// Patients generated.
    pub patients: u64,
    /// (patient, site) bundles generated.
    pub bundles: u64,
    /// Resources generated (shared site resources counted once per bundle).
    pub resources: u64,
    /// Diabetic patients (at any site).
    pub diabetic_patients: u64,
    /// COVID-19 Conditions recorded at Texas sites.
    pub covid_tx_conditions: u64,
    /// Claims.
    pub claims: u64,
    /// Self-pay encounters.
    pub self_pay_encounters: u64,
}

/// Everything known only at the end of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Totals.
    pub totals: Totals,
    /// Resources per type (bundle layout: shared site resources counted per bundle).
    pub counts: BTreeMap<String, u64>,
    /// Resources per security-label code.
    pub label_counts: BTreeMap<String, u64>,
    /// Sampled facts.
    pub facts: Facts,
}

/// The whole manifest as one JSON value (small runs).
pub fn manifest_value(header: &Header, patients: &[PatientEntry], summary: &Summary) -> Value {
    let mut doc = serde_json::to_value(header).unwrap_or_else(|_| json!({}));
    if let Some(map) = doc.as_object_mut() {
        map.insert(
            "patient_records".into(),
            serde_json::to_value(patients).unwrap_or_else(|_| json!([])),
        );
        map.insert(
            "summary".into(),
            serde_json::to_value(summary).unwrap_or_else(|_| json!({})),
        );
    }
    doc
}
