//! Network Data Holders (issue 14) over the project's synthetic data: persons linked across
//! sites by the generator's enterprise identifier, the combined record at the network base,
//! per-site Data Holders, record location, and operator linkage (conflicts, contradictions).
//! Expected sets are computed from the generated JSON, independently of the store.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tessera_holder::network::linkage::{LinkEntry, LinkError, apply, show};
use tessera_store::{
    IngestOptions, IngestReport, ResourceStore, SiteMode, SqliteStore, ingest_value,
};
use tessera_synth::PERSON_ID_SYSTEM;

use crate::fhir_support::data;
use crate::token_support::*;

const SCOPES: &[&str] = &[
    "patient/Observation.rs",
    "patient/Condition.rs",
    "patient/Patient.rs",
];

fn linkage_toml() -> String {
    config_toml(&format!(
        "[linkage]\nenterprise_identifier_systems = [\"{PERSON_ID_SYSTEM}\"]\n"
    ))
}

/// A private store of the synthetic data set, one site per bundle (never the shared one:
/// building a holder rebuilds the linkage in its store).
fn network_store() -> Arc<dyn ResourceStore> {
    let store = SqliteStore::open_in_memory().unwrap();
    let opts = IngestOptions {
        now: NOW,
        sites: SiteMode::PerBundleFile,
    };
    let mut report = IngestReport::default();
    for (site, bundle) in &data().bundles {
        ingest_value(&store, bundle.clone(), Some(site), &opts, &mut report).unwrap();
    }
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    Arc::new(store)
}

/// The manifest's first patient known at two or more sites.
struct Person {
    given: String,
    family: String,
    birth_date: String,
    /// `(site, Patient id)`, in manifest order.
    records: Vec<(String, String)>,
}

fn person(nth: usize) -> Person {
    let p = data().manifest["patient_records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["sites"].as_array().unwrap().len() >= 2)
        .nth(nth)
        .unwrap();
    let s = |v: &Value| v.as_str().unwrap().to_owned();
    Person {
        given: s(&p["given"]),
        family: s(&p["family"]),
        birth_date: s(&p["birth_date"]),
        records: p["sites"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (s(&r["site"]), s(&r["patient_id"])))
            .collect(),
    }
}

/// A demographics-only self-access ticket for `p` with `aud`.
fn ticket(p: &Person, aud: Value, extra_access: Value) -> String {
    let mut t = baseline();
    t["aud"] = aud;
    t["subject"] = json!({"patient": {"resourceType": "Patient", "birthDate": p.birth_date,
        "name": [{"family": p.family, "given": [p.given]}]}});
    let mut access = json!({"smart_scopes": SCOPES});
    if let Some(obj) = extra_access.as_object() {
        for (k, v) in obj {
            access[k] = v.clone();
        }
    }
    t["access"] = access;
    mint(&t)
}

/// Redeems at `base_path` (`/fhir` or `/fhir/site/{site}`), the assertion's `aud` being that
/// Data Holder's token endpoint.
async fn redeem_at(h: &Holder, base_path: &str, ticket: &str) -> (StatusCode, Value) {
    let token_url = format!("https://dh.example.org{base_path}/token");
    let now = h.now();
    let claims = json!({"iss": "app1", "sub": "app1", "aud": token_url,
        "jti": uuid::Uuid::new_v4().to_string(), "iat": now, "exp": now + 60});
    let assertion = sign(&keys().client, &claims);
    let form = [
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token_type", SUBJECT_TOKEN_TYPE),
        ("subject_token", ticket),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.as_str()),
    ];
    let (s, _, b) = h.post(&format!("{base_path}/token"), &form, &[]).await;
    (s, b)
}

async fn bearer_at(h: &Holder, base_path: &str, ticket: &str) -> (String, Value) {
    let (s, b) = redeem_at(h, base_path, ticket).await;
    assert_eq!(s, 200, "{base_path}: {b}");
    (format!("Bearer {}", b["access_token"].as_str().unwrap()), b)
}

