//! Every generated resource is well-shaped R4 JSON with resolvable references, real codes,
//! valid NPIs and the security labels the access scenarios need.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;
use tessera_synth::{
    ACT_CODE, Config, ConfigError, GenerateError, MemorySink, NPI_SYSTEM, demo, generate,
    is_valid_npi,
};

use crate::support::{LOINC, SNOMED, codings, has_code, labels, resources, run, walk};

fn sample() -> MemorySink {
    run(&Config::new(2024, 60))
}

#[test]
fn bundles_are_collections_with_resolvable_references() {
    let sink = sample();
    for (path, bundle) in sink.bundles() {
        assert_eq!(bundle["resourceType"], "Bundle");
        assert_eq!(bundle["type"], "collection");
        assert_eq!(bundle["timestamp"], "2026-01-01T00:00:00Z");
        let entries = bundle["entry"].as_array().unwrap();
        let mut ids: HashMap<(String, String), usize> = HashMap::new();
        for entry in entries {
            let resource = &entry["resource"];
            let kind = resource["resourceType"].as_str().unwrap().to_owned();
            let id = resource["id"].as_str().unwrap().to_owned();
            assert_eq!(entry["fullUrl"], format!("urn:uuid:{id}"), "{path}");
            assert_eq!(id.len(), 36);
            *ids.entry((kind, id)).or_default() += 1;
        }
        assert!(ids.values().all(|&n| n == 1), "duplicate ids in {path}");
        assert_eq!(
            entries
                .iter()
                .filter(|e| e["resource"]["resourceType"] == "Patient")
                .count(),
            1
        );
        for entry in entries {
            walk(&entry["resource"], &mut |v| {
                if let Some(r) = v.get("reference").and_then(Value::as_str) {
                    let (kind, id) = r.split_once('/').unwrap();
                    assert!(
                        ids.contains_key(&(kind.to_owned(), id.to_owned())),
                        "{path}: dangling {r}"
                    );
                }
            });
        }
    }
}

