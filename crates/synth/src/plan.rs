//! A patient's life story before any FHIR is written: demographics, conditions, sites visited
//! and the encounter schedule, all drawn from the patient's own PRNG stream.
//!
//! The first few patient indices are *archetypes* whose key facts are forced (diabetes with
//! poor control and COVID-19 in Texas, behavioral health with a self-pay visit, sexual health,
//! controlled diabetes with an admission), so every dataset — whatever its seed or size — has
//! the patients the demo scenarios need. Later patients are drawn from prevalence tables.

use crate::catalog::codes::{
    ALCOHOL_USE, ANXIETY, ASTHMA, BRONCHITIS, CHLAMYDIA, CKD3, COVID, ConditionSpec, DEPRESSION,
    DIABETES, HIV, HYPERLIPIDEMIA, HYPERTENSION, OBESITY, PREGNANCY, SPRAIN,
};
use crate::catalog::{FAMILY, GIVEN_FEMALE, GIVEN_MALE, RACE_ETHNICITY, STREETS, SiteKind};
use crate::date::Date;
use crate::prng::Rng;
use crate::world::World;

/// Administrative gender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gender {
    Female,
    Male,
}

impl Gender {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::Female => "female",
            Self::Male => "male",
        }
    }
}

/// Encounter class (v3-ActCode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Ambulatory,
    Emergency,
    Inpatient,
}

impl Class {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::Ambulatory => "AMB",
            Self::Emergency => "EMER",
            Self::Inpatient => "IMP",
        }
    }

    pub(crate) fn display(self) -> &'static str {
        match self {
            Self::Ambulatory => "ambulatory",
            Self::Emergency => "emergency",
            Self::Inpatient => "inpatient encounter",
        }
    }
}

/// A chronic condition and when it began (and ended, if it resolved).
#[derive(Debug)]
pub(crate) struct Chronic {
    pub(crate) spec: &'static ConditionSpec,
    pub(crate) onset: Date,
    pub(crate) resolved: Option<Date>,
}

/// One planned encounter.
#[derive(Debug)]
pub(crate) struct EncounterPlan {
    /// Unix seconds of the start.
    pub(crate) start: i64,
    /// Unix seconds of the end.
    pub(crate) end: i64,
    pub(crate) class: Class,
    pub(crate) acute: Option<&'static ConditionSpec>,
    pub(crate) self_pay: bool,
}

impl EncounterPlan {
    pub(crate) fn date(&self) -> Date {
        Date::from_unix(self.start)
    }
}

/// The encounters at one site.
#[derive(Debug)]
pub(crate) struct SitePlan {
    pub(crate) site: usize,
    pub(crate) primary: bool,
    pub(crate) encounters: Vec<EncounterPlan>,
}

/// How a diabetic's HbA1c evolves: tenths of a percent at the window start, and per year.
#[derive(Debug, Clone, Copy)]
pub(crate) struct A1cTrack {
    pub(crate) start: i64,
    pub(crate) per_year: i64,
}

/// Everything about one patient that the FHIR builders need.
#[derive(Debug)]
pub(crate) struct PatientPlan {
    pub(crate) index: u64,
    pub(crate) archetype: Option<&'static str>,
    pub(crate) gender: Gender,
    pub(crate) given: &'static str,
    pub(crate) middle: &'static str,
    pub(crate) family: &'static str,
    pub(crate) birth: Date,
    pub(crate) race_ethnicity: usize,
    pub(crate) line: String,
    pub(crate) city: &'static str,
    pub(crate) state: &'static str,
    pub(crate) zip: String,
    pub(crate) phone: String,
    pub(crate) payer: Option<usize>,
    pub(crate) chronic: Vec<Chronic>,
    pub(crate) a1c: A1cTrack,
    pub(crate) allergy: Option<usize>,
    pub(crate) smoking: usize,
    pub(crate) height_mm: i64,
    pub(crate) weight_hg: i64,
    pub(crate) sites: Vec<SitePlan>,
}

impl PatientPlan {
    pub(crate) fn has(&self, spec: &ConditionSpec) -> bool {
        self.chronic.iter().any(|c| c.spec.key == spec.key)
    }

    pub(crate) fn age_on(&self, date: Date) -> i64 {
        self.birth.age_on(date)
    }
}

/// The dates a run covers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub(crate) start: Date,
    pub(crate) end: Date,
}

/// The forced facts of an archetype.
struct Archetype {
    name: &'static str,
    sites: &'static [usize],
    age: (i64, i64),
    gender: Option<Gender>,
    chronic: &'static [&'static ConditionSpec],
    poor_a1c: bool,
    /// Acute episodes forced at the site at this position of `sites`.
    acute: &'static [(&'static ConditionSpec, usize)],
    self_pay_at: Option<usize>,
    admission_at: Option<usize>,
}

