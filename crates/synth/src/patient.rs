//! One patient end to end: plan, then one bundle per site, then the manifest entry and facts.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::catalog::codes::ACT_CODE;
use crate::fhir::Entry;
use crate::manifest::{Facts, LabelFact, Locator, PatientEntry, PatientSite};
use crate::plan::{self, Window};
use crate::prng::{Rng, derive};
use crate::sink::{Layout, PatientOutput, SiteBundle};
use crate::world::World;
use crate::{ids, site};

/// Everything fixed for a run.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) seed: u64,
    pub(crate) layout: Layout,
    pub(crate) world: World,
    pub(crate) window: Window,
    /// Bundle `timestamp`: the reference date at midnight UTC.
    pub(crate) timestamp: String,
}

/// Counts gathered while generating a patient.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) counts: BTreeMap<&'static str, u64>,
    pub(crate) labels: BTreeMap<String, u64>,
}

/// Generate patient `index`.
pub(crate) fn generate(run: &Run, index: u64, tally: &mut Tally) -> PatientOutput {
    let mut rng = Rng::new(derive("patient", &[run.seed, index]));
    let plan = plan::plan(index, &run.world, run.window, &mut rng);
    let slug = patient_slug(index, plan.given, plan.family);
    let mut facts = Facts::default();
    let mut bundles = Vec::with_capacity(plan.sites.len());
    let mut sites = Vec::with_capacity(plan.sites.len());
    let mut labels_seen: BTreeSet<String> = BTreeSet::new();
    for site_plan in &plan.sites {
        let site = &run.world.sites[site_plan.site];
        let (record, site_facts) =
            site::generate(run.seed, &plan, site_plan, &run.world, run.window);
        merge(&mut facts, site_facts);
        let at = Locator {
            patient: index,
            site: site.spec.slug.to_owned(),
            patient_id: record.patient_id.clone(),
        };
        let mut first_of_label: BTreeSet<String> = BTreeSet::new();
        for entry in &record.entries {
            *tally.counts.entry(entry.resource_type).or_default() += 1;
            for code in security_codes(&entry.resource) {
                *tally.labels.entry(code.clone()).or_default() += 1;
                labels_seen.insert(code.clone());
                if first_of_label.insert(code.clone()) {
                    facts.labeled.push(LabelFact {
                        at: at.clone(),
                        label: code,
                        resource: format!("{}/{}", entry.resource_type, entry.id),
                    });
                }
            }
        }
        let path = format!("bundles/{:04}/{slug}/{}.json", index / 1000, site.spec.slug);
        sites.push(PatientSite {
            site: site.spec.slug.to_owned(),
            patient_id: record.patient_id.clone(),
            mrn: record.mrn.clone(),
            file: (run.layout == Layout::Bundles).then(|| path.clone()),
            encounters: record.encounters,
            claims: record.claims,
            resources: record.entries.len() as u64,
        });
        bundles.push(SiteBundle {
            site: site.spec.slug.to_owned(),
            path,
            bundle: bundle(run, index, site_plan.site, record.entries),
        });
    }
    let payer = plan.payer.and_then(|p| run.world.payers.get(p));
    let entry = PatientEntry {
        index,
        archetype: plan.archetype.map(str::to_owned),
        given: plan.given.to_owned(),
        family: plan.family.to_owned(),
        gender: plan.gender.code().to_owned(),
        birth_date: plan.birth.to_string(),
        state: plan.state.to_owned(),
        person_id: ids::person_id(run.seed, index),
        payer: payer.map(|p| p.spec.slug.to_owned()),
        member_id: payer.map(|p| {
            format!(
                "{}{:08}",
                p.spec.member_prefix,
                ids::permute_1e8(index, derive("member", &[run.seed, p.index as u64]))
            )
        }),
        conditions: plan.chronic.iter().map(|c| c.spec.key.to_owned()).collect(),
        labels: labels_seen.into_iter().collect(),
        sites,
    };
    PatientOutput {
        entry,
        facts,
        bundles,
    }
}

fn merge(into: &mut Facts, from: Facts) {
    into.diabetic.extend(from.diabetic);
    into.covid_tx.extend(from.covid_tx);
    into.claims.extend(from.claims);
    into.self_pay.extend(from.self_pay);
    into.labeled.extend(from.labeled);
}

fn security_codes(resource: &Value) -> Vec<String> {
    resource
        .pointer("/meta/security")
        .and_then(Value::as_array)
        .map(|labels| {
            labels
                .iter()
                .filter(|l| l.get("system").and_then(Value::as_str) == Some(ACT_CODE))
                .filter_map(|l| l.get("code").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn bundle(run: &Run, index: u64, site: usize, entries: Vec<Entry>) -> Value {
    let entry: Vec<Value> = entries
        .into_iter()
        .map(|e| json!({"fullUrl": format!("urn:uuid:{}", e.id), "resource": e.resource}))
        .collect();
    json!({
        "resourceType": "Bundle",
        "id": ids::uuid("bundle", &[run.seed, index, site as u64]),
        "type": "collection",
        "timestamp": run.timestamp,
        "entry": entry
    })
}

/// `p0000042-maria-garcia`: sortable by index, readable.
fn patient_slug(index: u64, given: &str, family: &str) -> String {
    let clean = |s: &str| {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase()
    };
    format!("p{index:07}-{}-{}", clean(given), clean(family))
}
