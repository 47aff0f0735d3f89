//! The cast: which Data Holder, patients, claim, payer and case the scenarios use, chosen from
//! the manifest of the built-in synthetic data set (`tessera_synth::demo`).
//!
//! The Data Holder is every site of the state where the data set records COVID-19 (a small
//! Texas network), because the public health ticket filters Data Holders by jurisdiction. The
//! choices are rules over the manifest's facts rather than hard-coded ids, so a change of the
//! generator moves the demo with it, and a data set that lacks a needed fact stops the demo
//! with a message naming it.

use serde::Deserialize;
use serde_json::Value;

use crate::error::DemoError;

/// One care site of the Data Holder.
#[derive(Debug, Clone, Deserialize)]
pub struct Site {
    /// Slug (also the store's site id).
    pub slug: String,
    /// Organization name.
    pub name: String,
    /// Organization NPI.
    pub npi: String,
    /// City.
    pub city: String,
    /// State.
    pub state: String,
    /// MRN identifier system.
    pub mrn_system: String,
    /// Claim control number system.
    pub claim_system: String,
}

/// A patient's record at one site of the Data Holder.
#[derive(Debug, Clone)]
pub struct Record {
    /// Given name.
    pub given: String,
    /// Family name.
    pub family: String,
    /// `female` / `male`.
    pub gender: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// Site slug.
    pub site: String,
    /// Site name.
    pub site_name: String,
    /// MRN system of the site.
    pub mrn_system: String,
    /// MRN.
    pub mrn: String,
    /// The local Patient id.
    pub patient_id: String,
    /// The patient's bundle at this site (what the store holds about them there).
    pub bundle: Value,
}

impl Record {
    /// "Given Family".
    pub fn display(&self) -> String {
        format!("{} {}", self.given, self.family)
    }
}

/// The claim the payer-claims ticket is attached to.
#[derive(Debug, Clone)]
pub struct ClaimPick {
    /// Control number system.
    pub system: String,
    /// Control number.
    pub control_number: String,
    /// The one encounter the claim covers.
    pub encounter_id: String,
}

/// The payer of the claims and quality scenarios.
#[derive(Debug, Clone, Deserialize)]
pub struct Payer {
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// NPI.
    pub npi: String,
}

/// The COVID-19 case of the public health scenario.
#[derive(Debug, Clone)]
pub struct Case {
    /// The patient's record where the case was recorded.
    pub record: Record,
    /// The Condition id.
    pub condition_id: String,
    /// Date recorded.
    pub date: String,
}

/// Everything the scenarios need from the data set.
#[derive(Debug, Clone)]
pub struct Cast {
    /// The Data Holder's state (its `[holder] address`).
    pub state: String,
    /// The Data Holder's sites.
    pub sites: Vec<Site>,
    /// The bundles the Data Holder loads, as `(site slug, bundle)`.
    pub bundles: Vec<(String, Value)>,
    /// The last day of the data's clinical window (`YYYY-MM-DD`).
    pub window_end: String,
    /// The quality measure's measurement year (the last full year of data).
    pub measurement_year: i64,
    /// Self access, payer claims and quality gap: a diabetic patient with self-pay visits.
    pub patient: Record,
    /// The claim.
    pub claim: ClaimPick,
    /// The patient's payer.
    pub payer: Payer,
    /// Public health.
    pub case: Case,
    /// Delegated access: an older patient with mental-health-labelled records.
    pub elder: Record,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    window_end: String,
    sites: Vec<Site>,
    payers: Vec<Payer>,
    patient_records: Vec<PatientRecord>,
    summary: Summary,
}

#[derive(Debug, Deserialize)]
struct PatientRecord {
    index: u64,
    given: String,
    family: String,
    gender: String,
    birth_date: String,
    #[serde(default)]
    payer: Option<String>,
    sites: Vec<PatientSite>,
}