const ARCHETYPES: &[Archetype] = &[
    Archetype {
        name: "diabetes-covid-tx",
        sites: &[0, 1],
        age: (50, 70),
        gender: None,
        chronic: &[&DIABETES, &HYPERTENSION],
        poor_a1c: true,
        acute: &[(&COVID, 1)],
        self_pay_at: None,
        admission_at: None,
    },
    Archetype {
        name: "behavioral-health",
        sites: &[2, 3],
        age: (25, 55),
        gender: None,
        chronic: &[&DEPRESSION, &ANXIETY, &ALCOHOL_USE],
        poor_a1c: false,
        acute: &[],
        self_pay_at: Some(1),
        admission_at: None,
    },
    Archetype {
        name: "sexual-health",
        sites: &[2],
        age: (22, 38),
        gender: Some(Gender::Female),
        chronic: &[&HIV],
        poor_a1c: false,
        acute: &[(&CHLAMYDIA, 0), (&PREGNANCY, 0)],
        self_pay_at: None,
        admission_at: None,
    },
    Archetype {
        name: "controlled-diabetes",
        sites: &[1, 0],
        age: (45, 75),
        gender: None,
        chronic: &[&DIABETES, &HYPERLIPIDEMIA],
        poor_a1c: false,
        acute: &[],
        self_pay_at: None,
        admission_at: Some(0),
    },
];

/// Plan patient `index` from its own stream.
pub(crate) fn plan(index: u64, world: &World, window: Window, rng: &mut Rng) -> PatientPlan {
    let archetype = usize::try_from(index).ok().and_then(|i| ARCHETYPES.get(i));
    let n_sites = world.sites.len();
    let reference = window.end.plus_days(1);

    let mut site_order: Vec<usize> = match archetype {
        Some(a) => {
            let mut v: Vec<usize> = a
                .sites
                .iter()
                .map(|&s| if s < n_sites { s } else { 0 })
                .collect();
            v.dedup();
            v
        }
        None => random_sites(n_sites, rng),
    };
    if site_order.is_empty() {
        site_order.push(0);
    }
    let primary_site = &world.sites[site_order[0].min(n_sites.saturating_sub(1))];

    let gender = match archetype.and_then(|a| a.gender) {
        Some(g) => g,
        None if rng.chance(510) => Gender::Female,
        None => Gender::Male,
    };
    let age = match archetype {
        Some(a) => rng.range(a.age.0, a.age.1),
        None if rng.chance(80) => rng.range(2, 17),
        None => rng.range(18, 89),
    };
    let birth = reference.plus_days(-(age * 365 + age / 4) - rng.range(1, 364));
    let names = if gender == Gender::Female {
        GIVEN_FEMALE
    } else {
        GIVEN_MALE
    };
    let given = rng.pick(names).copied().unwrap_or("Alex");
    let middle = rng.pick(names).copied().unwrap_or("Sam");
    let family = rng.pick(FAMILY).copied().unwrap_or("Doe");
    let race_ethnicity = rng.below(RACE_ETHNICITY.len() as u64) as usize;
    let street = rng.pick(STREETS).copied().unwrap_or("Main St");
    let line = format!("{} {street}", rng.range(100, 9899));
    let zip_prefix = primary_site.spec.zip.get(0..3).unwrap_or("000");
    let zip = format!("{zip_prefix}{:02}", rng.range(1, 99));
    let phone = format!(
        "{}-555-01{:02}",
        primary_site.spec.area_code,
        rng.range(0, 99)
    );

    let payer = if rng.chance(60) && archetype.is_none() {
        None
    } else if rng.chance(300) {
        Some(0)
    } else {
        Some(
            world
                .regional_payer(primary_site.spec.state)
                .map_or(0, |p| p.index),
        )
    };

    let chronic = chronic_conditions(archetype, age, birth, window, rng);
    let poor = archetype.map_or_else(|| rng.chance(450), |a| a.poor_a1c);
    let a1c = if poor {
        A1cTrack {
            start: rng.range(84, 105),
            per_year: rng.range(-1, 4),
        }
    } else {
        A1cTrack {
            start: rng.range(62, 72),
            per_year: rng.range(-1, 1),
        }
    };
    let allergy = if rng.chance(250) {
        Some(rng.below(5) as usize)
    } else {
        None
    };
    let smoking = if age < 18 { 0 } else { rng.below(3) as usize };
    let (height_mm, weight_hg) = body(
        gender,
        age,
        chronic.iter().any(|c| c.spec.key == OBESITY.key),
        rng,
    );

    let mut plan = PatientPlan {
        index,
        archetype: archetype.map(|a| a.name),
        gender,
        given,
        middle,
        family,
        birth,
        race_ethnicity,
        line,
        city: primary_site.spec.city,
        state: primary_site.spec.state,
        zip,
        phone,
        payer,
        chronic,
        a1c,
        allergy,
        smoking,
        height_mm,
        weight_hg,
        sites: Vec::new(),
    };
    for (position, &site) in site_order.iter().enumerate() {
        let kind = world.sites[site].spec.kind;
        let encounters = schedule(&plan, kind, position == 0, window, rng);
        plan.sites.push(SitePlan {
            site,
            primary: position == 0,
            encounters,
        });
    }
    if let Some(a) = archetype {
        force_archetype(&mut plan, a, world, window, rng);
    }
    for site in &mut plan.sites {
        site.encounters.sort_by_key(|e| e.start);
    }
    plan
}

