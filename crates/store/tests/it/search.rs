//! Search parameters at the store level, each checked against the ids computed from the
//! generated JSON independently of the index: every parameter of every type, then modifiers,
//! OR/AND, references and date prefixes in detail.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use tessera_access::Filter;
use tessera_fhir::{DatePrefix, RESOURCES, parse_date_range};
use tessera_store::{ResourceStore, Scope};

use crate::expect::{matches, values_of};
use crate::{all, loaded, synth};

/// Parameters the synthetic data set never populates (the test asserts exactly these are
/// empty, so the list cannot hide a populated parameter the store fails to find); the
/// `supplemented` test gives them values and checks them the same way.
const UNPOPULATED: &[(&str, &str)] = &[
    ("AllergyIntolerance", "identifier"),
    ("Condition", "identifier"),
    ("DiagnosticReport", "identifier"),
    ("DocumentReference", "identifier"),
    ("Encounter", "identifier"),
    ("Immunization", "identifier"),
    ("Location", "identifier"),
    ("MedicationRequest", "date"),
    ("MedicationRequest", "identifier"),
    ("Observation", "identifier"),
    ("Practitioner", "gender"),
    ("Procedure", "category"),
    ("Procedure", "identifier"),
    ("ServiceRequest", "identifier"),
];

/// Checks every parameter of every type over `resources` (as stored in `s`): values from the
/// first and the last resource carrying it, the store's answer equal to the JSON's. Returns
/// how many searches were checked and which parameters had no value at all.
fn check_every_parameter(
    s: &dyn ResourceStore,
    resources: &[Value],
) -> (usize, BTreeSet<(&'static str, &'static str)>) {
    let mut checked = 0;
    let mut empty = BTreeSet::new();
    for def in RESOURCES {
        let rtype = def.resource_type;
        let of_type: Vec<&Value> = resources
            .iter()
            .filter(|r| r["resourceType"] == rtype)
            .collect();
        for param in def.params {
            let carriers: Vec<&Value> = of_type
                .iter()
                .copied()
                .filter(|r| !values_of(param, r).is_empty())
                .collect();
            let mut values = BTreeSet::new();
            for r in [carriers.first(), carriers.last()].into_iter().flatten() {
                values.extend(values_of(param, r).into_iter().take(2));
            }
            if param.target.is_some()
                && let Some(v) = values.iter().next().cloned()
            {
                // A reference to the target type may also be searched by bare id.
                values.insert(v.rsplit('/').next().unwrap().to_owned());
            }
            if values.is_empty() {
                empty.insert((rtype, param.name));
                continue;
            }
            for value in values {
                let want: Vec<String> = ids_of(
                    of_type
                        .iter()
                        .copied()
                        .filter(|r| matches(param, &value, r)),
                );
                assert!(!want.is_empty(), "{rtype}?{}={value}", param.name);
                let got = ids(&all(
                    s,
                    Scope::Network,
                    rtype,
                    &[(param.name, &value)],
                    &Filter::All,
                ));
                assert_eq!(got, want, "{rtype}?{}={value}", param.name);
                checked += 1;
            }
        }
    }
    (checked, empty)
}

#[test]
fn every_parameter_of_every_type_matches_the_json() {
    let (checked, empty) = check_every_parameter(loaded().as_ref(), &synth().resources());
    assert_eq!(
        empty,
        UNPOPULATED.iter().copied().collect::<BTreeSet<_>>(),
        "parameters without any value in the data set"
    );
    assert!(checked > 100, "{checked}");
}

const GENDERS: [&str; 3] = ["female", "male", "other"];
const PROCEDURE_CATEGORIES: [&str; 3] = ["387713003", "103693007", "46947000"];

#[test]
fn every_parameter_the_data_leaves_empty_matches_once_supplemented() {
    // Three generated resources of each type, given the elements the generator never writes
    // (identifiers on clinical types, a dosage timing, a practitioner's gender, a procedure
    // category), each resource with different values so that a search must discriminate.
    let mut resources = Vec::new();
    for def in RESOURCES {
        let of_type = synth()
            .resources()
            .into_iter()
            .filter(|r| r["resourceType"] == def.resource_type)
            .take(3);
        for (i, mut r) in of_type.enumerate() {
            let id = |n: usize| json!({"system": "urn:test:ids", "value": format!("X-{n}")});
            r["identifier"] = json!([id(i), id(10 + i)]);
            match def.resource_type {
                "DocumentReference" => r["masterIdentifier"] = id(20 + i),
                "MedicationRequest" => {
                    r["dosageInstruction"] =
                        json!([{"timing": {"event": [format!("2024-0{}-15", i + 1)]}}]);
                }
                "Practitioner" => r["gender"] = json!(GENDERS[i]),
                "Procedure" => {
                    let code = PROCEDURE_CATEGORIES[i];
                    r["category"] =
                        json!({"coding": [{"system": "http://snomed.info/sct", "code": code}]});
                }
                _ => {}
            }
            resources.push(r);
        }
    }
    let store = tessera_store::SqliteStore::open_in_memory().unwrap();
    let mut report = tessera_store::IngestReport::default();
    for r in &resources {
        tessera_store::ingest_value(&store, r.clone(), None, &crate::opts(), &mut report).unwrap();
    }
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let (checked, empty) = check_every_parameter(&store, &resources);
    assert!(
        empty.is_empty(),
        "every parameter now has values: {empty:?}"
    );
    assert!(checked > UNPOPULATED.len(), "{checked}");
}

