//! Deterministic, seedable synthetic FHIR R4 data generator that streams to disk.
//!
//! `generate(&config, &mut sink)` plans each patient from its own PRNG stream keyed by
//! `(seed, patient index)`, builds one FHIR `collection` Bundle per (patient, site), hands it to
//! the [`Sink`] and drops it: memory stays flat for any number of patients. Output depends only
//! on `(seed, patients, sites, reference date, layout)` — never on the clock — and the first N
//! patients of a larger run are identical to an N-patient run.
//!
//! The crate is pure apart from [`write`], the one module that touches the file system.
//! [`demo`] builds the small built-in dataset that `tessera demo` serves without any files.

mod catalog;
mod date;
mod encounter;
mod fhir;
mod ids;
pub mod json;
pub mod manifest;
mod npi;
mod patient;
mod plan;
mod prng;
pub mod sink;
mod site;
mod world;
pub mod write;

use serde_json::Value;

pub use catalog::codes::{ACT_CODE, Label};
pub use date::{Date, DateParseError};
pub use manifest::{Header, PatientEntry, Summary};
pub use npi::{NPI_SYSTEM, is_valid_npi, npi_check_digit};
pub use sink::{Layout, MemorySink, PatientOutput, Sink, SiteBundle};

use crate::manifest::{Facts, PayerInfo, PractitionerInfo, SiteInfo, Totals};
use crate::patient::{Run, Tally};
use crate::plan::Window;
use crate::world::World;

/// Identifier system of the cross-site person id every generated Patient record carries: the
/// enterprise identifier a Data Holder configures (`[linkage] enterprise_identifier_systems`)
/// to link one person's records at several sites.
pub const PERSON_ID_SYSTEM: &str = "https://synth.tessera.example/fhir/sid/person-id";

/// The cross-site person id of patient `index` of a run with `seed`.
pub fn person_id(seed: u64, index: u64) -> String {
    ids::person_id(seed, index)
}

/// Most patients one run may generate (MRNs and member ids are unique below 10^8).
pub const MAX_PATIENTS: u64 = 50_000_000;
/// Number of sites in the built-in catalog.
pub const CATALOG_SITES: usize = catalog::SITES.len();
/// The default reference date.
pub const DEFAULT_REFERENCE_DATE: &str = "2026-01-01";
/// Seed of the built-in demo dataset.
pub const DEMO_SEED: u64 = 42;
/// Patients in the built-in demo dataset.
pub const DEMO_PATIENTS: u64 = 8;
/// Sites in the built-in demo dataset (two in Texas, one in Illinois, one in Georgia).
pub const DEMO_SITES: usize = 4;

/// What to generate. Built with [`Config::new`]; there is deliberately no `Default`.
#[derive(Debug, Clone)]
pub struct Config {
    /// PRNG seed.
    pub seed: u64,
    /// Number of patients (1..=[`MAX_PATIENTS`]).
    pub patients: u64,
    /// Number of catalog sites to use (1..=[`CATALOG_SITES`]); a prefix of the catalog, whose
    /// first two sites are in Texas.
    pub sites: usize,
    /// All dates fall in the `years` before this date.
    pub reference_date: Date,
    /// Length of the clinical history window in years (1..=20).
    pub years: u32,
    /// Output layout (recorded in the manifest; bundle paths are only meaningful for `Bundles`).
    pub layout: Layout,
}

impl Config {
    /// `patients` patients from `seed` over every catalog site, six years before 2026-01-01.
    pub fn new(seed: u64, patients: u64) -> Self {
        Self {
            seed,
            patients,
            sites: CATALOG_SITES,
            reference_date: Date::from_ymd(2026, 1, 1).unwrap_or(Date::from_unix(1_767_225_600)),
            years: 6,
            layout: Layout::Bundles,
        }
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.patients == 0 || self.patients > MAX_PATIENTS {
            return Err(ConfigError::Patients(self.patients));
        }
        if self.sites == 0 || self.sites > CATALOG_SITES {
            return Err(ConfigError::Sites(self.sites));
        }
        if !(1..=20).contains(&self.years) {
            return Err(ConfigError::Years(self.years));
        }
        Ok(())
    }
}

/// An unusable [`Config`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Patients outside 1..=MAX_PATIENTS.
    #[error("patients must be between 1 and {MAX_PATIENTS}, got {0}")]
    Patients(u64),
    /// Sites outside 1..=CATALOG_SITES.
    #[error("sites must be between 1 and {CATALOG_SITES}, got {0}")]
    Sites(usize),
    /// Years outside 1..=20.
    #[error("years must be between 1 and 20, got {0}")]
    Years(u32),
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError<E> {
    /// The configuration was rejected before anything was generated.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The sink failed.
    #[error("output failed: {0}")]
    Sink(E),
}