fn random_sites(n_sites: usize, rng: &mut Rng) -> Vec<usize> {
    let mut order = vec![rng.below(n_sites as u64) as usize];
    let extra = if rng.chance(150) {
        2
    } else if rng.chance(450) {
        1
    } else {
        0
    };
    for _ in 0..extra {
        if order.len() >= n_sites {
            break;
        }
        let candidates: Vec<usize> = (0..n_sites).filter(|s| !order.contains(s)).collect();
        if let Some(&s) = rng.pick(&candidates) {
            order.push(s);
        }
    }
    order
}

fn chronic_conditions(
    archetype: Option<&Archetype>,
    age: i64,
    birth: Date,
    window: Window,
    rng: &mut Rng,
) -> Vec<Chronic> {
    let mut specs: Vec<&'static ConditionSpec> = Vec::new();
    if let Some(a) = archetype {
        specs.extend(a.chronic.iter().copied());
    } else {
        let adult = age >= 18;
        let table: [(&'static ConditionSpec, bool, u32); 10] = [
            (&HYPERTENSION, age >= 30, 300),
            (&DIABETES, age >= 30, 140),
            (&HYPERLIPIDEMIA, age >= 35, 250),
            (&ASTHMA, true, 80),
            (&OBESITY, adult, 200),
            (&DEPRESSION, adult, 100),
            (&ANXIETY, adult, 70),
            (&ALCOHOL_USE, adult, 40),
            (&HIV, adult, 15),
            (&CKD3, age >= 55, 60),
        ];
        for (spec, eligible, permille) in table {
            // Draw even when ineligible so one patient's eligibility never shifts the stream.
            let hit = rng.chance(permille);
            if eligible && hit {
                specs.push(spec);
            }
        }
    }
    let earliest = birth.plus_days(365 * 2);
    let span = window.end.days() - window.start.days();
    specs
        .into_iter()
        .map(|spec| {
            let pre_existing = archetype.is_some() || rng.chance(450);
            let onset = if pre_existing {
                window.start.plus_days(-rng.range(30, 3650))
            } else {
                window.start.plus_days(rng.range(0, span))
            };
            let onset = onset.max(earliest);
            let resolved = if spec.key == DEPRESSION.key && archetype.is_none() && rng.chance(250) {
                let at = onset.plus_days(rng.range(200, 900));
                (at < window.end).then_some(at)
            } else {
                None
            };
            Chronic {
                spec,
                onset,
                resolved,
            }
        })
        .collect()
}

fn body(gender: Gender, age: i64, obese: bool, rng: &mut Rng) -> (i64, i64) {
    let adult_height = if gender == Gender::Female {
        rng.range(1520, 1780)
    } else {
        rng.range(1630, 1930)
    };
    let height_mm = if age >= 18 {
        adult_height
    } else {
        850 + (adult_height - 850) * age / 18
    };
    let bmi_tenths = if obese {
        rng.range(305, 420)
    } else if age >= 18 {
        rng.range(190, 295)
    } else {
        rng.range(150, 220)
    };
    // weight (hectograms) = BMI × height² (m²) × 10
    let weight_hg = bmi_tenths * height_mm * height_mm / 100_000_000;
    (height_mm, weight_hg.max(100))
}

fn schedule(
    plan: &PatientPlan,
    kind: SiteKind,
    primary: bool,
    window: Window,
    rng: &mut Rng,
) -> Vec<EncounterPlan> {
    let chronic_load = plan.chronic.len() as i64;
    let count = match (kind, primary) {
        (SiteKind::Hospital, _) => rng.range(1, 2),
        (_, true) => rng.range(2, 5) + chronic_load.min(3),
        (_, false) => rng.range(1, 3),
    };
    let span = window.end.days() - window.start.days();
    let mut pregnancy_done = false;
    (0..count)
        .map(|_| {
            let date = window.start.plus_days(rng.range(0, span));
            let class = match kind {
                SiteKind::Hospital if rng.chance(650) => Class::Emergency,
                SiteKind::Hospital if rng.chance(600) => Class::Inpatient,
                _ => Class::Ambulatory,
            };
            let age = plan.age_on(date);
            let covid_era = (2020..=2023).contains(&date.year());
            let roll = rng.below(1000);
            let acute = match class {
                _ if covid_era && roll < if class == Class::Ambulatory { 40 } else { 150 } => {
                    Some(&COVID)
                }
                Class::Emergency if roll < 300 => Some(&SPRAIN),
                _ if roll < 250 && kind != SiteKind::Behavioral => Some(&BRONCHITIS),
                Class::Ambulatory
                    if kind == SiteKind::Clinic && (16..=45).contains(&age) && roll >= 980 =>
                {
                    Some(&CHLAMYDIA)
                }
                Class::Ambulatory
                    if kind == SiteKind::Clinic
                        && plan.gender == Gender::Female
                        && (18..=44).contains(&age)
                        && (960..980).contains(&roll)
                        && !pregnancy_done =>
                {
                    pregnancy_done = true;
                    Some(&PREGNANCY)
                }
                _ => None,
            };
            let sensitive_visit = kind == SiteKind::Behavioral
                || acute.is_some_and(|a| a.key == CHLAMYDIA.key || a.key == PREGNANCY.key);
            let self_pay = rng.chance(if sensitive_visit { 250 } else { 40 });
            encounter_at(date, class, acute, self_pay, rng)
        })
        .collect()
}

fn encounter_at(
    date: Date,
    class: Class,
    acute: Option<&'static ConditionSpec>,
    self_pay: bool,
    rng: &mut Rng,
) -> EncounterPlan {
    let (start_of_day, length) = match class {
        Class::Ambulatory => (rng.range(32, 66) * 900, rng.range(2, 4) * 900),
        Class::Emergency => (rng.range(0, 95) * 900, rng.range(8, 32) * 900),
        Class::Inpatient => (
            rng.range(0, 95) * 900,
            rng.range(1, 5) * 86_400 + rng.range(0, 40) * 900,
        ),
    };
    let start = date.unix() + start_of_day;
    EncounterPlan {
        start,
        end: start + length,
        class,
        acute,
        self_pay,
    }
}

fn force_archetype(
    plan: &mut PatientPlan,
    archetype: &Archetype,
    world: &World,
    window: Window,
    rng: &mut Rng,
) {
    for &(spec, position) in archetype.acute {
        let Some(position) = clamp_position(plan, position) else {
            continue;
        };
        let site_kind = world.sites[plan.sites[position].site].spec.kind;
        let date = if spec.key == COVID.key {
            let lo = window
                .start
                .max(Date::from_ymd(2020, 3, 1).unwrap_or(window.start));
            let hi = window
                .end
                .min(Date::from_ymd(2023, 12, 31).unwrap_or(window.end));
            let (lo, hi) = if lo <= hi {
                (lo, hi)
            } else {
                (window.start, window.end)
            };
            lo.plus_days(rng.range(0, hi.days() - lo.days()))
        } else {
            window.end.plus_days(-rng.range(60, 700)).max(window.start)
        };
        let class = if site_kind == SiteKind::Hospital {
            Class::Emergency
        } else {
            Class::Ambulatory
        };
        let encounter = encounter_at(date, class, Some(spec), false, rng);
        plan.sites[position].encounters.push(encounter);
    }
    if let Some(position) = archetype.self_pay_at.and_then(|p| clamp_position(plan, p)) {
        let date = window.end.plus_days(-rng.range(30, 400)).max(window.start);
        let encounter = encounter_at(date, Class::Ambulatory, None, true, rng);
        plan.sites[position].encounters.push(encounter);
    }
    if let Some(position) = archetype.admission_at.and_then(|p| clamp_position(plan, p)) {
        let date = window.end.plus_days(-rng.range(100, 900)).max(window.start);
        let encounter = encounter_at(date, Class::Inpatient, None, false, rng);
        plan.sites[position].encounters.push(encounter);
    }
}

fn clamp_position(plan: &PatientPlan, position: usize) -> Option<usize> {
    if plan.sites.is_empty() {
        None
    } else {
        Some(position.min(plan.sites.len() - 1))
    }
}
