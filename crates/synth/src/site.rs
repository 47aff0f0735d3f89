//! One patient's record at one site: the Patient, shared site resources, Coverage, then every
//! encounter with its content (see [`crate::encounter`]).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::catalog::RACE_ETHNICITY;
use crate::catalog::codes::Label;
use crate::date::Date;
use crate::fhir::admin::{self, Demographics};
use crate::fhir::{Accumulator, payer};
use crate::ids::permute_1e8;
use crate::manifest::{ClaimFact, CovidFact, DiabetesFact, Facts, Locator, SelfPayFact};
use crate::plan::{PatientPlan, SitePlan, Window};
use crate::prng::{Rng, derive};
use crate::world::{Payer, Site, World};

/// Facts about one generated site record.
#[derive(Debug)]
pub(crate) struct SiteRecord {
    pub(crate) patient_id: String,
    pub(crate) mrn: String,
    pub(crate) encounters: u64,
    pub(crate) claims: u64,
    pub(crate) entries: Vec<crate::fhir::Entry>,
}

/// Mutable state while generating one site record.
pub(crate) struct SiteGen<'a> {
    pub(crate) plan: &'a PatientPlan,
    pub(crate) site: &'a Site,
    pub(crate) payer: Option<&'a Payer>,
    pub(crate) window: Window,
    pub(crate) rng: Rng,
    pub(crate) acc: Accumulator,
    pub(crate) patient_id: String,
    pub(crate) patient_name: String,
    pub(crate) mrn: String,
    pub(crate) coverage_id: Option<String>,
    pub(crate) primary: bool,
    /// Chronic condition keys already on this site's problem list, with the Condition ids.
    pub(crate) recorded: Vec<(&'static str, String)>,
    pub(crate) last_a1c: Option<Date>,
    pub(crate) a1c: Vec<(Date, f64)>,
    pub(crate) flu_seasons: BTreeSet<i64>,
    pub(crate) check_up_years: BTreeSet<i64>,
    pub(crate) encounters: u64,
    pub(crate) claims: u64,
    pub(crate) facts: Facts,
}

impl<'a> SiteGen<'a> {
    fn locator(&self) -> Locator {
        Locator {
            patient: self.plan.index,
            site: self.site.spec.slug.to_owned(),
            patient_id: self.patient_id.clone(),
        }
    }

    /// Labels every resource of a self-pay encounter carries, plus `extra`.
    pub(crate) fn labels(
        &self,
        self_pay: bool,
        extra: impl IntoIterator<Item = Label>,
    ) -> BTreeSet<Label> {
        let mut set: BTreeSet<Label> = extra.into_iter().collect();
        if self_pay {
            set.insert(Label::HipaaSelfPay);
        }
        set
    }

    pub(crate) fn note_covid(&mut self, condition_id: &str, encounter_id: &str, date: Date) {
        if self.site.spec.state == "TX" {
            let at = self.locator();
            self.facts.covid_tx.push(CovidFact {
                at,
                condition_id: condition_id.to_owned(),
                encounter_id: encounter_id.to_owned(),
                date: date.to_string(),
            });
        }
    }

    pub(crate) fn note_self_pay(&mut self, encounter_id: &str) {
        let at = self.locator();
        self.facts.self_pay.push(SelfPayFact {
            at,
            encounter_id: encounter_id.to_owned(),
        });
    }

    pub(crate) fn note_claim(&mut self, claim_id: &str, control_number: &str, encounter_id: &str) {
        if let Some(payer) = self.payer {
            let at = self.locator();
            self.facts.claims.push(ClaimFact {
                at,
                claim_id: claim_id.to_owned(),
                control_number: control_number.to_owned(),
                encounter_ids: vec![encounter_id.to_owned()],
                payer: payer.spec.slug.to_owned(),
                payer_npi: payer.npi.clone(),
            });
        }
    }
}