fn ids_of<'a>(v: impl Iterator<Item = &'a Value>) -> Vec<String> {
    let mut out: Vec<String> = v.map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    out.sort();
    out
}

fn ids(v: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = v
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

fn matching(v: &[Value], pred: impl Fn(&Value) -> bool) -> Vec<String> {
    let kept: Vec<Value> = v.iter().filter(|r| pred(r)).cloned().collect();
    ids(&kept)
}

fn has_coding(cc: &Value, system: Option<&str>, code: &str) -> bool {
    let list = match cc {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    list.iter().any(|c| {
        c["coding"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|cd| cd["code"] == code && system.is_none_or(|s| cd["system"] == s))
    })
}

#[test]
fn token_reference_string_and_id_parameters() {
    let store = loaded();
    let s = store.as_ref();
    let obs = all(s, Scope::Network, "Observation", &[], &Filter::All);
    let search = |q: &[(&str, &str)]| ids(&all(s, Scope::Network, "Observation", q, &Filter::All));

    let loinc = |r: &Value| has_coding(&r["code"], Some("http://loinc.org"), "4548-4");
    let want = matching(&obs, loinc);
    assert!(!want.is_empty());
    assert_eq!(search(&[("code", "http://loinc.org|4548-4")]), want);
    assert_eq!(search(&[("code", "4548-4")]), want);
    assert!(
        search(&[("code", "|4548-4")]).is_empty(),
        "|code matches only codes without a system"
    );
    assert!(search(&[("code", "http://snomed.info/sct|4548-4")]).is_empty());
    let either = matching(&obs, |r| {
        loinc(r) || has_coding(&r["code"], None, "85354-6")
    });
    assert_eq!(search(&[("code", "4548-4,85354-6")]), either);
    assert!(either.len() > want.len());

    let labs = matching(&obs, |r| has_coding(&r["category"], None, "laboratory"));
    assert_eq!(search(&[("category", "laboratory")]), labs);
    let anchor = synth().patient(0)["sites"][0]["patient_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let anchor_labs = matching(&obs, |r| {
        has_coding(&r["category"], None, "laboratory")
            && r["subject"]["reference"] == format!("Patient/{anchor}")
    });
    assert!(!anchor_labs.is_empty());
    assert!(anchor_labs.len() < labs.len());
    assert_eq!(
        search(&[("category", "laboratory"), ("patient", &anchor)]),
        anchor_labs,
        "repeated params AND"
    );
    assert_eq!(
        search(&[
            ("category", "laboratory"),
            ("subject", &format!("Patient/{anchor}"))
        ]),
        anchor_labs
    );
    assert_eq!(
        search(&[("status", "final")]),
        matching(&obs, |r| r["status"] == "final")
    );
    assert_eq!(search(&[("_id", &want[0])]), vec![want[0].clone()]);
    let enc_id = obs
        .iter()
        .find_map(|r| r["encounter"]["reference"].as_str())
        .unwrap()
        .trim_start_matches("Encounter/")
        .to_owned();
    assert_eq!(
        search(&[("encounter", &enc_id)]),
        matching(&obs, |r| r["encounter"]["reference"]
            == format!("Encounter/{enc_id}"))
    );

    let pats = all(s, Scope::Network, "Patient", &[], &Filter::All);
    let psearch = |q: &[(&str, &str)]| ids(&all(s, Scope::Network, "Patient", q, &Filter::All));
    // The anchor of the cast: Samuel Green, known at two sites; another Green shares the name.
    let p0 = synth().patient(0);
    let (given, family, born) = (
        p0["given"].as_str().unwrap(),
        p0["family"].as_str().unwrap(),
        p0["birth_date"].as_str().unwrap(),
    );
    let same_family = matching(&pats, |r| r["name"][0]["family"] == family);
    let person = matching(&pats, |r| {
        r["name"][0]["family"] == family && r["birthDate"] == born
    });
    assert_eq!(person.len(), p0["sites"].as_array().unwrap().len());
    assert!(person.len() >= 2 && same_family.len() > person.len());
    assert_eq!(psearch(&[("family", &family.to_uppercase())]), same_family);
    assert_eq!(
        psearch(&[("family", &family[..3].to_lowercase())]).len(),
        matching(&pats, |r| r["name"][0]["family"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .starts_with(&family[..3].to_lowercase()))
        .len(),
        "string search is a case-insensitive prefix"
    );
    assert_eq!(
        psearch(&[("name", &given.to_lowercase()), ("birthdate", born)]),
        person
    );
    assert_eq!(
        psearch(&[("given", given)]),
        matching(&pats, |r| r["name"][0]["given"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g == given))
    );
    assert_eq!(
        psearch(&[("gender", "female")]),
        matching(&pats, |r| r["gender"] == "female")
    );
    assert_eq!(psearch(&[("identifier", "no-such")]), Vec::<String>::new());

    let npi = synth().manifest["sites"][0]["npi"]
        .as_str()
        .unwrap()
        .to_owned();
    let orgs = all(
        s,
        Scope::Network,
        "Organization",
        &[(
            "identifier",
            &format!("http://hl7.org/fhir/sid/us-npi|{npi}"),
        )],
        &Filter::All,
    );
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0]["name"], synth().manifest["sites"][0]["name"]);
    let encs = all(s, Scope::Network, "Encounter", &[], &Filter::All);
    let esearch = |q: &[(&str, &str)]| ids(&all(s, Scope::Network, "Encounter", q, &Filter::All));
    assert_eq!(
        esearch(&[("class", "EMER")]),
        matching(&encs, |r| r["class"]["code"] == "EMER")
    );
    assert_eq!(
        esearch(&[(
            "class",
            "http://terminology.hl7.org/CodeSystem/v3-ActCode|IMP"
        )]),
        matching(&encs, |r| r["class"]["code"] == "IMP")
    );
    assert!(!esearch(&[("class", "EMER")]).is_empty());
    assert!(!esearch(&[("class", "IMP")]).is_empty());
    let conds = all(s, Scope::Network, "Condition", &[], &Filter::All);
    assert_eq!(
        ids(&all(
            s,
            Scope::Network,
            "Condition",
            &[("clinical-status", "active")],
            &Filter::All
        )),
        matching(&conds, |r| has_coding(&r["clinicalStatus"], None, "active"))
    );
}

