//! Person linkage on every backend: computed by the one pure function, persisted alike, the
//! same result and the same versions on both.

use std::collections::{BTreeMap, BTreeSet};

use tessera_store::linkage::{LinkAssertion, LinkClaim, LinkRefusal, LinkageRules, PersonOf};
use tessera_synth::PERSON_ID_SYSTEM;

use super::{NOW, data, person_of};
use crate::backends;

#[test]
fn linkage_is_computed_and_persisted_alike_on_every_backend() {
    let d = data();
    // Expected: the records of each generated person, from the manifest.
    let want: BTreeSet<BTreeSet<String>> = d.manifest["patient_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["sites"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["patient_id"].as_str().unwrap().to_owned())
                .collect()
        })
        .collect();
    let rules = LinkageRules {
        enterprise_systems: vec![PERSON_ID_SYSTEM.to_owned()],
        patient_link: true,
    };
    let p0: Vec<String> = d.manifest["patient_records"][0]["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["patient_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(p0.len() >= 2);
    let mut results = Vec::new();
    // Own stores: the linkage tables are written here.
    for b in backends::resources() {
        let (name, s) = (b.name, b.store.as_ref());
        d.ingest_into(s);
        assert_eq!(
            person_of(s, &p0[0]),
            PersonOf::Person {
                id: p0[0].clone(),
                records: vec![(
                    p0[0].clone(),
                    Some(
                        d.manifest["patient_records"][0]["sites"][0]["site"]
                            .as_str()
                            .unwrap()
                            .to_owned()
                    )
                )],
            },
            "{name}: before any rebuild a record is a person of one"
        );
        assert_eq!(person_of(s, "no-such"), PersonOf::Unknown, "{name}");
        let first = s.rebuild_linkage(&rules, NOW, "ingest").unwrap();
        assert!(first.changed && first.version >= 1, "{name}: {first:?}");
        assert!(first.conflicts.is_empty(), "{name}: {:?}", first.conflicts);
        let records = s.linked_records().unwrap();
        let mut persons: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in &records {
            persons
                .entry(r.person.clone())
                .or_default()
                .insert(r.record.clone());
        }
        let got: BTreeSet<BTreeSet<String>> = persons.into_values().collect();
        assert_eq!(got, want, "{name}: one person per generated patient");
        let again = s.rebuild_linkage(&rules, NOW + 1, "again").unwrap();
        assert!(
            !again.changed && again.version == first.version,
            "{name}: {again:?}"
        );

        // An operator removes one link: the linkage changes, a version row names the cause.
        let seq = s
            .add_link_assertion(&LinkAssertion {
                seq: 0,
                at: NOW + 2,
                actor: "cli".into(),
                add: false,
                record: p0[0].clone(),
                claim: LinkClaim::Identifier {
                    system: PERSON_ID_SYSTEM.into(),
                    value: d.manifest["patient_records"][0]["person_id"]
                        .as_str()
                        .unwrap()
                        .into(),
                },
            })
            .unwrap();
        assert!(seq >= 1, "{name}");
        assert_eq!(s.link_assertions().unwrap().len(), 1, "{name}");
        let after = s.rebuild_linkage(&rules, NOW + 3, "cli remove").unwrap();
        assert!(
            after.changed && after.version > first.version,
            "{name}: {after:?}"
        );
        let versions = s.linkage_versions(10).unwrap();
        assert_eq!(versions.len(), 2, "{name}");
        assert_eq!(versions[0].cause, "cli remove", "{name}: newest first");
        assert_eq!(s.linkage_versions(1).unwrap().len(), 1, "{name}");
        match person_of(s, &p0[0]) {
            PersonOf::Person { records, .. } => {
                assert!(records.len() < p0.len(), "{name}: {records:?}")
            }
            other => panic!("{name}: {other:?}"),
        }
        s.add_link_refusal(&LinkRefusal {
            at: NOW,
            actor: "cli".into(),
            request: "{}".into(),
            error: "first".into(),
        })
        .unwrap();
        s.add_link_refusal(&LinkRefusal {
            at: NOW + 1,
            actor: "cli".into(),
            request: "{}".into(),
            error: "second".into(),
        })
        .unwrap();
        let refusals = s.link_refusals(1).unwrap();
        assert_eq!(refusals.len(), 1, "{name}");
        assert_eq!(refusals[0].error, "second", "{name}: newest first");
        assert!(s.link_conflicts().unwrap().is_empty(), "{name}");
        let linked = s.linked_records().unwrap();
        let p1_person = person_of(s, &p0[1]);
        // A second enterprise id on a record: claimed by two persons, it is quarantined, and
        // its person is the conflict with the anchors that clash.
        s.add_link_assertion(&LinkAssertion {
            seq: 0,
            at: NOW + 4,
            actor: "cli".into(),
            add: true,
            record: p0[1].clone(),
            claim: LinkClaim::Identifier {
                system: PERSON_ID_SYSTEM.into(),
                value: "someone-else".into(),
            },
        })
        .unwrap();
        s.rebuild_linkage(&rules, NOW + 5, "cli add").unwrap();
        match person_of(s, &p0[1]) {
            PersonOf::Quarantined(c) => {
                assert_eq!(c.record, p0[1], "{name}");
                assert!(
                    c.anchors.iter().any(|a| a.ends_with("|someone-else")),
                    "{name}: {c:?}"
                );
            }
            other => panic!("{name}: {other:?}"),
        }
        results.push((name, linked, p1_person));
    }
    if let [(_, a, pa), (_, b, pb)] = &results[..] {
        assert_eq!(a, b, "both backends persist the same linkage");
        assert_eq!(pa, pb);
    }
}

