//! The pure linkage computation: records + assertions + rules → persons, conflicts, warnings.
//! Union-find over Patient records; edges are `Patient.link`s, operator record links and
//! shared enterprise identifiers. Deterministic: inputs are sorted, ids compared as strings.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::{
    Conflict, LinkAssertion, LinkClaim, Linkage, LinkageRules, LinkedRecord, RecordStatus,
};
use crate::ingest::site_code;

/// `Patient.link` types that say "the same person" (R4 `link-type`: all four do).
const LINK_TYPES: [&str; 4] = ["seealso", "replaces", "replaced-by", "refer"];

/// What linkage needs from one stored Patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientLinkFacts {
    /// Server id.
    pub id: String,
    /// Site it was ingested for.
    pub site: Option<String>,
    /// Every `(system, value)` identifier.
    pub identifiers: Vec<(String, String)>,
    /// `Patient.link[].other.reference` of the same-person link types.
    pub links: Vec<String>,
}

/// Reads the linkage facts of a stored Patient resource.
pub fn patient_link_facts(id: &str, site: Option<&str>, patient: &Value) -> PatientLinkFacts {
    let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let identifiers = patient
        .get("identifier")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|i| Some((str_of(i, "system")?, str_of(i, "value")?)))
        .collect();
    let links = patient
        .get("link")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|l| {
            l.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| LINK_TYPES.contains(&t))
        })
        .filter_map(|l| l.get("other").and_then(|o| str_of(o, "reference")))
        .collect();
    PatientLinkFacts {
        id: id.to_owned(),
        site: site.map(str::to_owned),
        identifiers,
        links,
    }
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn find(&mut self, mut i: usize) -> usize {
        while self.0[i] != i {
            self.0[i] = self.0[self.0[i]];
            i = self.0[i];
        }
        i
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            // The smaller index is the root: deterministic whatever the edge order.
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.0[hi] = lo;
        }
    }
}