#[test]
fn date_prefixes_match_the_reference_semantics() {
    let store = loaded();
    let s = store.as_ref();
    let obs = all(s, Scope::Network, "Observation", &[], &Filter::All);
    for value in ["2021", "2021-10", "2023-03-01T00:00:00Z"]
        .into_iter()
        .map(str::to_owned)
        .chain(
            obs.iter()
                .filter_map(|r| r["effectiveDateTime"].as_str())
                .take(1)
                .flat_map(|d| [d[..10].to_owned(), d.to_owned()]),
        )
    {
        let value = value.as_str();
        for (p, prefix) in [
            ("", DatePrefix::Eq),
            ("eq", DatePrefix::Eq),
            ("ne", DatePrefix::Ne),
            ("gt", DatePrefix::Gt),
            ("lt", DatePrefix::Lt),
            ("ge", DatePrefix::Ge),
            ("le", DatePrefix::Le),
            ("sa", DatePrefix::Sa),
            ("eb", DatePrefix::Eb),
            ("ap", DatePrefix::Ap),
        ] {
            let search = parse_date_range(value).unwrap();
            let want = matching(&obs, |r| {
                ["effectiveDateTime", "effectiveInstant"]
                    .iter()
                    .filter_map(|k| r[*k].as_str())
                    .chain(r["effectivePeriod"]["start"].as_str())
                    .any(|d| prefix.matches(search, parse_date_range(d).unwrap()))
            });
            let q = format!("{p}{value}");
            let got = ids(&all(
                s,
                Scope::Network,
                "Observation",
                &[("date", &q)],
                &Filter::All,
            ));
            assert_eq!(got, want, "date={q}");
        }
    }
    // A bounded window ANDs two prefixes.
    let window = ids(&all(
        s,
        Scope::Network,
        "Observation",
        &[("date", "ge2022-01-01"), ("date", "le2022-12-31")],
        &Filter::All,
    ));
    assert_eq!(
        window,
        ids(&all(
            s,
            Scope::Network,
            "Observation",
            &[("date", "2022")],
            &Filter::All
        ))
    );
    // _lastUpdated is the ingest stamp (2026-01-01) for unstamped data.
    let stamped = all(
        s,
        Scope::Network,
        "Observation",
        &[("_lastUpdated", "2026-01-01")],
        &Filter::All,
    );
    assert_eq!(stamped.len(), obs.len());
    assert!(
        all(
            s,
            Scope::Network,
            "Observation",
            &[("_lastUpdated", "lt2025")],
            &Filter::All
        )
        .is_empty()
    );
}