// Issue 12, boot at scale: a start on an unchanged store reads the linkage in force back
// instead of reading and parsing every Patient; any change of its inputs recomputes it.
#[test]
fn linkage_is_not_recomputed_while_its_inputs_are_unchanged_on_every_backend() {
    let d = data();
    let rules = LinkageRules {
        enterprise_systems: vec![PERSON_ID_SYSTEM.to_owned()],
        patient_link: true,
    };
    let site = |stem: &str| tessera_store::site_id_from(stem);
    // Patient 0's record at its first site, and a resource of another type from that bundle.
    let (stem, bundle) = d
        .bundles
        .iter()
        .find(|(_, b)| {
            b["entry"].as_array().unwrap().iter().any(|e| {
                e["resource"]["resourceType"] == "Patient"
                    && e["resource"]["id"] == d.patient_id(0).as_str()
            })
        })
        .unwrap();
    let of_type = |ty: &str| {
        bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"].clone())
            .find(|r| r["resourceType"] == ty)
            .unwrap()
    };
    for b in backends::resources() {
        let (name, s) = (b.name, b.store.as_ref());
        let rebuild =
            |rules: &LinkageRules, cause: &str| s.rebuild_linkage(rules, NOW, cause).unwrap();
        d.ingest_into(s);
        let first = rebuild(&rules, "start-up");
        assert!(first.recomputed && first.changed, "{name}: {first:?}");
        let again = rebuild(&rules, "start-up");
        assert!(!again.recomputed && !again.changed, "{name}: {again:?}");
        assert_eq!(
            (again.version, again.persons, again.linked, &again.conflicts),
            (first.version, first.persons, first.linked, &first.conflicts),
            "{name}: the summary read back is the one computed"
        );
        assert!(first.persons >= 1, "{name}: {first:?}");

        // The same data again, and a new record of another type: nothing the linkage reads.
        d.ingest_into(s);
        let mut obs = of_type("Observation");
        obs["id"] = "linkage-inputs-new-observation".into();
        let mut report = tessera_store::IngestReport::default();
        tessera_store::ingest_value(s, obs, Some(&site(stem)), &super::opts(), &mut report)
            .unwrap();
        assert_eq!(report.created, 1, "{name}: {report:?}");
        assert!(!rebuild(&rules, "start-up").recomputed, "{name}");

        // Other rules, then the first ones again: each a rebuild.
        let other = LinkageRules {
            enterprise_systems: Vec::new(),
            patient_link: true,
        };
        assert!(rebuild(&other, "rules").recomputed, "{name}");
        assert!(rebuild(&rules, "rules").recomputed, "{name}");
        assert!(!rebuild(&rules, "start-up").recomputed, "{name}");

        // A changed Patient row.
        let mut patient = of_type("Patient");
        patient["name"][0]["given"] = serde_json::json!(["Changed"]);
        let mut report = tessera_store::IngestReport::default();
        tessera_store::ingest_value(s, patient, Some(&site(stem)), &super::opts(), &mut report)
            .unwrap();
        assert_eq!(report.updated, 1, "{name}: {report:?}");
        let after = rebuild(&rules, "ingest");
        assert!(after.recomputed && !after.changed, "{name}: {after:?}");

        // An operator assertion.
        s.add_link_assertion(&LinkAssertion {
            seq: 0,
            at: NOW,
            actor: "test".into(),
            add: false,
            record: d.patient_id(0),
            claim: LinkClaim::Identifier {
                system: PERSON_ID_SYSTEM.into(),
                value: d.manifest["patient_records"][0]["person_id"]
                    .as_str()
                    .unwrap()
                    .into(),
            },
        })
        .unwrap();
        let asserted = rebuild(&rules, "cli remove");
        assert!(
            asserted.recomputed && asserted.changed,
            "{name}: {asserted:?}"
        );
        assert!(!rebuild(&rules, "start-up").recomputed, "{name}");
    }
}
