//! Search parameters at the store level, each checked against a count computed from the
//! corpus JSON independently of the index.

use serde_json::Value;
use tessera_access::Filter;
use tessera_fhir::{DatePrefix, parse_date_range};
use tessera_store::Scope;

use crate::{all, loaded};

const ELENA_AUSTIN: &str = "7f3a1c5e-9b2d-4e8f-a6c0-1d3e5a7b9c2f";

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
        loinc(r)
            || has_coding(&r["code"], None, "8480-6")
            || has_coding(&r["code"], None, "55284-4")
    });
    assert_eq!(
        search(&[("code", "4548-4,55284-4")]).len(),
        matching(&obs, |r| loinc(r)
            || has_coding(&r["code"], None, "55284-4"))
        .len()
    );
    assert!(either.len() >= want.len());

    let labs = matching(&obs, |r| has_coding(&r["category"], None, "laboratory"));
    assert_eq!(search(&[("category", "laboratory")]), labs);
    let elena_labs = matching(&obs, |r| {
        has_coding(&r["category"], None, "laboratory")
            && r["subject"]["reference"] == format!("Patient/{ELENA_AUSTIN}")
    });
    assert!(!elena_labs.is_empty());
    assert_eq!(
        search(&[("category", "laboratory"), ("patient", ELENA_AUSTIN)]),
        elena_labs,
        "repeated params AND"
    );
    assert_eq!(
        search(&[
            ("category", "laboratory"),
            ("subject", &format!("Patient/{ELENA_AUSTIN}"))
        ]),
        elena_labs
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
    let reyes = matching(&pats, |r| r["name"][0]["family"] == "Reyes");
    assert_eq!(reyes.len(), 5, "Elena is known at five sites");
    assert_eq!(psearch(&[("family", "reyes")]), reyes);
    assert_eq!(
        psearch(&[("family", "Rey")]),
        reyes,
        "string search is a case-insensitive prefix"
    );
    assert_eq!(
        psearch(&[("name", "elena"), ("birthdate", "1989-09-14")]),
        reyes
    );
    assert_eq!(
        psearch(&[("given", "Marisol")]).len(),
        matching(&pats, |r| r["name"][0]["given"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g == "Marisol"))
        .len()
    );
    assert_eq!(
        psearch(&[("gender", "female")]),
        matching(&pats, |r| r["gender"] == "female")
    );
    assert_eq!(psearch(&[("identifier", "no-such")]), Vec::<String>::new());

    let orgs = all(
        s,
        Scope::Network,
        "Organization",
        &[("identifier", "http://hl7.org/fhir/sid/us-npi|1437826095")],
        &Filter::All,
    );
    assert_eq!(orgs.len(), 1);
    let encs = all(s, Scope::Network, "Encounter", &[], &Filter::All);
    let esearch = |q: &[(&str, &str)]| ids(&all(s, Scope::Network, "Encounter", q, &Filter::All));
    assert_eq!(
        esearch(&[("class", "EMER")]),
        matching(&encs, |r| r["class"]["code"] == "EMER")
    );
    assert_eq!(
        esearch(&[(
            "class",
            "http://terminology.hl7.org/CodeSystem/v3-ActCode|VR"
        )]),
        matching(&encs, |r| r["class"]["code"] == "VR")
    );
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
    for value in ["2021", "2021-10", "2021-10-12", "2023-03-01T00:00:00Z"] {
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