/// Generate `config.patients` patients into `sink`, returning the summary also given to it.
pub fn generate<S: Sink>(
    config: &Config,
    sink: &mut S,
) -> Result<Summary, GenerateError<S::Error>> {
    config.check()?;
    let end = config.reference_date.plus_days(-1);
    let years = i64::from(config.years);
    let window = Window {
        start: config.reference_date.plus_days(-(years * 365 + years / 4)),
        end,
    };
    let run = Run {
        seed: config.seed,
        layout: config.layout,
        world: World::new(config.sites),
        window,
        timestamp: config.reference_date.at(0),
    };
    let header = header(config, &run);
    sink.begin(&header, &shared_resources(&run.world))
        .map_err(GenerateError::Sink)?;

    let mut tally = Tally::default();
    let mut totals = Totals::default();
    let mut facts = Facts::default();
    for index in 0..config.patients {
        let output = patient::generate(&run, index, &mut tally);
        totals.patients += 1;
        totals.bundles += output.bundles.len() as u64;
        totals.resources += output.entry.sites.iter().map(|s| s.resources).sum::<u64>();
        totals.claims += output.facts.claims.len() as u64;
        totals.self_pay_encounters += output.facts.self_pay.len() as u64;
        totals.covid_tx_conditions += output.facts.covid_tx.len() as u64;
        if output.entry.conditions.iter().any(|c| c == "diabetes") {
            totals.diabetic_patients += 1;
        }
        facts.absorb_sample(output.facts.clone());
        sink.patient(output).map_err(GenerateError::Sink)?;
    }
    let summary = Summary {
        totals,
        counts: tally
            .counts
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        label_counts: tally.labels,
        facts,
    };
    sink.finish(&summary).map_err(GenerateError::Sink)?;
    Ok(summary)
}

fn header(config: &Config, run: &Run) -> Header {
    Header {
        generator: "tessera-synth".into(),
        format_version: 1,
        seed: config.seed,
        patients: config.patients,
        reference_date: config.reference_date.to_string(),
        window_start: run.window.start.to_string(),
        window_end: run.window.end.to_string(),
        layout: config.layout.name().into(),
        sites: run
            .world
            .sites
            .iter()
            .map(|s| SiteInfo {
                slug: s.spec.slug.into(),
                name: s.spec.name.into(),
                kind: s.spec.kind.label().into(),
                npi: s.npi.clone(),
                city: s.spec.city.into(),
                state: s.spec.state.into(),
                organization_id: s.organization_id.clone(),
                location_id: s.location_id.clone(),
                mrn_system: s.mrn_system(),
                claim_system: s.claim_system(),
                practitioners: s
                    .practitioners
                    .iter()
                    .map(|p| PractitionerInfo {
                        id: p.id.clone(),
                        npi: p.npi.clone(),
                        name: p.display(),
                    })
                    .collect(),
            })
            .collect(),
        payers: run
            .world
            .payers
            .iter()
            .map(|p| PayerInfo {
                slug: p.spec.slug.into(),
                name: p.spec.name.into(),
                npi: p.npi.clone(),
                state: p.spec.state.into(),
                serves: p.spec.serves.iter().map(|s| (*s).to_owned()).collect(),
                organization_id: p.organization_id.clone(),
                member_system: p.member_system(),
            })
            .collect(),
    }
}

fn shared_resources(world: &World) -> Vec<Value> {
    let mut out = Vec::new();
    for site in &world.sites {
        out.push(site.organization.clone());
        out.push(site.location.clone());
        out.extend(site.practitioners.iter().map(|p| p.resource.clone()));
    }
    out.extend(world.payers.iter().map(|p| p.organization.clone()));
    out
}

/// The built-in demo dataset: [`DEMO_PATIENTS`] patients over [`DEMO_SITES`] sites in three
/// states, seed [`DEMO_SEED`], reference date 2026-01-01.
#[derive(Debug, Clone)]
pub struct Demo {
    /// The manifest document.
    pub manifest: Value,
    /// Every bundle as `(relative path, bundle)`.
    pub bundles: Vec<(String, Value)>,
}

/// The [`Config`] of the built-in demo dataset.
pub fn demo_config() -> Config {
    Config {
        sites: DEMO_SITES,
        ..Config::new(DEMO_SEED, DEMO_PATIENTS)
    }
}

/// Generate the built-in demo dataset in memory.
pub fn demo() -> Demo {
    let mut sink = MemorySink::default();
    // The demo config is valid and the memory sink cannot fail.
    let _ = generate(&demo_config(), &mut sink);
    Demo {
        manifest: sink.manifest().unwrap_or(Value::Null),
        bundles: sink.bundles(),
    }
}

/// The built-in demo bundles as `(relative path, bundle)`.
pub fn demo_bundles() -> Vec<(String, Value)> {
    demo().bundles
}