#[test]
fn every_required_resource_type_is_generated() {
    let sink = sample();
    let counts = &sink.summary.as_ref().unwrap().counts;
    for kind in [
        "AllergyIntolerance",
        "Claim",
        "Condition",
        "Coverage",
        "DiagnosticReport",
        "DocumentReference",
        "Encounter",
        "Immunization",
        "Location",
        "MedicationRequest",
        "Observation",
        "Organization",
        "Patient",
        "Practitioner",
        "Procedure",
        "ServiceRequest",
    ] {
        assert!(
            counts.get(kind).copied().unwrap_or(0) > 0,
            "no {kind}: {counts:?}"
        );
    }
    let classes: BTreeSet<String> = resources(&sink)
        .iter()
        .filter(|(_, r)| r["resourceType"] == "Encounter")
        .map(|(_, r)| r["class"]["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        classes,
        BTreeSet::from(["AMB".into(), "EMER".into(), "IMP".into()])
    );
}

#[test]
fn organizations_and_practitioners_carry_valid_npis() {
    let sink = sample();
    let mut seen = 0;
    for (_, r) in resources(&sink).iter().chain(
        sink.shared
            .iter()
            .map(|r| (String::new(), r.clone()))
            .collect::<Vec<_>>()
            .iter(),
    ) {
        if !matches!(
            r["resourceType"].as_str(),
            Some("Organization" | "Practitioner")
        ) {
            continue;
        }
        let npi = r["identifier"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["system"] == NPI_SYSTEM)
            .unwrap();
        assert!(is_valid_npi(npi["value"].as_str().unwrap()), "{npi}");
        seen += 1;
        if r["resourceType"] == "Organization" {
            let address = &r["address"][0];
            assert_eq!(address["country"], "US");
            assert_eq!(address["state"].as_str().unwrap().len(), 2);
        }
    }
    assert!(seen > 10);
    let manifest = sink.manifest().unwrap();
    for site in manifest["sites"].as_array().unwrap() {
        assert!(is_valid_npi(site["npi"].as_str().unwrap()));
    }
    for payer in manifest["payers"].as_array().unwrap() {
        assert!(is_valid_npi(payer["npi"].as_str().unwrap()));
    }
}

#[test]
fn observations_use_loinc_with_categories_and_ucum() {
    let all = resources(&sample());
    let obs: Vec<&Value> = all
        .iter()
        .map(|(_, r)| r)
        .filter(|r| r["resourceType"] == "Observation")
        .collect();
    let category = |r: &Value| {
        r["category"][0]["coding"][0]["code"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let find = |code: &str| {
        obs.iter()
            .filter(move |r| has_code(r, "code", LOINC, code))
            .copied()
            .collect::<Vec<_>>()
    };
    for (code, cat, unit) in [
        ("4548-4", "laboratory", "%"),
        ("39156-5", "vital-signs", "kg/m2"),
        ("29463-7", "vital-signs", "kg"),
        ("2345-7", "laboratory", "mg/dL"),
        ("2160-0", "laboratory", "mg/dL"),
        ("13457-7", "laboratory", "mg/dL"),
    ] {
        let found = find(code);
        assert!(!found.is_empty(), "no {code}");
        for r in found {
            assert_eq!(category(r), cat, "{code}");
            assert_eq!(r["valueQuantity"]["system"], "http://unitsofmeasure.org");
            assert_eq!(r["valueQuantity"]["code"], unit);
            assert!(r["valueQuantity"]["value"].is_number());
            assert!(r["effectiveDateTime"].is_string() && r["encounter"]["reference"].is_string());
        }
    }
    let bp = find("85354-6");
    assert!(!bp.is_empty());
    for r in bp {
        assert_eq!(category(r), "vital-signs");
        assert!(
            has_code(r, "component", LOINC, "8480-6") && has_code(r, "component", LOINC, "8462-4")
        );
        let systolic = r["component"][0]["valueQuantity"]["value"]
            .as_i64()
            .unwrap();
        assert!((90..=200).contains(&systolic));
    }
    let a1c: Vec<f64> = find("4548-4")
        .iter()
        .map(|r| r["valueQuantity"]["value"].as_f64().unwrap())
        .collect();
    assert!(a1c.iter().all(|v| (4.0..=15.0).contains(v)));
}

#[test]
fn clinical_resources_have_their_required_elements() {
    let all = resources(&sample());
    for (_, r) in &all {
        let kind = r["resourceType"].as_str().unwrap();
        let systems: BTreeSet<String> = codings(r).into_iter().map(|(s, _)| s).collect();
        match kind {
            "Condition" => {
                assert!(
                    systems.contains(SNOMED)
                        && systems.contains("http://hl7.org/fhir/sid/icd-10-cm")
                );
                let cat = r["category"][0]["coding"][0]["code"].as_str().unwrap();
                assert!(cat == "problem-list-item" || cat == "encounter-diagnosis");
                assert!(r["clinicalStatus"]["coding"][0]["code"].is_string());
                assert!(r["recordedDate"].is_string() && r["encounter"]["reference"].is_string());
            }
            "MedicationRequest" => {
                assert!(has_code(
                    r,
                    "medicationCodeableConcept",
                    "http://www.nlm.nih.gov/research/umls/rxnorm",
                    r["medicationCodeableConcept"]["coding"][0]["code"]
                        .as_str()
                        .unwrap()
                ));
                assert!(
                    r["status"].is_string()
                        && r["authoredOn"].is_string()
                        && r["encounter"].is_object()
                );
            }
            "Immunization" => {
                assert_eq!(
                    r["vaccineCode"]["coding"][0]["system"],
                    "http://hl7.org/fhir/sid/cvx"
                );
                assert!(r["occurrenceDateTime"].is_string());
            }
            "AllergyIntolerance" => {
                assert!(r["clinicalStatus"].is_object() && r["recordedDate"].is_string())
            }
            "DiagnosticReport" => {
                assert_eq!(r["code"]["coding"][0]["system"], LOINC);
                assert!(
                    r["effectiveDateTime"].is_string()
                        && !r["result"].as_array().unwrap().is_empty()
                );
            }
            "DocumentReference" => {
                assert_eq!(r["type"]["coding"][0]["system"], LOINC);
                assert!(
                    r["date"].is_string() && r["context"]["encounter"][0]["reference"].is_string()
                );
            }
            "Procedure" => {
                assert_eq!(r["code"]["coding"][0]["system"], SNOMED);
                assert!(r["performedDateTime"].is_string());
            }
            "Encounter" => assert!(
                r["period"]["start"].as_str().unwrap() <= r["period"]["end"].as_str().unwrap()
            ),
            "Patient" => {
                assert!(
                    r["birthDate"].is_string()
                        && r["gender"].is_string()
                        && r["name"][0]["family"].is_string()
                );
                assert_eq!(r["identifier"][0]["type"]["coding"][0]["code"], "MR");
                assert_eq!(r["address"][0]["country"], "US");
            }
            _ => {}
        }
    }
}

#[test]
fn dates_stay_inside_the_window() {
    let all = resources(&sample());
    for (_, r) in &all {
        for field in [
            "effectiveDateTime",
            "recordedDate",
            "authoredOn",
            "occurrenceDateTime",
            "performedDateTime",
            "date",
        ] {
            if let Some(d) = r.get(field).and_then(Value::as_str) {
                assert!(("2019-12-01".."2026-01-01").contains(&d), "{field} {d}");
            }
        }
    }
}

#[test]
fn sensitive_records_are_labeled() {
    let all = resources(&sample());
    let labeled = |pred: &dyn Fn(&Value) -> bool, label: &str| {
        let matching: Vec<&Value> = all.iter().map(|(_, r)| r).filter(|r| pred(r)).collect();
        assert!(!matching.is_empty(), "nothing for {label}");
        assert!(
            matching
                .iter()
                .all(|r| labels(r).contains(&label.to_owned())),
            "{label} missing"
        );
    };
    labeled(
        &|r| r["resourceType"] == "Condition" && has_code(r, "code", SNOMED, "370143000"),
        "MH",
    );
    labeled(
        &|r| r["resourceType"] == "Observation" && has_code(r, "code", LOINC, "20447-9"),
        "HIV",
    );
    labeled(
        &|r| r["resourceType"] == "Condition" && has_code(r, "code", SNOMED, "86406008"),
        "HIV",
    );
    labeled(
        &|r| r["resourceType"] == "Condition" && has_code(r, "code", SNOMED, "7200002"),
        "ETH",
    );
    labeled(
        &|r| r["resourceType"] == "Condition" && has_code(r, "code", SNOMED, "105629000"),
        "STD",
    );
    labeled(
        &|r| r["resourceType"] == "Condition" && has_code(r, "code", SNOMED, "77386006"),
        "SEX",
    );
    let mut per_label: BTreeMap<String, usize> = BTreeMap::new();
    for (_, r) in &all {
        for security in r["meta"]["security"].as_array().into_iter().flatten() {
            assert_eq!(security["system"], ACT_CODE);
            *per_label
                .entry(security["code"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    for code in ["SEX", "MH", "ETH", "HIV", "STD", "HIPAASelfPay"] {
        assert!(per_label.contains_key(code), "{code} absent: {per_label:?}");
    }
}

#[test]
fn self_pay_encounters_are_never_claimed_and_label_their_content() {
    let sink = sample();
    let all = resources(&sink);
    let self_pay: BTreeSet<String> = all
        .iter()
        .filter(|(_, r)| {
            r["resourceType"] == "Encounter" && labels(r).contains(&"HIPAASelfPay".to_owned())
        })
        .map(|(_, r)| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!self_pay.is_empty());
    for (_, r) in &all {
        let enc = r["encounter"]["reference"]
            .as_str()
            .or_else(|| r["context"]["encounter"][0]["reference"].as_str());
        if let Some(id) = enc.and_then(|e| e.strip_prefix("Encounter/"))
            && self_pay.contains(id)
        {
            assert!(
                labels(r).contains(&"HIPAASelfPay".to_owned()),
                "{}",
                r["resourceType"]
            );
        }
        if r["resourceType"] == "Claim" {
            let id = r["item"][0]["encounter"][0]["reference"]
                .as_str()
                .unwrap()
                .strip_prefix("Encounter/")
                .unwrap();
            assert!(!self_pay.contains(id));
        }
    }
    assert!(sink.summary.unwrap().totals.self_pay_encounters as usize >= self_pay.len());
}

#[test]
fn claims_and_coverage_link_payer_provider_and_encounter() {
    let sink = sample();
    let manifest = sink.manifest().unwrap();
    let claim_systems: BTreeSet<&str> = manifest["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["claim_system"].as_str().unwrap())
        .collect();
    for (path, bundle) in sink.bundles() {
        let entries: Vec<&Value> = bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["resource"])
            .collect();
        let by_ref = |reference: &str| {
            entries
                .iter()
                .find(|r| {
                    format!(
                        "{}/{}",
                        r["resourceType"].as_str().unwrap(),
                        r["id"].as_str().unwrap()
                    ) == reference
                })
                .copied()
        };
        for claim in entries.iter().filter(|r| r["resourceType"] == "Claim") {
            assert!(claim_systems.contains(claim["identifier"][0]["system"].as_str().unwrap()));
            assert!(
                claim["identifier"][0]["value"]
                    .as_str()
                    .unwrap()
                    .starts_with("CLM-")
            );
            assert!(claim["created"].is_string());
            let insurer = by_ref(claim["insurer"]["reference"].as_str().unwrap()).unwrap();
            assert_eq!(insurer["type"][0]["coding"][0]["code"], "pay", "{path}");
            let provider = by_ref(claim["provider"]["reference"].as_str().unwrap()).unwrap();
            assert_eq!(provider["type"][0]["coding"][0]["code"], "prov");
            assert_eq!(
                by_ref(
                    claim["item"][0]["encounter"][0]["reference"]
                        .as_str()
                        .unwrap()
                )
                .unwrap()["resourceType"],
                "Encounter"
            );
        }
        for coverage in entries.iter().filter(|r| r["resourceType"] == "Coverage") {
            let payor = by_ref(coverage["payor"][0]["reference"].as_str().unwrap()).unwrap();
            assert_eq!(payor["identifier"][0]["system"], NPI_SYSTEM);
            assert_eq!(
                by_ref(coverage["beneficiary"]["reference"].as_str().unwrap()).unwrap()["resourceType"],
                "Patient"
            );
        }
    }
    assert!(
        !manifest["summary"]["facts"]["claims"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn archetypes_give_covid_in_texas_and_diabetic_series_for_any_seed_and_size() {
    for (seed, patients, sites) in [(1, 1, 1), (99, 4, 8), (5, 2, 2)] {
        let sink = run(&Config {
            sites,
            ..Config::new(seed, patients)
        });
        let manifest = sink.manifest().unwrap();
        let facts = &manifest["summary"]["facts"];
        let covid = &facts["covid_tx"][0];
        assert_eq!(covid["patient"], 0);
        let site = manifest["sites"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["slug"] == covid["site"])
            .unwrap();
        assert_eq!(site["state"], "TX");
        let condition = resources(&sink)
            .into_iter()
            .map(|(_, r)| r)
            .find(|r| r["id"] == covid["condition_id"])
            .unwrap();
        assert!(has_code(&condition, "code", SNOMED, "840539006"));
        let diabetic = &facts["diabetic"][0];
        assert_eq!(diabetic["patient"], 0);
        assert!(diabetic["hba1c_count"].as_u64().unwrap() >= 1, "{diabetic}");
    }
}

#[test]
fn demo_dataset_is_small_fixed_and_spans_three_states() {
    let demo = demo();
    assert_eq!(demo.manifest["seed"], 42);
    assert_eq!(
        demo.manifest["patient_records"].as_array().unwrap().len(),
        8
    );
    let states: BTreeSet<&str> = demo.manifest["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, BTreeSet::from(["GA", "IL", "TX"]));
    let paths: BTreeSet<&String> = demo.bundles.iter().map(|(p, _)| p).collect();
    assert_eq!(paths.len(), demo.bundles.len());
    assert!(demo.bundles.len() >= 8);
    assert_eq!(tessera_synth::demo_bundles().len(), demo.bundles.len());
}

#[test]
fn bad_configs_are_rejected_before_output() {
    let mut sink = MemorySink::default();
    let cases = [
        (Config::new(1, 0), ConfigError::Patients(0)),
        (
            Config::new(1, tessera_synth::MAX_PATIENTS + 1),
            ConfigError::Patients(tessera_synth::MAX_PATIENTS + 1),
        ),
        (
            Config {
                sites: 0,
                ..Config::new(1, 1)
            },
            ConfigError::Sites(0),
        ),
        (
            Config {
                sites: 9,
                ..Config::new(1, 1)
            },
            ConfigError::Sites(9),
        ),
        (
            Config {
                years: 0,
                ..Config::new(1, 1)
            },
            ConfigError::Years(0),
        ),
    ];
    for (config, expected) in cases {
        match generate(&config, &mut sink) {
            Err(GenerateError::Config(e)) => assert_eq!(e, expected),
            other => panic!("{other:?}"),
        }
    }
    assert!(sink.header.is_none());
}
