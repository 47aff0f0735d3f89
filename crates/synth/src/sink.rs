//! Where generated data goes: the [`Sink`] trait and the in-memory [`MemorySink`].
//!
//! The generator hands a sink the header once, then one [`PatientOutput`] at a time, then the
//! summary; a sink that writes and drops each patient keeps memory flat whatever the run size.

use serde_json::Value;

use crate::manifest::{Header, PatientEntry, Summary, manifest_value};

/// Output layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One FHIR `collection` Bundle per (patient, site): `bundles/NNNN/<patient>/<site>.json`.
    Bundles,
    /// One NDJSON file per resource type (`<Type>.ndjson`), site resources written once.
    Ndjson,
}

impl Layout {
    /// `bundles` or `ndjson`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bundles => "bundles",
            Self::Ndjson => "ndjson",
        }
    }
}

/// One (patient, site) bundle.
#[derive(Debug, Clone)]
pub struct SiteBundle {
    /// Site slug.
    pub site: String,
    /// Path relative to the output directory in the `bundles` layout.
    pub path: String,
    /// The `collection` Bundle.
    pub bundle: Value,
}

impl SiteBundle {
    /// The bundle's resources that belong to the patient (not the shared Organization,
    /// Location and Practitioner resources every bundle of the site repeats).
    pub fn patient_resources(&self) -> impl Iterator<Item = &Value> {
        self.bundle
            .get("entry")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("resource"))
            .filter(|r| !is_shared(r))
    }
}

/// Site-level resource types, repeated in every bundle of a site.
pub fn is_shared(resource: &Value) -> bool {
    matches!(
        resource.get("resourceType").and_then(Value::as_str),
        Some("Organization" | "Location" | "Practitioner")
    )
}

/// Everything generated for one patient.
#[derive(Debug, Clone)]
pub struct PatientOutput {
    /// The manifest row.
    pub entry: PatientEntry,
    /// This patient's demo facts (unsampled).
    pub facts: crate::manifest::Facts,
    /// One bundle per site the patient visited.
    pub bundles: Vec<SiteBundle>,
}

/// A consumer of generated data.
pub trait Sink {
    /// The sink's error.
    type Error;

    /// Called once before any patient; `shared` holds each site-level resource once
    /// (Organizations, Locations, Practitioners, payer Organizations).
    fn begin(&mut self, header: &Header, shared: &[Value]) -> Result<(), Self::Error>;

    /// Called once per patient, in index order.
    fn patient(&mut self, patient: PatientOutput) -> Result<(), Self::Error>;

    /// Called once after the last patient.
    fn finish(&mut self, summary: &Summary) -> Result<(), Self::Error>;
}

/// Keeps everything in memory: for small runs, tests and the built-in demo.
#[derive(Debug, Default)]
pub struct MemorySink {
    /// The header, once `begin` ran.
    pub header: Option<Header>,
    /// Shared site-level resources.
    pub shared: Vec<Value>,
    /// Every patient, in order.
    pub patients: Vec<PatientOutput>,
    /// The summary, once `finish` ran.
    pub summary: Option<Summary>,
}

impl MemorySink {
    /// The manifest document (same shape as `manifest.json`), once the run finished.
    pub fn manifest(&self) -> Option<Value> {
        let header = self.header.as_ref()?;
        let summary = self.summary.as_ref()?;
        let entries: Vec<PatientEntry> = self.patients.iter().map(|p| p.entry.clone()).collect();
        Some(manifest_value(header, &entries, summary))
    }

    /// Every bundle as `(relative path, bundle)`.
    pub fn bundles(&self) -> Vec<(String, Value)> {
        self.patients
            .iter()
            .flat_map(|p| p.bundles.iter().map(|b| (b.path.clone(), b.bundle.clone())))
            .collect()
    }
}

impl Sink for MemorySink {
    type Error = std::convert::Infallible;

    fn begin(&mut self, header: &Header, shared: &[Value]) -> Result<(), Self::Error> {
        self.header = Some(header.clone());
        self.shared = shared.to_vec();
        Ok(())
    }

    fn patient(&mut self, patient: PatientOutput) -> Result<(), Self::Error> {
        self.patients.push(patient);
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), Self::Error> {
        self.summary = Some(summary.clone());
        Ok(())
    }
}
