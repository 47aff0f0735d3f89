//! The FHIR API on the synthetic data set under a full grant: counts, paging, every search
//! parameter, sites, metadata. Expected results are computed from the generated JSON.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::Value;

use crate::expect::{matches, values_of};
use crate::fhir_support::*;

/// The generated resources of `rtype` in `patient`'s compartment (by the type's `patient`
/// parameter; the Patient itself by id).
fn own(rtype: &str, patient: &str) -> Vec<&'static Value> {
    let def = tessera_fhir::resource_def(rtype).unwrap();
    of_type(rtype)
        .filter(|r| match def.param("patient") {
            Some(p) => matches(p, &format!("Patient/{patient}"), r),
            None => rtype == "Patient" && r["id"] == patient,
        })
        .collect()
}

fn own_count(rtype: &str, patient: &str) -> usize {
    own(rtype, patient).len()
}

#[tokio::test]
async fn counts_per_patient_and_type_match_the_data() {
    let p = patient();
    let app = app(Some(grant(grant_all(p, 18))));
    let mut checked = 0;
    for def in tessera_fhir::RESOURCES {
        let rtype = def.resource_type;
        if def.param("patient").is_none() {
            continue;
        }
        let r = get(&app, &format!("/{rtype}?patient={p}&_summary=count")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.body["total"].as_u64().unwrap() as usize,
            own_count(rtype, p),
            "{rtype}"
        );
        assert!(
            r.body.get("entry").is_none(),
            "_summary=count has no entries"
        );
        checked += own_count(rtype, p);
    }
    assert!(checked >= 50, "{checked}");
    let r = get(&app, &format!("/Patient/{p}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type, "application/fhir+json");
    assert_eq!(r.body["id"], p);
    // His record at his other site is another patient's compartment: not in this grant.
    let other = &anchor().other_id;
    let r = get(
        &app,
        &format!("/Observation?patient={other}&_summary=count"),
    )
    .await;
    assert_eq!(r.body["total"], 0);
    assert!(own_count("Observation", other) > 0);
}

#[tokio::test]
async fn paging_is_stable_complete_and_carries_no_grant() {
    let app = app(Some(grant(grant_all(patient(), 18))));
    let (total, all) = get_all(&app, "/Observation?_count=7").await;
    assert!(total > 14, "several pages: {total}");
    assert_eq!(total as usize, own_count("Observation", patient()));
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

/// A query-string value with the characters that would change its meaning escaped.
fn q(v: &str) -> String {
    v.replace('%', "%25")
        .replace(' ', "%20")
        .replace('&', "%26")
        .replace('+', "%2B")
        .replace('#', "%23")
}

#[tokio::test]
async fn every_parameter_works_over_http() {
    let p = patient();
    let app = app(Some(grant(grant_all(p, 18))));
    let mut checked = 0;
    for def in tessera_fhir::RESOURCES {
        let rtype = def.resource_type;
        if def.param("patient").is_none() && rtype != "Patient" {
            continue; // site-level types: store-level tests cover their parameters
        }
        let mine = own(rtype, p);
        for param in def.params {
            let values: BTreeSet<String> = mine
                .iter()
                .flat_map(|r| values_of(param, r).into_iter().take(1))
                .take(2)
                .collect();
            for value in values {
                let want: BTreeSet<&str> = mine
                    .iter()
                    .filter(|r| matches(param, &value, r))
                    .map(|r| r["id"].as_str().unwrap())
                    .collect();
                let uri = format!("/{rtype}?{}={}&_count=50", param.name, q(&value));
                let (total, got) = get_all(&app, &uri).await;
                let got: BTreeSet<&str> = got.iter().map(|r| r["id"].as_str().unwrap()).collect();
                assert!(!want.is_empty(), "{uri}");
                assert_eq!(got, want, "{uri}");
                assert_eq!(total as usize, want.len(), "{uri}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 40, "{checked}");
    let total = |r: &Resp| r.body["total"].as_u64().unwrap();
    // Negative cases, ids, OR within a parameter, AND across repeats, _lastUpdated.
    for (uri, want) in [
        ("/Observation?date=sa2099".to_owned(), 0),
        ("/Observation?code=no-such-code".to_owned(), 0),
        ("/Patient?_id=does-not-exist".to_owned(), 0),
        (format!("/Patient?_id={p}"), 1),
        (
            "/Observation?_lastUpdated=ge2026-01-01".to_owned(),
            own_count("Observation", p),
        ),
        ("/Observation?_lastUpdated=lt2026-01-01".to_owned(), 0),
    ] {
        let r = get(&app, &uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
        assert_eq!(total(&r) as usize, want, "{uri}");
    }
    let obs = own("Observation", p);
    let code = |r: &Value| r["code"]["coding"][0]["code"].as_str().unwrap().to_owned();
    let codes: BTreeSet<String> = obs
        .iter()
        .map(|r| code(r))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .take(2)
        .collect();
    assert_eq!(codes.len(), 2);
    let either: Vec<&str> = codes.iter().map(String::as_str).collect();
    let r = get(&app, &format!("/Observation?code={}", either.join(","))).await;
    assert_eq!(
        total(&r) as usize,
        obs.iter().filter(|r| codes.contains(&code(r))).count()
    );
    let y = obs[0]["effectiveDateTime"].as_str().unwrap()[..4].to_owned();
    let r = get(
        &app,
        &format!("/Observation?date=ge{y}-01-01&date=le{y}-12-31"),
    )
    .await;
    let same_year = obs
        .iter()
        .filter(|r| {
            r["effectiveDateTime"]
                .as_str()
                .is_some_and(|d| d.starts_with(&y))
        })
        .count();
    assert_eq!(total(&r) as usize, same_year);
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
    let a = anchor();
    let (p, site, elsewhere) = (&a.id, &a.site, &a.elsewhere);
    let app = app(Some(grant(grant_all(p, 18))));
    let r = get(&app, &format!("/site/{site}/Patient")).await;
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["entry"][0]["resource"]["id"], p.as_str());
    assert!(
        r.body["link"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{BASE}/site/{site}/Patient?"))
    );
    let r = get(&app, &format!("/site/{site}/Observation?_summary=count")).await;
    assert_eq!(
        r.body["total"].as_u64().unwrap() as usize,
        own_count("Observation", p)
    );
    let other = get(&app, &format!("/site/{elsewhere}/Patient")).await;
    assert_eq!(other.body["total"], 0, "his record is not at {elsewhere}");
    let r = get(&app, &format!("/site/{elsewhere}/Patient/{p}")).await;
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
    let sm = get(&app, &format!("/site/{site}/metadata")).await;
    assert_eq!(
        sm.body["implementation"]["url"],
        format!("{BASE}/site/{site}")
    );
}

// `_total=none` (FHIR R4 search, `_total`): the pages are the same, `Bundle.total` is absent,
// and the paging links carry the choice on.
#[tokio::test]
async fn total_none_skips_the_count_and_pages_alike() {
    let p = patient();
    let app = app(Some(grant(grant_all(p, 18))));
    let want = own_count("Observation", p);
    assert!(want > 3, "{want}");
    let mut url = format!("/Observation?patient={p}&_count=3&_total=none");
    let mut seen = 0;
    loop {
        let r = get(&app, &url).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.get("total").is_none(), "{}", r.body);
        seen += r.body["entry"].as_array().map_or(0, Vec::len);
        let next = r.body["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == "next")
            .and_then(|l| l["url"].as_str())
            .map(str::to_owned);
        match next {
            Some(n) => {
                assert!(n.contains("_total=none"), "{n}");
                url = n[n.find("/Observation").unwrap()..].to_owned();
            }
            None => break,
        }
    }
    assert_eq!(seen, want);
    let r = get(&app, &format!("/Observation?patient={p}&_total=accurate")).await;
    assert_eq!(r.body["total"].as_u64(), Some(want as u64));
    let r = get(&app, &format!("/Observation?patient={p}&_total=sometimes")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}