#[derive(Debug, Deserialize)]
struct PatientSite {
    site: String,
    patient_id: String,
    mrn: String,
    #[serde(default)]
    file: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Summary {
    facts: Facts,
}

#[derive(Debug, Deserialize)]
struct Facts {
    diabetic: Vec<DiabetesFact>,
    covid_tx: Vec<CovidFact>,
    claims: Vec<ClaimFact>,
    self_pay: Vec<Located>,
    labeled: Vec<LabelFact>,
}

#[derive(Debug, Deserialize)]
struct Located {
    patient: u64,
    site: String,
    #[serde(default)]
    encounter_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DiabetesFact {
    patient: u64,
    site: String,
    hba1c_count: u64,
}

#[derive(Debug, Deserialize)]
struct CovidFact {
    patient: u64,
    site: String,
    condition_id: String,
    date: String,
}

#[derive(Debug, Deserialize)]
struct ClaimFact {
    patient: u64,
    site: String,
    control_number: String,
    encounter_ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct LabelFact {
    patient: u64,
    site: String,
    label: String,
}

impl Cast {
    /// Chooses the cast from the built-in demo data set.
    pub fn from_demo(demo: &tessera_synth::Demo) -> Result<Cast, DemoError> {
        let m: Manifest = serde_json::from_value(demo.manifest.clone())
            .map_err(|e| DemoError::Data(format!("manifest: {e}")))?;
        let f = &m.summary.facts;
        let missing = |what: &str| DemoError::Data(format!("no {what} in the demo data set"));

        let state = f
            .covid_tx
            .first()
            .and_then(|c| m.sites.iter().find(|s| s.slug == c.site))
            .map(|s| s.state.clone())
            .ok_or_else(|| missing("COVID-19 case at a known site"))?;
        let sites: Vec<Site> = m
            .sites
            .iter()
            .filter(|s| s.state == state)
            .cloned()
            .collect();
        let served = |site: &str| sites.iter().any(|s| s.slug == site);

        // A diabetic with HbA1c results, self-pay visits and claims at the same site.
        let anchor = f
            .diabetic
            .iter()
            .filter(|d| d.hba1c_count > 0 && served(&d.site))
            .find(|d| {
                let here = |p: u64, s: &str| p == d.patient && s == d.site;
                f.self_pay.iter().any(|x| here(x.patient, &x.site))
                    && f.claims.iter().any(|x| here(x.patient, &x.site))
            })
            .ok_or_else(|| missing("diabetic patient with self-pay visits and claims"))?;
        let patient = record(&m, demo, anchor.patient, &anchor.site)?;

        let self_pay: Vec<&str> = f
            .self_pay
            .iter()
            .filter(|x| x.patient == anchor.patient && x.site == anchor.site)
            .filter_map(|x| x.encounter_id.as_deref())
            .collect();
        let claim = f
            .claims
            .iter()
            .filter(|c| c.patient == anchor.patient && c.site == anchor.site)
            .filter(|c| c.encounter_ids.len() == 1)
            .filter(|c| {
                !c.encounter_ids
                    .iter()
                    .any(|e| self_pay.contains(&e.as_str()))
            })
            .filter_map(|c| Some((c, c.encounter_ids.first()?)))
            .max_by_key(|(_, enc)| linked_count(&patient.bundle, enc))
            .map(|(c, enc)| ClaimPick {
                system: site_of(&sites, &c.site)
                    .map(|s| s.claim_system.clone())
                    .unwrap_or_default(),
                control_number: c.control_number.clone(),
                encounter_id: enc.clone(),
            })
            .ok_or_else(|| missing("single-encounter claim of the patient"))?;
        let payer_slug = m
            .patient_records
            .iter()
            .find(|p| p.index == anchor.patient)
            .and_then(|p| p.payer.clone())
            .ok_or_else(|| missing("payer of the patient"))?;
        let payer = m
            .payers
            .iter()
            .find(|p| p.slug == payer_slug)
            .cloned()
            .ok_or_else(|| missing("payer entry"))?;

        let covid = f
            .covid_tx
            .iter()
            .filter(|c| served(&c.site))
            .min_by_key(|c| c.patient != anchor.patient)
            .ok_or_else(|| missing("COVID-19 case at a Data Holder site"))?;
        let case = Case {
            record: record(&m, demo, covid.patient, &covid.site)?,
            condition_id: covid.condition_id.clone(),
            date: covid.date.clone(),
        };

        let elder_fact = f
            .labeled
            .iter()
            .filter(|l| l.label == "MH" && l.patient != anchor.patient && served(&l.site))
            .min_by_key(|l| {
                m.patient_records
                    .iter()
                    .find(|p| p.index == l.patient)
                    .map(|p| p.birth_date.clone())
            })
            .ok_or_else(|| missing("other patient with mental-health-labelled records"))?;
        let elder = record(&m, demo, elder_fact.patient, &elder_fact.site)?;

        let bundles = demo
            .bundles
            .iter()
            .filter_map(|(path, bundle)| {
                let stem = std::path::Path::new(path).file_stem()?.to_str()?;
                served(stem).then(|| (stem.to_owned(), bundle.clone()))
            })
            .collect();
        let measurement_year = m
            .window_end
            .get(..4)
            .and_then(|y| y.parse::<i64>().ok())
            .ok_or_else(|| missing("clinical window end"))?;
        Ok(Cast {
            state,
            sites,
            bundles,
            window_end: m.window_end.clone(),
            measurement_year,
            patient,
            claim,
            payer,
            case,
            elder,
        })
    }

    /// The site by slug.
    pub fn site(&self, slug: &str) -> Option<&Site> {
        site_of(&self.sites, slug)
    }
}

fn site_of<'a>(sites: &'a [Site], slug: &str) -> Option<&'a Site> {
    sites.iter().find(|s| s.slug == slug)
}

/// Resources of `bundle` that reference `Encounter/{id}`.
fn linked_count(bundle: &Value, encounter_id: &str) -> usize {
    let reference = format!("Encounter/{encounter_id}");
    resources(bundle)
        .filter(|r| r.pointer("/encounter/reference").and_then(Value::as_str) == Some(&reference))
        .count()
}

/// The resources of a Bundle.
pub fn resources(bundle: &Value) -> impl Iterator<Item = &Value> {
    bundle
        .get("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("resource"))
}

fn record(
    m: &Manifest,
    demo: &tessera_synth::Demo,
    index: u64,
    site: &str,
) -> Result<Record, DemoError> {
    let missing = |what: String| DemoError::Data(format!("{what} not in the demo data set"));
    let p = m
        .patient_records
        .iter()
        .find(|p| p.index == index)
        .ok_or_else(|| missing(format!("patient {index}")))?;
    let at = p
        .sites
        .iter()
        .find(|s| s.site == site)
        .ok_or_else(|| missing(format!("record of patient {index} at {site}")))?;
    let s = site_of(&m.sites, site).ok_or_else(|| missing(format!("site {site}")))?;
    let file = at.file.as_deref().unwrap_or_default();
    let bundle = demo
        .bundles
        .iter()
        .find(|(path, _)| path == file)
        .map(|(_, b)| b.clone())
        .ok_or_else(|| missing(format!("bundle {file}")))?;
    Ok(Record {
        given: p.given.clone(),
        family: p.family.clone(),
        gender: p.gender.clone(),
        birth_date: p.birth_date.clone(),
        site: site.to_owned(),
        site_name: s.name.clone(),
        mrn_system: s.mrn_system.clone(),
        mrn: at.mrn.clone(),
        patient_id: at.patient_id.clone(),
        bundle,
    })
}
