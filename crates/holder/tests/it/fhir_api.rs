//! The FHIR API on the corpus under a full grant: counts, paging, parameters, sites, metadata.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::Value;

use crate::fhir_support::*;

fn corpus_count(rtype: &str, patient: &str) -> usize {
    stored_corpus()
        .iter()
        .filter(|r| r["resourceType"] == rtype)
        .filter(|r| tessera_access::extract_facts(r).patient.as_deref() == Some(patient))
        .count()
}

#[tokio::test]
async fn counts_per_patient_and_type_match_the_corpus() {
    let app = app(Some(grant(grant_all(ELENA, 18))));
    let mut checked = 0;
    for def in tessera_fhir::RESOURCES {
        let rtype = def.resource_type;
        if def.param("patient").is_none() {
            continue;
        }
        let r = get(&app, &format!("/{rtype}?patient={ELENA}&_summary=count")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.body["total"].as_u64().unwrap() as usize,
            corpus_count(rtype, ELENA),
            "{rtype}"
        );
        assert!(
            r.body.get("entry").is_none(),
            "_summary=count has no entries"
        );
        checked += corpus_count(rtype, ELENA);
    }
    assert!(checked >= 20, "{checked}");
    let r = get(&app, &format!("/Patient/{ELENA}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type, "application/fhir+json");
    assert_eq!(r.body["id"], ELENA);
}

#[tokio::test]
async fn paging_is_stable_complete_and_carries_no_grant() {
    let app = app(Some(grant(grant_all(ELENA, 18))));
    let (total, all) = get_all(&app, "/Observation?_count=7").await;
    assert_eq!(total as usize, corpus_count("Observation", ELENA));
    assert_eq!(all.len() as u64, total);
    let ids: BTreeSet<&str> = all.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), all.len(), "no duplicates across pages");
    let first = get(&app, "/Observation?category=vital-signs&_count=2").await;
    let next = first.body["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .unwrap();
    let url = next["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!(
            "{BASE}/Observation?category=vital-signs&_count=2&_cursor="
        )),
        "{url}"
    );
    assert_eq!(
        first.body["entry"][0]["fullUrl"]
            .as_str()
            .unwrap()
            .split('/')
            .count(),
        6
    );
    // The same paging with POST _search.
    let req = Request::post("/Observation/_search")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("category=vital-signs&_count=200"))
        .unwrap();
    let posted = send(&app, req).await;
    let got = get(&app, "/Observation?category=vital-signs&_count=200").await;
    assert_eq!(posted.status, StatusCode::OK);
    assert_eq!(posted.body["total"], got.body["total"]);
    assert_eq!(posted.body["entry"], got.body["entry"]);
}

#[tokio::test]
async fn each_parameter_works_over_http() {
    let app = app(Some(grant(grant_all(ELENA, 18))));
    let total = |r: &Resp| r.body["total"].as_u64().unwrap();
    let cases: &[(&str, bool)] = &[
        (
            "/Observation?code=http://loinc.org|8480-6,http://loinc.org|55284-4",
            true,
        ),
        (
            "/Observation?category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs",
            true,
        ),
        ("/Observation?date=ge2021-01-01&date=lt2022", true),
        ("/Observation?status=final", true),
        (&format!("/Observation?subject=Patient/{ELENA}"), true),
        ("/Condition?clinical-status=active", true),
        ("/Encounter?class=AMB", true),
        ("/Encounter?date=2021-10", true),
        ("/Encounter?type=http://snomed.info/sct|78318003", true),
        ("/MedicationRequest?authoredon=2021-10-12", true),
        ("/MedicationRequest?status=active", true),
        ("/DocumentReference?type=11506-3", true),
        (
            "/Patient?family=reyes&given=elena&birthdate=1989-09-14&gender=female",
            true,
        ),
        ("/Patient?name=ELENA", true),
        ("/Immunization?date=2021", true),
        (
            "/AllergyIntolerance?clinical-status=active&type=allergy",
            true,
        ),
        ("/Observation?_lastUpdated=ge2026-01-01", true),
        ("/Observation?date=sa2099", false),
        ("/Observation?code=no-such-code", false),
        ("/Patient?_id=does-not-exist", false),
    ];
    for (uri, nonempty) in cases {
        let r = get(&app, uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
        assert_eq!(total(&r) > 0, *nonempty, "{uri}");
    }
    let r = get(&app, &format!("/Patient?_id={ELENA}")).await;
    assert_eq!(total(&r), 1);
    let enc = get(&app, "/Encounter?_count=1").await;
    let enc_id = enc.body["entry"][0]["resource"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = get(&app, &format!("/Observation?encounter=Encounter/{enc_id}")).await;
    assert!(total(&r) > 0);
    for e in r.body["entry"].as_array().unwrap() {
        assert_eq!(
            e["resource"]["encounter"]["reference"],
            format!("Encounter/{enc_id}")
        );
    }
}

#[tokio::test]
async fn site_bases_and_metadata() {
    let app = app(Some(grant(grant_all(ELENA, 18))));
    let r = get(&app, &format!("/site/{ELENA_SITE}/Patient")).await;
    assert_eq!(r.body["total"], 1);
    assert!(
        r.body["link"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{BASE}/site/{ELENA_SITE}/Patient?"))
    );
    let other = get(&app, "/site/lone-star-womens-health/Patient").await;
    assert_eq!(
        other.body["total"], 0,
        "Elena's Austin record is not at Lone Star"
    );
    let r = get(
        &app,
        &format!("/site/lone-star-womens-health/Patient/{ELENA}"),
    )
    .await;
    outcome(&r, StatusCode::NOT_FOUND);
    outcome(
        &get(&app, "/site/no-such-site/Patient").await,
        StatusCode::NOT_FOUND,
    );
    let m = get(&app, "/metadata").await;
    assert_eq!(m.status, StatusCode::OK);
    assert_eq!(m.body["resourceType"], "CapabilityStatement");
    let res = m.body["rest"][0]["resource"].as_array().unwrap();
    assert_eq!(res.len(), 16);
    let enc: &Value = res.iter().find(|r| r["type"] == "Encounter").unwrap();
    let names: Vec<&str> = enc["searchParam"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"class") && names.contains(&"_lastUpdated") && !names.contains(&"code")
    );
    assert_eq!(enc["searchInclude"], serde_json::json!([]));
    let sm = get(&app, &format!("/site/{ELENA_SITE}/metadata")).await;
    assert_eq!(
        sm.body["implementation"]["url"],
        format!("{BASE}/site/{ELENA_SITE}")
    );
}