/// Generate the record of `plan` at the site planned by `site_plan`.
pub(crate) fn generate(
    seed: u64,
    plan: &PatientPlan,
    site_plan: &SitePlan,
    world: &World,
    window: Window,
) -> (SiteRecord, Facts) {
    let site = &world.sites[site_plan.site];
    let site_index = site.index as u64;
    let mut acc = Accumulator::new(seed, plan.index, site_index);
    let mrn = format!(
        "{}{:08}",
        site.spec.mrn_prefix,
        permute_1e8(plan.index, derive("mrn", &[seed, site_index]))
    );
    let patient_name = format!("{} {}", plan.given, plan.family);
    let (race_code, race_display, eth_code, eth_display) = RACE_ETHNICITY
        .get(plan.race_ethnicity)
        .copied()
        .unwrap_or(RACE_ETHNICITY[0]);
    let birth = plan.birth.to_string();
    let person_id = crate::ids::person_id(seed, plan.index);
    let demographics = Demographics {
        person_id: &person_id,
        given: plan.given,
        middle: plan.middle,
        family: plan.family,
        gender: plan.gender.code(),
        birth_date: &birth,
        line: &plan.line,
        city: plan.city,
        state: plan.state,
        zip: &plan.zip,
        phone: &plan.phone,
        race: (race_code, race_display),
        ethnicity: (eth_code, eth_display),
    };
    let patient = admin::patient(
        &demographics,
        &site.mrn_system(),
        &mrn,
        &site.organization_id,
        site.spec.name,
    );
    let patient_id = acc.add("Patient", patient, &BTreeSet::new());

    acc.add_shared("Organization", &site.organization_id, &site.organization);
    acc.add_shared("Location", &site.location_id, &site.location);
    for practitioner in &site.practitioners {
        acc.add_shared("Practitioner", &practitioner.id, &practitioner.resource);
    }
    let payer = plan.payer.and_then(|p| world.payers.get(p));
    let coverage_id = payer.map(|payer| {
        acc.add_shared("Organization", &payer.organization_id, &payer.organization);
        let member = format!(
            "{}{:08}",
            payer.spec.member_prefix,
            permute_1e8(plan.index, derive("member", &[seed, payer.index as u64]))
        );
        let start = window.start.plus_days(-365 * 2).to_string();
        let body = payer::coverage(
            &patient_id,
            &patient_name,
            &payer.organization_id,
            payer.spec.name,
            (&payer.member_system(), &member),
            &start,
        );
        acc.add("Coverage", body, &BTreeSet::new())
    });

    let mut state = SiteGen {
        plan,
        site,
        payer,
        window,
        rng: Rng::new(derive("site-stream", &[seed, plan.index, site_index])),
        acc,
        patient_id,
        patient_name,
        mrn,
        coverage_id,
        primary: site_plan.primary,
        recorded: Vec::new(),
        last_a1c: None,
        a1c: Vec::new(),
        flu_seasons: BTreeSet::new(),
        check_up_years: BTreeSet::new(),
        encounters: 0,
        claims: 0,
        facts: Facts::default(),
    };
    for (n, encounter) in site_plan.encounters.iter().enumerate() {
        state.encounter(n, encounter);
    }
    finish(state)
}

fn finish(mut state: SiteGen<'_>) -> (SiteRecord, Facts) {
    if state
        .recorded
        .iter()
        .any(|(key, _)| *key == crate::catalog::codes::DIABETES.key)
    {
        let reference = state.window.end.plus_days(1);
        let last = state.a1c.last().copied();
        let at = state.locator();
        state.facts.diabetic.push(DiabetesFact {
            at,
            hba1c_count: state.a1c.len() as u64,
            last_hba1c: last.map(|(_, v)| v),
            last_hba1c_date: last.map(|(d, _)| d.to_string()),
            poor_control: last.is_none_or(|(_, v)| v > 9.0),
            gap: last.is_none_or(|(d, _)| d.days() < reference.days() - 365),
        });
    }
    let record = SiteRecord {
        patient_id: state.patient_id,
        mrn: state.mrn,
        encounters: state.encounters,
        claims: state.claims,
        entries: state.acc.entries,
    };
    (record, state.facts)
}

/// Build the claim for an encounter; returns (claim id, control number).
#[allow(clippy::too_many_arguments)]
pub(crate) fn add_claim(
    state: &mut SiteGen<'_>,
    encounter_id: &str,
    practitioner_id: &str,
    n: usize,
    created: &str,
    service_date: &str,
    institutional: bool,
    service: &crate::catalog::codes::Code,
    charge_cents: i64,
    diagnoses: &[String],
    labels: &BTreeSet<Label>,
) -> Option<(String, String)> {
    let payer = state.payer?;
    let coverage_id = state.coverage_id.clone()?;
    let control = format!("CLM-{}-{:03}", state.mrn, n + 1);
    let claim_system = state.site.claim_system();
    let body: Value = payer::claim(&payer::ClaimParts {
        patient: (&state.patient_id, &state.patient_name),
        provider: (&state.site.organization_id, state.site.spec.name),
        insurer: (&payer.organization_id, payer.spec.name),
        coverage_id: &coverage_id,
        encounter_id,
        practitioner_id,
        control_number: (&claim_system, &control),
        created,
        service_date,
        institutional,
        service,
        charge_cents,
        diagnoses,
    });
    let id = state.acc.add("Claim", body, labels);
    Some((id, control))
}