/// Every id a search releases, following `next` links.
async fn all_ids(h: &Holder, first: &str, auth: &str) -> (u64, BTreeSet<String>) {
    let mut url = first.to_owned();
    let mut ids = BTreeSet::new();
    let mut total = None;
    loop {
        let (s, _, b) = h.get(&url, &[("authorization", auth)]).await;
        assert_eq!(s, 200, "{url}: {b}");
        total.get_or_insert(b["total"].as_u64().unwrap());
        for e in b["entry"].as_array().into_iter().flatten() {
            assert!(ids.insert(e["resource"]["id"].as_str().unwrap().to_owned()));
        }
        match b["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == "next")
        {
            Some(l) => {
                url = l["url"]
                    .as_str()
                    .unwrap()
                    .strip_prefix("https://dh.example.org")
                    .unwrap()
                    .to_owned()
            }
            None => break,
        }
    }
    (total.unwrap(), ids)
}

/// Independent evaluation: the generated resources of `rtype` whose subject is one of
/// `records`.
fn expected(rtype: &str, records: &[&str]) -> BTreeSet<String> {
    data()
        .resources
        .iter()
        .filter(|r| r["resourceType"] == rtype)
        .filter(|r| {
            let subject = if rtype == "Patient" {
                format!("Patient/{}", r["id"].as_str().unwrap())
            } else {
                r["subject"]["reference"]
                    .as_str()
                    .or(r["patient"]["reference"].as_str())
                    .unwrap_or("")
                    .to_owned()
            };
            records.iter().any(|id| subject == format!("Patient/{id}"))
        })
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn without_linkage_a_person_at_two_sites_is_ambiguous_at_the_network_base() {
    // PT-SUBJ-03: two unlinked records ⇒ ambiguous; PT-SUBJ-01 at the site that has one.
    let h = Holder::build(&config_toml(""), network_store());
    let p = person(0);
    let (s, b) = redeem_at(&h, "/fhir", &ticket(&p, json!(BASE), json!({}))).await;
    assert_error(
        &(s, b.clone()),
        400,
        "invalid_grant",
        Some("Ambiguous ticket subject match"),
    );
    // Each site alone knows one record: its own Data Holder resolves it.
    let (site, record) = &p.records[0];
    let site_base = format!("{BASE}/site/{site}");
    let (_, body) = bearer_at(
        &h,
        &format!("/fhir/site/{site}"),
        &ticket(&p, json!([site_base]), json!({})),
    )
    .await;
    assert_eq!(body["patient"], record.as_str());
}

#[tokio::test]
async fn the_combined_record_at_the_network_base_is_exactly_the_persons_records() {
    let h = Holder::build(&linkage_toml(), network_store());
    let p = person(0);
    let records: Vec<&str> = p.records.iter().map(|(_, id)| id.as_str()).collect();
    let (auth, body) = bearer_at(&h, "/fhir", &ticket(&p, json!(BASE), json!({}))).await;
    // One stable id for the person: the smallest of its record ids when the person formed.
    let stable = records.iter().min().unwrap();
    assert_eq!(body["patient"], *stable);
    for rtype in ["Observation", "Condition", "Patient"] {
        let want = expected(rtype, &records);
        assert!(!want.is_empty(), "{rtype}");
        let (total, got) = all_ids(&h, &format!("/fhir/{rtype}?_count=25"), &auth).await;
        assert_eq!(got, want, "{rtype}");
        assert_eq!(total as usize, want.len(), "{rtype}: exact total");
        // `patient=` with any of the person's record ids means the person.
        if rtype != "Patient" {
            for id in &records {
                let (total, got) =
                    all_ids(&h, &format!("/fhir/{rtype}?patient={id}&_count=40"), &auth).await;
                assert_eq!(
                    (total as usize, &got),
                    (want.len(), &want),
                    "{rtype} patient={id}"
                );
            }
        }
    }
    // Another person's record id: an empty page, no existence leak.
    let other = person(1);
    let (total, got) = all_ids(
        &h,
        &format!("/fhir/Observation?patient={}", other.records[0].1),
        &auth,
    )
    .await;
    assert_eq!((total, got.len()), (0, 0));
    assert!(!expected("Observation", &[&other.records[0].1]).is_empty());
    // The audit row names the person and its records.
    let rows = h.db.audit_recent().unwrap();
    let row = rows.iter().rev().find(|r| r.outcome == "accepted").unwrap();
    let details: Value = serde_json::from_str(&row.details).unwrap();
    assert_eq!(details["data_holder"], "network");
    let mut sorted = records.clone();
    sorted.sort();
    assert_eq!(details["person_records"], json!(sorted));
}

#[tokio::test]
async fn each_site_base_is_its_own_data_holder() {
    let h = Holder::build(&linkage_toml(), network_store());
    let p = person(0);
    let (site_a, record_a) = &p.records[0];
    let (site_b, _) = &p.records[1];
    let base_a = format!("{BASE}/site/{site_a}");
    let base_b = format!("{BASE}/site/{site_b}");
    let both = json!([base_a, base_b]);
    // Discovery names the site's own token endpoint; no record location there.
    let (s, _, d) = h
        .get(
            &format!("/fhir/site/{site_a}/.well-known/smart-configuration"),
            &[],
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(d["token_endpoint"], format!("{base_a}/token"));
    assert!(
        d.get("smart_permission_ticket_record_location_endpoint")
            .is_none()
    );
    let (_, _, n) = h.get("/fhir/.well-known/smart-configuration", &[]).await;
    assert_eq!(
        n["smart_permission_ticket_record_location_endpoint"],
        format!("{BASE}/$resolve-record-locations")
    );
    // A site token releases only that site's records (the site's record of the person).
    let (site_auth, body) = bearer_at(
        &h,
        &format!("/fhir/site/{site_a}"),
        &ticket(&p, both.clone(), json!({})),
    )
    .await;
    assert_eq!(body["patient"], record_a.as_str());
    let want = expected("Observation", &[record_a]);
    let (total, got) = all_ids(
        &h,
        &format!("/fhir/site/{site_a}/Observation?_count=30"),
        &site_auth,
    )
    .await;
    assert_eq!((total as usize, &got), (want.len(), &want));
    // Tokens are not interchangeable: site token at the network base or another site, a
    // network token at a site base — all 401.
    let (net_auth, _) = bearer_at(&h, "/fhir", &ticket(&p, json!(BASE), json!({}))).await;
    for (path, auth) in [
        ("/fhir/Observation".to_owned(), &site_auth),
        (format!("/fhir/site/{site_b}/Observation"), &site_auth),
        (format!("/fhir/site/{site_a}/Observation"), &net_auth),
    ] {
        let (s, headers, b) = h.get(&path, &[("authorization", auth.as_str())]).await;
        assert_eq!(s, 401, "{path}: {b}");
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("invalid_token")
        );
    }
    // Each such refusal is audited, naming the base asked and the Data Holder that issued it.
    let rows = h.db.audit_recent().unwrap();
    let wrong: Vec<Value> = rows
        .iter()
        .filter(|r| r.event == "fhir_access" && r.step.as_deref() == Some("data_holder"))
        .map(|r| {
            let d: Value = serde_json::from_str(&r.details).unwrap();
            assert_eq!(
                (d["method"].as_str(), d["status"].as_u64()),
                (Some("GET"), Some(401))
            );
            json!({"asked": d["asked"], "issued_by": d["issued_by"]})
        })
        .collect();
    assert_eq!(wrong.len(), 3, "{wrong:?}");
    assert!(wrong.contains(&json!({"asked": "network", "issued_by": site_a})));
    assert!(wrong.contains(&json!({"asked": site_a, "issued_by": "network"})));
    // A ticket whose aud is only the network base is refused at a site.
    let (s, b) = redeem_at(
        &h,
        &format!("/fhir/site/{site_a}"),
        &ticket(&p, json!(BASE), json!({})),
    )
    .await;
    assert_error(
        &(s, b.clone()),
        400,
        "invalid_grant",
        Some("Ticket not valid for this server"),
    );
    // A site where the person has no record: unresolved.
    let elsewhere = data()
        .bundles
        .iter()
        .map(|(s, _)| s.clone())
        .find(|s| p.records.iter().all(|(r, _)| r != s))
        .unwrap();
    let base_x = format!("{BASE}/site/{elsewhere}");
    let (s, b) = redeem_at(
        &h,
        &format!("/fhir/site/{elsewhere}"),
        &ticket(&p, json!([base_x]), json!({})),
    )
    .await;
    assert_error(
        &(s, b.clone()),
        400,
        "invalid_grant",
        Some("Unable to resolve ticket subject"),
    );
    // An unknown site: 404 for discovery, token endpoint and FHIR base alike.
    let (s, _, _) = h
        .get(
            "/fhir/site/no-such-site/.well-known/smart-configuration",
            &[],
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = redeem_at(
        &h,
        "/fhir/site/no-such-site",
        &ticket(&p, json!(BASE), json!({})),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _, _) = h
        .get(
            "/fhir/site/no-such-site/Observation",
            &[("authorization", net_auth.as_str())],
        )
        .await;
    assert_eq!(s, 404);
    // Each of the three refusals is audited, under its own event, naming the site asked for.
    let refused = h.db.audit_recent().unwrap();
    let unknown: Vec<&str> = refused
        .iter()
        .filter(|r| r.error_description.as_deref() == Some("No such Data Holder"))
        .map(|r| r.event.as_str())
        .collect();
    for event in ["discovery", "token_exchange", "fhir_access"] {
        assert!(unknown.contains(&event), "{event} not audited: {unknown:?}");
    }
    assert!(refused.iter().any(|r| r.event == "fhir_access"
        && r.details.contains("no-such-site")
        && r.step.as_deref() == Some("data_holder")));
}

async fn locate(h: &Holder, auth: &str) -> (StatusCode, Value) {
    let req = Request::post("/fhir/$resolve-record-locations")
        .header("authorization", auth)
        .body(Body::empty())
        .unwrap();
    let (s, _, b) = send(&h.router, req).await;
    (s, b)
}

fn endpoint_sites(bundle: &Value) -> BTreeSet<String> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "Endpoint")
        .map(|e| {
            let addr = e["resource"]["address"].as_str().unwrap();
            addr.rsplit('/').next().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn record_location_lists_the_sites_that_would_release_and_the_filter_per_data_holder() {
    let h = Holder::build(&linkage_toml(), network_store());
    let p = person(0);
    let sites: BTreeSet<String> = p.records.iter().map(|(s, _)| s.clone()).collect();
    let (auth, _) = bearer_at(&h, "/fhir", &ticket(&p, json!(BASE), json!({}))).await;
    let (s, b) = locate(&h, &auth).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(endpoint_sites(&b), sites);
    let orgs = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "Organization")
        .count();
    assert_eq!(orgs, sites.len());
    // PT-DHF-05, PT-DHF-07: a filter naming one clinic (its NPI): the network, authorized to
    // answer for it, accepts as a whole and returns the integrated record (one of its organizations),
    // record location lists that clinic only, the other site refuses the ticket.
    let (site_a, _) = &p.records[0];
    let (site_b, _) = &p.records[1];
    let npi = |slug: &str| {
        data().manifest["sites"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["slug"] == slug)
            .unwrap()["npi"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let filter = json!({"data_holder_filter": [{"kind": "organization",
        "organization": [{"identifier": {"system": NPI, "value": npi(site_a)}}]}]});
    let bases = json!([
        BASE,
        format!("{BASE}/site/{site_a}"),
        format!("{BASE}/site/{site_b}")
    ]);
    let (auth, _) = bearer_at(&h, "/fhir", &ticket(&p, bases.clone(), filter.clone())).await;
    let (_, b) = locate(&h, &auth).await;
    assert_eq!(endpoint_sites(&b), BTreeSet::from([site_a.clone()]));
    bearer_at(
        &h,
        &format!("/fhir/site/{site_a}"),
        &ticket(&p, bases.clone(), filter.clone()),
    )
    .await;
    let (s, b) = redeem_at(
        &h,
        &format!("/fhir/site/{site_b}"),
        &ticket(&p, bases, filter),
    )
    .await;
    assert_error(
        &(s, b.clone()),
        400,
        "invalid_grant",
        Some("Data Holder not within ticket data_holder_filter"),
    );
    // A site token cannot ask (it is not a network token).
    let site_base = format!("{BASE}/site/{site_a}");
    let (site_auth, _) = bearer_at(
        &h,
        &format!("/fhir/site/{site_a}"),
        &ticket(&p, json!([site_base]), json!({})),
    )
    .await;
    let (s, _) = locate(&h, &site_auth).await;
    assert_eq!(s, 401);
    // Advertised in the network's CapabilityStatement only.
    let (_, _, m) = h.get("/fhir/metadata", &[]).await;
    assert_eq!(
        m["rest"][0]["operation"][0]["name"],
        "resolve-record-locations"
    );
    let (_, _, m) = h.get(&format!("/fhir/site/{site_a}/metadata"), &[]).await;
    assert!(m["rest"][0].get("operation").is_none());
}

#[tokio::test]
async fn operator_links_contradictions_and_conflicts() {
    let store = network_store();
    let h = Holder::build(&linkage_toml(), store.clone());
    let config = h.state.config().clone();
    let p = person(0);
    let other = person(1);
    let (auth, _) = bearer_at(&h, "/fhir", &ticket(&p, json!(BASE), json!({}))).await;
    let before = all_ids(&h, "/fhir/Observation?_count=50", &auth).await;
    // Bad input: an unknown record, an unknown system, a malformed claim.
    let entry = |record: &str, same_as: Option<&str>, identifier: Option<&str>| LinkEntry {
        action: "add".into(),
        record: record.into(),
        same_as: same_as.map(str::to_owned),
        identifier: identifier.map(str::to_owned),
    };
    assert_eq!(
        apply(
            &config,
            store.as_ref(),
            &entry("Patient/nope", Some(&p.records[0].1), None),
            "cli",
            NOW
        ),
        Err(LinkError::UnknownRecord("nope".into()))
    );
    assert_eq!(
        apply(
            &config,
            store.as_ref(),
            &entry(&p.records[0].1, None, Some("urn:other|1")),
            "cli",
            NOW
        ),
        Err(LinkError::UnknownSystem("urn:other".into()))
    );
    assert!(matches!(
        apply(
            &config,
            store.as_ref(),
            &entry(&p.records[0].1, None, None),
            "cli",
            NOW
        ),
        Err(LinkError::Malformed(_))
    ));
    // PT-SUBJ-05 (through linkage): another person's record, taken out of its person (its enterprise id suppressed) and
    // linked to this one: its demographics contradict the ticket.
    let other_person = data().manifest["patient_records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["sites"][0]["patient_id"] == other.records[0].1.as_str())
        .unwrap()["person_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut suppress = entry(
        &other.records[0].1,
        None,
        Some(&format!("{PERSON_ID_SYSTEM}|{other_person}")),
    );
    suppress.action = "remove".into();
    apply(&config, store.as_ref(), &suppress, "cli", NOW).unwrap();
    let linked = apply(
        &config,
        store.as_ref(),
        &entry(&p.records[0].1, Some(&other.records[0].1), None),
        "cli",
        NOW,
    )
    .unwrap();
    assert!(linked.changed);
    let (s, b) = redeem_at(&h, "/fhir", &ticket(&p, json!(BASE), json!({}))).await;
    assert_error(
        &(s, b.clone()),
        400,
        "invalid_grant",
        Some("Linked patient record contradicts the ticket subject"),
    );
    let rows = h.db.audit_recent().unwrap();
    let row = rows.iter().rev().find(|r| r.outcome == "rejected").unwrap();
    let details: Value = serde_json::from_str(&row.details).unwrap();
    assert_eq!(
        details["contradicting_record"],
        format!("Patient/{}", other.records[0].1)
    );
    assert_eq!(row.step.as_deref(), Some("subject"));
    // The token issued before the change releases exactly what its grant named.
    assert_eq!(
        all_ids(&h, "/fhir/Observation?_count=50", &auth).await,
        before
    );
    // Removing the link restores the person.
    let mut removal = entry(&p.records[0].1, Some(&other.records[0].1), None);
    removal.action = "remove".into();
    apply(&config, store.as_ref(), &removal, "cli", NOW).unwrap();
    bearer_at(&h, "/fhir", &ticket(&p, json!(BASE), json!({}))).await;
    // A second enterprise id on one of the person's records: claimed by two persons ⇒ the
    // connected records are quarantined, listed, and a ticket reaching them is ambiguous.
    let conflict = apply(
        &config,
        store.as_ref(),
        &entry(
            &p.records[1].1,
            None,
            Some(&format!("{PERSON_ID_SYSTEM}|someone-else")),
        ),
        "cli",
        NOW,
    )
    .unwrap();
    let quarantined: BTreeSet<&str> = conflict
        .conflicts
        .iter()
        .map(|c| c.record.as_str())
        .collect();
    let mine: BTreeSet<&str> = p.records.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(quarantined, mine);
    let listed = show(store.as_ref(), true).unwrap();
    assert_eq!(listed["conflicts"].as_array().unwrap().len(), mine.len());
    let (s, b) = redeem_at(&h, "/fhir", &ticket(&p, json!(BASE), json!({}))).await;
    assert_error(
        &(s, b.clone()),
        400,
        "invalid_grant",
        Some("Ambiguous ticket subject match"),
    );
    // Versioned: every change is a version row naming its cause.
    let history = show(store.as_ref(), false).unwrap();
    assert!(history["versions"].as_array().unwrap().len() >= 4);
    assert_eq!(history["assertions"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn a_configured_site_identity_replaces_the_ingested_one() {
    let p = person(0);
    let (site_a, _) = &p.records[0];
    let toml = format!(
        "{}\n[[linkage.site]]\nid = \"{site_a}\"\norganization = [{{ system = \"{NPI}\", value = \"1999999992\" }}]\naddress = [{{ country = \"US\", state = \"VT\" }}]\n",
        linkage_toml()
    );
    let h = Holder::build(&toml, network_store());
    let base_a = format!("{BASE}/site/{site_a}");
    let by_npi = |npi: &str| {
        json!({"data_holder_filter": [{"kind": "organization",
            "organization": [{"identifier": {"system": NPI, "value": npi}}]}]})
    };
    bearer_at(
        &h,
        &format!("/fhir/site/{site_a}"),
        &ticket(&p, json!([base_a]), by_npi("1999999992")),
    )
    .await;
    let vt = json!({"data_holder_filter": [{"kind": "jurisdiction", "address": {"country": "US", "state": "VT"}}]});
    bearer_at(
        &h,
        &format!("/fhir/site/{site_a}"),
        &ticket(&p, json!([base_a]), vt),
    )
    .await;
    // The NPI read at ingest is no longer this site's identity.
    let ingested = data().manifest["sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slug"] == site_a.as_str())
        .unwrap()["npi"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, b) = redeem_at(
        &h,
        &format!("/fhir/site/{site_a}"),
        &ticket(&p, json!([base_a]), by_npi(&ingested)),
    )
    .await;
    assert_error(
        &(s, b),
        400,
        "invalid_grant",
        Some("Data Holder not within ticket data_holder_filter"),
    );
    // A configured site that is not in the loaded data is a start-up error naming the key.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("issuer.json"), public_set(&keys().issuer)).unwrap();
    for name in ["client.json", "payer.json", "idp.json"] {
        std::fs::write(dir.path().join(name), public_set(&keys().client)).unwrap();
    }
    let bad = format!(
        "{}\n[[linkage.site]]\nid = \"no-such-site\"\n",
        linkage_toml()
    );
    let config = tessera_holder::Config::from_toml(&bad, dir.path()).unwrap();
    let err = tessera_holder::HolderState::new(
        config,
        Arc::new(tessera_holder::FixedClock::new(NOW)),
        network_store(),
        Arc::new(tessera_store::token_db::TokenDb::open_in_memory().unwrap()),
    )
    .unwrap_err();
    assert!(err.contains("linkage.site[0].id"), "{err}");
}