/// Computes the linkage. `assertions` in version order (the latest per key wins);
/// `previous` maps records to the person ids of the linkage in force before, so a person
/// keeps its id while it keeps that record.
pub fn compute(
    patients: &[PatientLinkFacts],
    assertions: &[LinkAssertion],
    rules: &LinkageRules,
    previous: &BTreeMap<String, String>,
) -> Linkage {
    let mut patients: Vec<&PatientLinkFacts> = patients.iter().collect();
    patients.sort_by(|a, b| a.id.cmp(&b.id));
    patients.dedup_by(|a, b| a.id == b.id);
    let index: HashMap<&str, usize> = patients
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    let mut in_force: BTreeMap<(String, LinkClaim), bool> = BTreeMap::new();
    for a in assertions {
        in_force.insert(a.key(), a.add);
    }
    let removed = |record: &str, claim: &LinkClaim| {
        let probe = LinkAssertion {
            seq: 0,
            at: 0,
            actor: String::new(),
            add: false,
            record: record.to_owned(),
            claim: claim.clone(),
        };
        in_force.get(&probe.key()) == Some(&false)
    };
    let mut warnings = Vec::new();
    let mut uf = UnionFind((0..patients.len()).collect());
    // Enterprise identifiers in force per record.
    let mut anchors: Vec<BTreeSet<(String, String)>> = vec![BTreeSet::new(); patients.len()];
    for (i, p) in patients.iter().enumerate() {
        for (system, value) in &p.identifiers {
            let claim = LinkClaim::Identifier {
                system: system.clone(),
                value: value.clone(),
            };
            if rules.enterprise_systems.contains(system) && !removed(&p.id, &claim) {
                anchors[i].insert((system.clone(), value.clone()));
            }
        }
        if rules.patient_link {
            for reference in &p.links {
                match resolve_link(reference, p.site.as_deref(), &index) {
                    Some(j) => {
                        let claim = LinkClaim::Record {
                            other: patients[j].id.clone(),
                        };
                        if !removed(&p.id, &claim) {
                            uf.union(i, j);
                        }
                    }
                    None => warnings.push(format!(
                        "Patient/{}: Patient.link to {reference}, a record that does not exist",
                        p.id
                    )),
                }
            }
        }
    }
    for ((record, claim), add) in &in_force {
        if !add {
            continue;
        }
        let Some(&i) = index.get(record.as_str()) else {
            warnings.push(format!(
                "operator link names Patient/{record}, a record that does not exist"
            ));
            continue;
        };
        match claim {
            LinkClaim::Record { other } => match index.get(other.as_str()) {
                Some(&j) => uf.union(i, j),
                None => warnings.push(format!(
                    "operator link names Patient/{other}, a record that does not exist"
                )),
            },
            LinkClaim::Identifier { system, value } => {
                if rules.enterprise_systems.contains(system) {
                    anchors[i].insert((system.clone(), value.clone()));
                } else {
                    warnings.push(format!(
                        "operator link on Patient/{record} names {system}, not a configured enterprise identifier system"
                    ));
                }
            }
        }
    }
    // Shared enterprise identifiers join records.
    let mut by_anchor: BTreeMap<&(String, String), usize> = BTreeMap::new();
    for (i, set) in anchors.iter().enumerate() {
        for anchor in set {
            match by_anchor.get(anchor) {
                Some(&j) => uf.union(i, j),
                None => {
                    by_anchor.insert(anchor, i);
                }
            }
        }
    }
    // Components.
    let mut components: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..patients.len() {
        let root = uf.find(i);
        components.entry(root).or_default().push(i);
    }
    let mut records = Vec::with_capacity(patients.len());
    let mut conflicts = Vec::new();
    for members in components.values() {
        let mut per_system: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for &i in members {
            for (s, v) in &anchors[i] {
                per_system.entry(s).or_default().insert(v);
            }
        }
        let conflicting = per_system.values().any(|vals| vals.len() > 1);
        if conflicting {
            let mut claimed: Vec<String> = per_system
                .iter()
                .filter(|(_, vals)| vals.len() > 1)
                .flat_map(|(s, vals)| vals.iter().map(move |v| format!("{s}|{v}")))
                .collect();
            claimed.sort();
            for &i in members {
                let p = patients[i];
                records.push(LinkedRecord {
                    record: p.id.clone(),
                    person: p.id.clone(),
                    site: p.site.clone(),
                    status: RecordStatus::Quarantined,
                });
                conflicts.push(Conflict {
                    record: p.id.clone(),
                    anchors: claimed.clone(),
                });
            }
            continue;
        }
        let ids: BTreeSet<&str> = members.iter().map(|&i| patients[i].id.as_str()).collect();
        // Stable id: the smallest earlier person id that is still one of its records.
        let person = members
            .iter()
            .filter_map(|&i| previous.get(&patients[i].id))
            .filter(|p| ids.contains(p.as_str()))
            .min()
            .cloned()
            .or_else(|| ids.iter().next().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        let status = if members.len() > 1 {
            RecordStatus::Linked
        } else {
            RecordStatus::Unlinked
        };
        for &i in members {
            let p = patients[i];
            records.push(LinkedRecord {
                record: p.id.clone(),
                person: person.clone(),
                site: p.site.clone(),
                status,
            });
        }
    }
    records.sort_by(|a, b| a.record.cmp(&b.record));
    conflicts.sort_by(|a, b| a.record.cmp(&b.record));
    warnings.sort();
    warnings.dedup();
    Linkage {
        records,
        conflicts,
        warnings,
    }
}

/// A `Patient.link` target: `Patient/{id}` as stored, or as the source site wrote it before
/// ingest namespaced the id.
fn resolve_link(
    reference: &str,
    site: Option<&str>,
    index: &HashMap<&str, usize>,
) -> Option<usize> {
    let id = reference.rsplit_once("Patient/").map(|(_, id)| id)?;
    if let Some(&i) = index.get(id) {
        return Some(i);
    }
    let site = site?;
    index
        .get(format!("{}-{id}", site_code(site)).as_str())
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYS: &str = "urn:person";

    fn rules() -> LinkageRules {
        LinkageRules {
            enterprise_systems: vec![SYS.to_owned()],
            patient_link: true,
        }
    }

    fn p(id: &str, ent: &[&str], links: &[&str]) -> PatientLinkFacts {
        PatientLinkFacts {
            id: id.to_owned(),
            site: Some(format!("site-{id}")),
            identifiers: ent
                .iter()
                .map(|v| (SYS.to_owned(), (*v).to_owned()))
                .chain([("urn:mrn".to_owned(), format!("mrn-{id}"))])
                .collect(),
            links: links.iter().map(|l| format!("Patient/{l}")).collect(),
        }
    }

    fn person_of<'a>(l: &'a Linkage, id: &str) -> (&'a str, RecordStatus) {
        let r = l.records.iter().find(|r| r.record == id).unwrap();
        (&r.person, r.status)
    }

    #[test]
    fn shared_identifiers_and_patient_links_join_records_demographics_never() {
        let patients = [
            p("a", &["1"], &[]),
            p("b", &["1"], &[]),
            p("c", &[], &["a"]),
            p("d", &[], &[]),
        ];
        let l = compute(&patients, &[], &rules(), &BTreeMap::new());
        for id in ["a", "b", "c"] {
            assert_eq!(person_of(&l, id), ("a", RecordStatus::Linked), "{id}");
        }
        assert_eq!(person_of(&l, "d"), ("d", RecordStatus::Unlinked));
        // Not configured ⇒ not a link.
        let off = LinkageRules::default();
        let l = compute(&patients, &[], &off, &BTreeMap::new());
        assert!(l.records.iter().all(|r| r.status == RecordStatus::Unlinked));
    }

    #[test]
    fn two_values_of_one_system_quarantine_the_connected_records() {
        let patients = [
            p("a", &["1"], &[]),
            p("b", &["2"], &["a"]),
            p("c", &["2"], &[]),
        ];
        let l = compute(&patients, &[], &rules(), &BTreeMap::new());
        assert_eq!(l.conflicts.len(), 3);
        assert_eq!(l.conflicts[0].anchors, vec!["urn:person|1", "urn:person|2"]);
        assert!(
            l.records
                .iter()
                .all(|r| r.status == RecordStatus::Quarantined)
        );
        // An operator remove of the bad data link resolves it.
        let fix = LinkAssertion {
            seq: 1,
            at: 0,
            actor: "cli".into(),
            add: false,
            record: "a".into(),
            claim: LinkClaim::Record { other: "b".into() },
        };
        let l = compute(&patients, &[fix], &rules(), &BTreeMap::new());
        assert!(l.conflicts.is_empty());
        assert_eq!(person_of(&l, "a"), ("a", RecordStatus::Unlinked));
        assert_eq!(person_of(&l, "c"), ("b", RecordStatus::Linked));
    }

    #[test]
    fn operator_assertions_latest_wins_and_missing_targets_warn() {
        let patients = [p("a", &[], &["zz"]), p("b", &[], &[])];
        let add = |seq, add| LinkAssertion {
            seq,
            at: 0,
            actor: "cli".into(),
            add,
            record: "b".into(),
            claim: LinkClaim::Record { other: "a".into() },
        };
        let l = compute(&patients, &[add(1, true)], &rules(), &BTreeMap::new());
        assert_eq!(person_of(&l, "b"), ("a", RecordStatus::Linked));
        assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
        assert!(l.warnings[0].contains("zz"));
        let l = compute(
            &patients,
            &[add(1, true), add(2, false)],
            &rules(),
            &BTreeMap::new(),
        );
        assert_eq!(person_of(&l, "b"), ("b", RecordStatus::Unlinked));
    }

    #[test]
    fn a_person_keeps_its_id_while_it_keeps_the_record() {
        let patients = [p("m", &["1"], &[]), p("z", &["1"], &[])];
        let prev = BTreeMap::from([("z".to_owned(), "z".to_owned())]);
        let l = compute(&patients, &[], &rules(), &prev);
        assert_eq!(person_of(&l, "m").0, "z");
    }
}
