//! Adversarial review of the one path that matters: signed ticket → token exchange → FHIR
//! read that returns exactly the granted records. Every test attacks a protection and would
//! fail if that protection were removed: paging cursors replayed across tokens and queries
//! (PT-RS-03), cross-patient searches and reads (PT-RS-02, PT-RS-04), per-site bases,
//! tampered / expired / mis-schemed access tokens and DPoP proofs (PT-RS-01, OP-12), error
//! bodies that must not reveal existence, tokens or SQL (PT-RS-03), and forged client
//! authentication and presenter binding at the token endpoint (PT-CA-02/04, PT-BIND-02/05).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tessera_jose::{Alg, PrivateJwk};
use tessera_store::{
    IngestOptions, IngestReport, ResourceStore, SiteMode, SqliteStore, ingest_value,
};
use tower::ServiceExt;

use crate::token_support::*;

// ---------------------------------------------------------------------------------------------
// Harness

/// Status, headers and the raw body bytes (for byte-for-byte comparisons).
async fn raw(
    h: &Holder,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Bytes) {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = h
        .router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    (
        status,
        headers,
        resp.into_body().collect().await.unwrap().to_bytes(),
    )
}

async fn get_json(h: &Holder, uri: &str, auth: &str) -> (StatusCode, Value) {
    let (s, _, b) = raw(h, "GET", uri, &[("authorization", auth)]).await;
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

fn ids(bundle: &Value) -> BTreeSet<String> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
        .collect()
}

fn next_link(bundle: &Value) -> Option<String> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == "next")
        .map(|l| {
            let url = l["url"].as_str().unwrap();
            // Links are absolute on the configured base; the router is mounted at its path.
            url.strip_prefix("https://dh.example.org")
                .unwrap()
                .to_owned()
        })
}

/// Follows `next` links; every page must carry the same `total`.
async fn walk(h: &Holder, uri: &str, auth: &str) -> (u64, BTreeSet<String>) {
    let mut out = BTreeSet::new();
    let mut next = Some(uri.to_owned());
    let mut total = None;
    let mut pages = 0;
    while let Some(u) = next.take() {
        pages += 1;
        assert!(pages < 100, "paging loops");
        let (s, b) = get_json(h, &u, auth).await;
        assert_eq!(s, 200, "{u}: {b}");
        let t = b["total"].as_u64().unwrap();
        assert_eq!(*total.get_or_insert(t), t, "total stable across pages");
        out.extend(ids(&b));
        next = next_link(&b);
    }
    (total.unwrap_or(0), out)
}

fn obs(id: &str, patient: &str, date: &str) -> Value {
    json!({"resourceType":"Observation","id":id,"status":"final",
        "subject":{"reference":format!("Patient/{patient}")},"effectiveDateTime":date,
        "code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]}})
}

/// The fixture plus interleaved Observations of Elena and Maria, so pages mix patients in
/// storage order and a cursor from one patient's page points into the other's records.
fn paging_store() -> Arc<dyn ResourceStore> {
    let mut extra = Vec::new();
    for i in 0..5 {
        extra.push(obs(&format!("obs-e{i}"), "elena", "2023-02-01"));
        extra.push(obs(&format!("obs-m{i}"), "maria", "2023-02-01"));
    }
    fixture_store(&extra)
}

/// A self-access ticket for Elena without `data_period`, with `scopes`.
fn elena_ticket(scopes: &[&str]) -> String {
    let mut t = baseline();
    t["access"] = json!({"smart_scopes": scopes});
    mint(&t)
}

/// A self-access ticket for Maria (bound to app1's key), with `scopes`.
fn maria_ticket(scopes: &[&str]) -> String {
    let mut t = baseline();
    t["subject"] = json!({"patient": {"resourceType": "Patient",
        "identifier": [{"system": "https://national-mpi.net", "value": "pt-555"}],
        "birthDate": "1948-06-15", "name": [{"family": "Reyes", "given": ["Maria"]}]}});
    t["access"] = json!({"smart_scopes": scopes});
    mint(&t)
}

async fn bearer(h: &Holder, ticket: &str) -> (String, Value) {
    let (s, body) = h.redeem(ticket, &[]).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    (
        format!("Bearer {}", body["access_token"].as_str().unwrap()),
        body,
    )
}

const ALL_SCOPES: &[&str] = &[
    "patient/Observation.rs",
    "patient/Condition.rs",
    "patient/Patient.rs",
];

// ---------------------------------------------------------------------------------------------
// Paging (PT-RS-03)

#[tokio::test]
async fn pt_rs_03_a_replayed_or_tampered_cursor_never_widens_the_grant() {
    let h = Holder::build(&config_toml(""), paging_store());
    let (elena, _) = bearer(&h, &elena_ticket(ALL_SCOPES)).await;
    let (maria, _) = bearer(&h, &maria_ticket(ALL_SCOPES)).await;
    let elena_obs: BTreeSet<String> = [
        "obs-in", "obs-old", "obs-e0", "obs-e1", "obs-e2", "obs-e3", "obs-e4",
    ]
    .map(String::from)
    .into();
    let maria_obs: BTreeSet<String> = [
        "obs-maria",
        "obs-m0",
        "obs-m1",
        "obs-m2",
        "obs-m3",
        "obs-m4",
    ]
    .map(String::from)
    .into();

    // Baseline: each token pages through exactly its own records.
    assert_eq!(
        walk(&h, "/fhir/Observation?_count=2", &elena).await,
        (7, elena_obs.clone())
    );
    assert_eq!(
        walk(&h, "/fhir/Observation?_count=2", &maria).await,
        (6, maria_obs.clone())
    );

    // Elena's next links, replayed by Maria's token, still release only Maria's records
    // with Maria's total: the grant comes from the presenting token, never from the URL.
    let mut link = Some("/fhir/Observation?_count=2".to_owned());
    let mut cursors = Vec::new();
    while let Some(l) = link.take() {
        let (_, b) = get_json(&h, &l, &elena).await;
        link = next_link(&b);
        if let Some(n) = &link {
            cursors.push(n.clone());
        }
    }
    assert!(
        cursors.len() >= 3,
        "the test must actually page: {cursors:?}"
    );
    for l in &cursors {
        let (s, b) = get_json(&h, l, &maria).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["total"], 6, "total is grant-bound even mid-walk: {l}");
        assert!(ids(&b).is_subset(&maria_obs), "{l}: {:?}", ids(&b));
        // A walk started from Elena's cursor stays inside Maria's grant.
        let (_, got) = walk(&h, l, &maria).await;
        assert!(got.is_subset(&maria_obs), "{l}: {got:?}");
    }

    // The cursor re-attached to a changed query (another patient's compartment) or forged
    // (before every row, far past the end, negative) widens nothing.
    let cursor = cursors[0].split("_cursor=").nth(1).unwrap().to_owned();
    for q in [
        format!("/fhir/Observation?patient=maria&_cursor={cursor}"),
        format!("/fhir/Observation?subject=Patient/maria&_count=50&_cursor={cursor}"),
        format!("/fhir/Observation?_id=obs-m3,obs-m4&_cursor={cursor}"),
    ] {
        let (s, b) = get_json(&h, &q, &elena).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["total"], 0, "{q}");
        assert!(ids(&b).is_empty(), "{q}");
    }
    for c in ["0", "-1", "-9223372036854775808", "9223372036854775807"] {
        let (total, got) = walk(
            &h,
            &format!("/fhir/Observation?_count=3&_cursor={c}"),
            &elena,
        )
        .await;
        assert_eq!(total, 7, "cursor {c}");
        assert!(got.is_subset(&elena_obs), "cursor {c}: {got:?}");
    }
    // A malformed cursor is a plain 400, not a fallback to an unfiltered page.
    let (s, b) = get_json(&h, "/fhir/Observation?_cursor=1%20OR%201=1", &elena).await;
    assert_eq!(s, 400, "{b}");
    assert!(b.get("entry").is_none());
    // `_summary=count` totals are grant-bound too.
    let (_, b) = get_json(&h, "/fhir/Observation?_summary=count", &maria).await;
    assert_eq!(b["total"], 6);
}

// ---------------------------------------------------------------------------------------------
// Cross-patient searches and reads (PT-RS-02, PT-RS-04)

#[tokio::test]
async fn pt_rs_02_searches_naming_another_patient_are_empty() {
    let h = Holder::build(&config_toml(""), paging_store());
    let (elena, _) = bearer(&h, &elena_ticket(ALL_SCOPES)).await;
    for q in [
        "/fhir/Observation?patient=maria",
        "/fhir/Observation?patient=Patient/maria",
        "/fhir/Observation?subject=Patient/maria",
        "/fhir/Observation?subject=maria",
        "/fhir/Observation?_id=obs-maria",
        "/fhir/Observation?_id=obs-m0,obs-m1,obs-tran,obs-okafor",
        "/fhir/Condition?patient=maria",
        "/fhir/Patient?_id=maria",
        "/fhir/Patient?_id=maria,C10288,B77421",
        "/fhir/Patient?identifier=https://national-mpi.net|pt-555",
        "/fhir/Patient?identifier=pt-555",
        "/fhir/Patient?family=Reyes&given=Maria",
        "/fhir/Patient?birthdate=1948-06-15",
    ] {
        for post in [false, true] {
            let (s, b) = if post {
                let (path, form) = q.split_once('?').unwrap();
                let (s, _, b) = h
                    .post(
                        &format!("{path}/_search"),
                        &url_pairs(form),
                        &[("authorization", elena.as_str())],
                    )
                    .await;
                (s, b)
            } else {
                get_json(&h, q, &elena).await
            };
            assert_eq!(s, 200, "{q}: {b}");
            assert_eq!(b["total"], 0, "{q} (POST: {post}): {b}");
            assert!(b.get("entry").is_none(), "{q}: {b}");
        }
    }
    // Mixing own and foreign ids releases only the own one.
    let (_, b) = get_json(&h, "/fhir/Observation?_id=obs-maria,obs-in,obs-m2", &elena).await;
    assert_eq!(ids(&b), BTreeSet::from(["obs-in".to_owned()]));
    assert_eq!(b["total"], 1);
    let (_, b) = get_json(&h, "/fhir/Patient?family=Reyes", &elena).await;
    assert_eq!(
        ids(&b),
        BTreeSet::from(["elena".to_owned()]),
        "Maria Reyes is not Elena's"
    );
    // Positive control: the same searches do find Maria's records with Maria's token.
    let (maria, _) = bearer(&h, &maria_ticket(ALL_SCOPES)).await;
    let (_, b) = get_json(
        &h,
        "/fhir/Patient?identifier=https://national-mpi.net|pt-555",
        &maria,
    )
    .await;
    assert_eq!(ids(&b), BTreeSet::from(["maria".to_owned()]));
}

fn url_pairs(form: &str) -> Vec<(&str, &str)> {
    form.split('&')
        .map(|p| p.split_once('=').unwrap())
        .collect()
}

#[tokio::test]
async fn pt_rs_02_a_withheld_resource_reads_exactly_like_a_nonexistent_one() {
    let h = Holder::build(&config_toml(""), paging_store());
    let (elena, _) = bearer(&h, &elena_ticket(ALL_SCOPES)).await;
    // Baseline ticket: data_period 2021..2026 withholds obs-old (PT-DP-02, PT-RS-04).
    let (windowed, _) = bearer(&h, &mint(&baseline())).await;
    let cases = [
        (
            &elena,
            "/fhir/Observation/obs-maria",
            "/fhir/Observation/no-such-obs",
        ),
        (
            &elena,
            "/fhir/Patient/maria",
            "/fhir/Patient/no-such-patient",
        ),
        (
            &elena,
            "/fhir/Observation/obs-m4",
            "/fhir/Observation/obs-zz",
        ),
        (
            &windowed,
            "/fhir/Observation/obs-old",
            "/fhir/Observation/obs-zz",
        ),
    ];
    for (auth, withheld, missing) in cases {
        let a = raw(&h, "GET", withheld, &[("authorization", auth.as_str())]).await;
        let b = raw(&h, "GET", missing, &[("authorization", auth.as_str())]).await;
        assert_eq!(a.0, 404, "{withheld}");
        assert_eq!(a.0, b.0);
        assert_eq!(a.2, b.2, "{withheld} vs {missing}: bodies differ");
        assert_eq!(a.1.get("content-type"), b.1.get("content-type"));
    }
    // Positive control: the token does read its own records.
    let (s, _, _) = raw(
        &h,
        "GET",
        "/fhir/Observation/obs-e0",
        &[("authorization", elena.as_str())],
    )
    .await;
    assert_eq!(s, 200);
    // A type outside the grant is 403 whether or not the id exists: no existence oracle.
    let a = raw(
        &h,
        "GET",
        "/fhir/Encounter/enc-2026-0117",
        &[("authorization", elena.as_str())],
    )
    .await;
    let b = raw(
        &h,
        "GET",
        "/fhir/Encounter/no-such-enc",
        &[("authorization", elena.as_str())],
    )
    .await;
    assert_eq!(a.0, 403);
    assert_eq!((a.0, a.2), (b.0, b.2));
}

// ---------------------------------------------------------------------------------------------
// Per-site bases

/// Elena's records at `site-a`, Maria's at `site-b`.
fn site_store() -> Arc<dyn ResourceStore> {
    let store = SqliteStore::open_in_memory().unwrap();
    let opts = IngestOptions {
        now: NOW,
        sites: SiteMode::PerBundleFile,
    };
    let mut report = IngestReport::default();
    let all = fixture_bundle()["entry"].as_array().unwrap().clone();
    let pick = |names: &[&str]| {
        let entry: Vec<Value> = all
            .iter()
            .filter(|e| names.contains(&e["resource"]["id"].as_str().unwrap()))
            .cloned()
            .collect();
        json!({"resourceType": "Bundle", "type": "collection", "entry": entry})
    };
    let a = pick(&["elena", "obs-in", "obs-old", "cond-elena"]);
    let b = pick(&["maria", "obs-maria"]);
    ingest_value(&store, a, Some("site-a"), &opts, &mut report).unwrap();
    ingest_value(&store, b, Some("site-b"), &opts, &mut report).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    Arc::new(store)
}

fn site_ids(store: &Arc<dyn ResourceStore>, site: &str, rtype: &str) -> Vec<String> {
    let q = tessera_fhir::parse_search(rtype, &[]).unwrap();
    let page = store
        .search(
            tessera_store::Scope::Site(site),
            &q,
            &tessera_access::Filter::All,
        )
        .unwrap();
    page.resources.iter().map(|e| e.id.clone()).collect()
}

#[tokio::test]
async fn per_site_bases_release_nothing_of_another_sites_patient() {
    let store = site_store();
    let elena_obs = site_ids(&store, "site-a", "Observation");
    let maria_obs = site_ids(&store, "site-b", "Observation");
    let maria_pt = site_ids(&store, "site-b", "Patient");
    assert_eq!(
        (elena_obs.len(), maria_obs.len(), maria_pt.len()),
        (2, 1, 1)
    );
    let h = Holder::build(&config_toml(""), store);
    let (elena, body) = bearer(&h, &elena_ticket(ALL_SCOPES)).await;
    let patient = body["patient"].as_str().unwrap().to_owned();

    // Each site base is a Data Holder of its own (issue 14): a network token is refused at
    // every site base (401), so nothing of either site is released through one.
    for q in [
        "/fhir/site/site-a/Observation".to_owned(),
        "/fhir/site/site-b/Observation".to_owned(),
        format!("/fhir/site/site-b/Observation?patient={}", maria_pt[0]),
        format!("/fhir/site/site-b/Patient/{}", maria_pt[0]),
        format!("/fhir/site/site-b/Observation?patient={patient}"),
    ] {
        let (s, b) = get_json(&h, &q, &elena).await;
        assert_eq!(s, 401, "{q}: {b}");
    }
    // Elena's own site, asked as its own Data Holder (ticket aud = the site base).
    let mut t = baseline();
    t["aud"] = json!([format!("{BASE}/site/site-a"), format!("{BASE}/site/site-b")]);
    t["access"] = json!({"smart_scopes": ALL_SCOPES});
    let ticket = mint(&t);
    let site_token = |site: &str| {
        let now = h.now();
        let claims = json!({"iss": "app1", "sub": "app1",
            "aud": format!("{BASE}/site/{site}/token"),
            "jti": uuid::Uuid::new_v4().to_string(), "iat": now, "exp": now + 60});
        sign(&keys().client, &claims)
    };
    let form = |assertion: &str| {
        vec![
            ("grant_type".to_owned(), TOKEN_EXCHANGE.to_owned()),
            (
                "subject_token_type".to_owned(),
                SUBJECT_TOKEN_TYPE.to_owned(),
            ),
            ("subject_token".to_owned(), ticket.clone()),
            ("client_assertion_type".to_owned(), JWT_BEARER.to_owned()),
            ("client_assertion".to_owned(), assertion.to_owned()),
        ]
    };
    let post = |site: &'static str, assertion: String| {
        let h = &h;
        let f = form(&assertion);
        async move {
            let pairs: Vec<(&str, &str)> =
                f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            h.post(&format!("/fhir/site/{site}/token"), &pairs, &[])
                .await
        }
    };
    let (s, _, b) = post("site-a", site_token("site-a")).await;
    assert_eq!(s, 200, "{b}");
    let site_a = format!("Bearer {}", b["access_token"].as_str().unwrap());
    let (_, b) = get_json(&h, "/fhir/site/site-a/Observation", &site_a).await;
    assert_eq!(ids(&b), elena_obs.iter().cloned().collect());
    // Her ticket names no record at site-b: that Data Holder does not resolve her.
    let (s, _, b) = post("site-b", site_token("site-b")).await;
    assert_eq!(
        (s.as_u16(), &b["error"]),
        (400, &json!("invalid_grant")),
        "{b}"
    );
    // The site token works only at its site.
    for uri in [
        format!("/fhir/site/site-b/Observation/{}", maria_obs[0]),
        format!("/fhir/site/site-b/Patient/{}", maria_pt[0]),
        format!("/fhir/Observation/{}", elena_obs[0]),
    ] {
        let r = raw(&h, "GET", &uri, &[("authorization", site_a.as_str())]).await;
        assert_eq!(r.0, 401, "{uri}");
    }
    // Reads across persons at the network base: 404 identical to a nonexistent id.
    let nothing = raw(
        &h,
        "GET",
        "/fhir/Observation/nope",
        &[("authorization", elena.as_str())],
    )
    .await;
    assert_eq!(nothing.0, 404);
    let r = raw(
        &h,
        "GET",
        &format!("/fhir/Observation/{}", maria_obs[0]),
        &[("authorization", elena.as_str())],
    )
    .await;
    assert_eq!((r.0, &r.2), (nothing.0, &nothing.2));
    // Positive control: Elena's record is readable at her site and on the network base.
    for (uri, auth) in [
        (
            format!("/fhir/site/site-a/Observation/{}", elena_obs[0]),
            &site_a,
        ),
        (format!("/fhir/Observation/{}", elena_obs[0]), &elena),
    ] {
        let (s, _) = get_json(&h, &uri, auth).await;
        assert_eq!(s, 200, "{uri}");
    }
}

// ---------------------------------------------------------------------------------------------
// Access tokens at the Resource Server (PT-RS-01, OP-12)

fn assert_401(r: &(StatusCode, HeaderMap, Bytes), token: &str, what: &str) {
    assert_eq!(r.0, 401, "{what}");
    let www = r.1.get("www-authenticate").unwrap().to_str().unwrap();
    let body = String::from_utf8_lossy(&r.2);
    assert!(
        !body.contains(token) && !www.contains(token),
        "{what}: the token is echoed"
    );
    assert!(!body.contains("entry"), "{what}");
}

#[tokio::test]
async fn pt_rs_01_expired_tampered_and_misschemed_bearer_tokens_are_refused() {
    let h = Holder::new();
    let (auth, body) = bearer(&h, &elena_ticket(ALL_SCOPES)).await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    let ttl = body["expires_in"].as_i64().unwrap();
    assert!(ttl > 1);

    // One flipped character anywhere, a truncation, an extension: unknown tokens.
    let mut forged = Vec::new();
    for i in [0, token.len() / 2, token.len() - 1] {
        let mut b = token.clone().into_bytes();
        b[i] = if b[i] == b'A' { b'B' } else { b'A' };
        forged.push(String::from_utf8(b).unwrap());
    }
    forged.push(token[..token.len() - 1].to_owned());
    forged.push(format!("{token}A"));
    forged.push(token.to_uppercase());
    for f in &forged {
        let r = raw(
            &h,
            "GET",
            "/fhir/Observation",
            &[("authorization", &format!("Bearer {f}"))],
        )
        .await;
        assert_401(&r, f, "forged token");
        assert!(
            r.1.get("www-authenticate")
                .unwrap()
                .to_str()
                .unwrap()
                .contains("invalid_token")
        );
    }
    // A Bearer (unbound) token under the DPoP scheme, even with a well-formed proof by some key.
    let k = PrivateJwk::generate(Alg::Es256).unwrap();
    let p = dpop_proof_with(
        &k,
        "GET",
        &format!("{BASE}/Observation"),
        h.now(),
        Some(&token),
        None,
    );
    let r = raw(
        &h,
        "GET",
        "/fhir/Observation",
        &[("authorization", &format!("DPoP {token}")), ("dpop", &p)],
    )
    .await;
    assert_401(&r, &token, "Bearer token as DPoP");
    // The token in the query string or another scheme is not a credential.
    let r = raw(
        &h,
        "GET",
        &format!("/fhir/Observation?access_token={token}"),
        &[],
    )
    .await;
    assert_eq!(r.0, 401);
    let r = raw(
        &h,
        "GET",
        "/fhir/Observation",
        &[("authorization", &format!("Basic {token}"))],
    )
    .await;
    assert_eq!(r.0, 401);

    // Valid up to the last second of its lifetime, dead at expiry (not one second later).
    let (s, _) = get_json(&h, "/fhir/Observation", &auth).await;
    assert_eq!(s, 200);
    h.clock.advance(ttl - 1);
    let (s, _) = get_json(&h, "/fhir/Observation", &auth).await;
    assert_eq!(s, 200, "still valid one second before expiry");
    h.clock.advance(1);
    let r = raw(
        &h,
        "GET",
        "/fhir/Observation/obs-in",
        &[("authorization", &auth)],
    )
    .await;
    assert_401(&r, &token, "expired token");
}

#[tokio::test]
async fn op_12_dpop_proofs_cannot_be_replayed_redirected_or_moved_to_another_token() {
    let h = Holder::new();
    let key = PrivateJwk::generate(Alg::Es256).unwrap();
    let t1 = dpop_token(&h, &key, &elena_ticket(ALL_SCOPES)).await;
    let t2 = dpop_token(&h, &key, &elena_ticket(ALL_SCOPES)).await;
    assert_ne!(t1, t2);
    let now = h.now();
    let url = format!("{BASE}/Observation");
    let call = |token: String, p: String| {
        let h = &h;
        async move {
            raw(
                h,
                "GET",
                "/fhir/Observation",
                &[("authorization", &format!("DPoP {token}")), ("dpop", &p)],
            )
            .await
        }
    };
    // Positive control, and the jti it burns.
    let (s, _, _) = call(
        t1.clone(),
        dpop_proof_with(&key, "GET", &url, now, Some(&t1), Some("jti-1")),
    )
    .await;
    assert_eq!(s, 200);
    // A *new* proof (new iat, new signature) reusing the jti: replay.
    let r = call(
        t1.clone(),
        dpop_proof_with(&key, "GET", &url, now - 1, Some(&t1), Some("jti-1")),
    )
    .await;
    assert_401(&r, &t1, "reused jti");
    // The same jti for the other token of the same key is still a replay of that key's jti.
    let r = call(
        t2.clone(),
        dpop_proof_with(&key, "GET", &url, now, Some(&t2), Some("jti-1")),
    )
    .await;
    assert_401(&r, &t2, "reused jti, other token");
    // `ath` of the other token.
    let r = call(
        t2.clone(),
        dpop_proof_with(&key, "GET", &url, now, Some(&t1), None),
    )
    .await;
    assert_401(&r, &t2, "ath of another token");
    // No `ath` at all.
    let r = call(
        t1.clone(),
        dpop_proof_with(&key, "GET", &url, now, None, None),
    )
    .await;
    assert_401(&r, &t1, "no ath");
    // Wrong method, wrong origin, wrong path (a site base), a proof for the token endpoint.
    for (htm, htu) in [
        ("POST", url.clone()),
        ("get", url.clone()),
        (
            "GET",
            "https://attacker.example/fhir/Observation".to_owned(),
        ),
        ("GET", "http://dh.example.org/fhir/Observation".to_owned()),
        ("GET", format!("{BASE}/site/x/Observation")),
        ("GET", format!("{BASE}/Observation/obs-in")),
        ("POST", h.token_url()),
    ] {
        let r = call(
            t1.clone(),
            dpop_proof_with(&key, htm, &htu, now, Some(&t1), None),
        )
        .await;
        assert_401(&r, &t1, &format!("{htm} {htu}"));
    }
    // Stale and future proofs.
    for iat in [now - 301, now + 31] {
        let r = call(
            t1.clone(),
            dpop_proof_with(&key, "GET", &url, iat, Some(&t1), None),
        )
        .await;
        assert_401(&r, &t1, &format!("iat {iat}"));
    }
    // A proof with the query string in `htu` is the same resource (RFC 9449 §4.3).
    let r = raw(
        &h,
        "GET",
        "/fhir/Observation?_count=1",
        &[
            ("authorization", &format!("DPoP {t2}")),
            (
                "dpop",
                &dpop_proof_with(
                    &key,
                    "GET",
                    &format!("{url}?_count=1"),
                    now,
                    Some(&t2),
                    None,
                ),
            ),
        ],
    )
    .await;
    assert_eq!(r.0, 200);
}

// ---------------------------------------------------------------------------------------------
// Error bodies (PT-RS-03)

#[tokio::test]
async fn pt_rs_03_error_bodies_reveal_no_sql_token_or_withheld_data() {
    let h = Holder::build(&config_toml(""), paging_store());
    let (auth, body) = bearer(&h, &elena_ticket(ALL_SCOPES)).await;
    let token = body["access_token"].as_str().unwrap();
    for q in [
        "/fhir/Observation?code=%27%29%20OR%201%3D1--",
        "/fhir/Observation?_id=obs-maria%27%20OR%20%271%27%3D%271",
        "/fhir/Observation?date=xx",
        "/fhir/Observation?_cursor=abc",
        "/fhir/Observation?patient:missing=true",
        "/fhir/Observation?_include=Observation:patient",
        "/fhir/Observation?nonsense=1",
        "/fhir/Observation/obs-maria/$everything",
        "/fhir/Patient/maria/_history",
        "/fhir/Medication/x",
    ] {
        let (s, _, b) = raw(&h, "GET", q, &[("authorization", auth.as_str())]).await;
        let text = String::from_utf8_lossy(&b).to_lowercase();
        if s == 200 {
            let v: Value = serde_json::from_slice(&b).unwrap();
            assert_eq!(v["total"], 0, "{q}: {text}");
            continue;
        }
        for needle in [
            "select", "sqlite", "where", " rid", "fact_", "idx_", "maria", "pt-555", token,
        ] {
            assert!(
                !text.contains(&needle.to_lowercase()),
                "{q}: `{needle}` in {text}"
            );
        }
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["resourceType"], "OperationOutcome", "{q}");
    }
}

// ---------------------------------------------------------------------------------------------
// The token endpoint (PT-CA-02, PT-CA-04, PT-BIND-02, PT-BIND-05)

async fn redeem_with_assertion(
    h: &Holder,
    ticket: &str,
    assertion: &str,
    extra: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut form = vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token_type", SUBJECT_TOKEN_TYPE),
        ("subject_token", ticket),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ];
    form.extend_from_slice(extra);
    let (s, _, b) = h.post("/fhir/token", &form, &[]).await;
    (s, b)
}

fn claims(client: &str, aud: Value, exp: i64, iat: Option<i64>) -> Value {
    let mut c = json!({"iss": client, "sub": client, "aud": aud,
        "jti": uuid::Uuid::new_v4().to_string(), "exp": exp});
    if let Some(i) = iat {
        c["iat"] = json!(i);
    }
    c
}

fn b64(v: &Value) -> String {
    tessera_jose::b64::encode(serde_json::to_vec(v).unwrap())
}

#[tokio::test]
async fn pt_bind_02_a_ticket_bound_to_another_key_is_refused_for_a_registered_client() {
    let h = Holder::new();
    let mut t = baseline();
    // Bound to the payer client's key; presented by app1 (authenticated with its own key).
    t["presenter_binding"] = json!({"method": "jkt", "jkt": keys().payer.public().thumbprint()});
    let ticket = mint(&t);
    let got = h.redeem(&ticket, &[]).await;
    assert_error(
        &got,
        400,
        "invalid_grant",
        Some("Ticket presenter binding mismatch"),
    );
    // The client_id parameter cannot steer the binding to another client (PT-CA-08).
    let a = h.assertion("app1", &keys().client);
    let got = redeem_with_assertion(&h, &ticket, &a, &[("client_id", "payer")]).await;
    assert_error(&got, 401, "invalid_client", None);
    // Bound to a key no client holds at all.
    t["presenter_binding"]["jkt"] = json!(keys().other.public().thumbprint());
    t["jti"] = json!(uuid::Uuid::new_v4().to_string());
    let got = h.redeem(&mint(&t), &[]).await;
    assert_error(
        &got,
        400,
        "invalid_grant",
        Some("Ticket presenter binding mismatch"),
    );
    // Positive control: the holder of the bound key redeems the same ticket.
    let (s, b) = h.redeem_as("payer", &keys().payer, &ticket, &[]).await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn pt_ca_02_04_forged_client_assertions_are_invalid_client() {
    let h = Holder::new();
    let ticket = mint(&baseline());
    let now = h.now();
    let tok = json!(h.token_url());
    let app1 = &keys().client;
    let cases: Vec<(&str, String)> = vec![
        // PT-CA-04: audience is the FHIR base, or the introspection endpoint, not the token URL.
        (
            "aud = FHIR base",
            sign(app1, &claims("app1", json!(BASE), now + 60, Some(now))),
        ),
        (
            "aud = introspect",
            sign(
                app1,
                &claims(
                    "app1",
                    json!(format!("{BASE}/introspect")),
                    now + 60,
                    Some(now),
                ),
            ),
        ),
        (
            "aud = []",
            sign(app1, &claims("app1", json!([]), now + 60, Some(now))),
        ),
        // PT-CA-04: lifetime longer than 5 minutes, with and without iat; expired; iat ahead.
        (
            "exp in 1 h",
            sign(app1, &claims("app1", tok.clone(), now + 3600, None)),
        ),
        (
            "exp - iat > 300",
            sign(
                app1,
                &claims("app1", tok.clone(), now + 200, Some(now - 200)),
            ),
        ),
        (
            "expired",
            sign(app1, &claims("app1", tok.clone(), now - 31, Some(now - 90))),
        ),
        (
            "iat in the future",
            sign(
                app1,
                &claims("app1", tok.clone(), now + 200, Some(now + 100)),
            ),
        ),
        // PT-CA-02: signed by another registered client's key (its kid too) claiming app1.
        (
            "payer key for app1",
            sign(
                &keys().payer,
                &claims("app1", tok.clone(), now + 60, Some(now)),
            ),
        ),
        (
            "unregistered key",
            sign(
                &keys().other,
                &claims("app1", tok.clone(), now + 60, Some(now)),
            ),
        ),
        // PT-CA-03: iss ≠ sub.
        ("iss != sub", {
            let mut c = claims("app1", tok.clone(), now + 60, Some(now));
            c["sub"] = json!("payer");
            sign(app1, &c)
        }),
    ];
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims("app1", tok.clone(), now + 60, Some(now)))
    );
    // HS256 keyed with the client's public JWK (the classic key-confusion forgery).
    let hs256 = {
        let signing_input = format!(
            "{}.{}",
            b64(&json!({"alg": "HS256", "kid": app1.kid()})),
            b64(&claims("app1", tok.clone(), now + 60, Some(now)))
        );
        let secret = serde_json::to_vec(&app1.public().to_value()).unwrap();
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret);
        let tag = aws_lc_rs::hmac::sign(&key, signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            tessera_jose::b64::encode(tag.as_ref())
        )
    };
    // The payload of a valid assertion re-attached to another signature.
    let spliced = {
        let good = h.assertion("app1", app1);
        let other = sign(
            &keys().payer,
            &claims("payer", tok.clone(), now + 60, Some(now)),
        );
        let g: Vec<&str> = good.split('.').collect();
        let o: Vec<&str> = other.split('.').collect();
        format!("{}.{}.{}", o[0], g[1], o[2])
    };
    let mut all = cases;
    all.push(("alg none", alg_none));
    all.push(("HS256 with public key", hs256));
    all.push(("spliced signature", spliced));
    for (what, assertion) in &all {
        let got = redeem_with_assertion(&h, &ticket, assertion, &[]).await;
        assert_eq!(got.0, 401, "{what}: {}", got.1);
        assert_eq!(got.1["error"], "invalid_client", "{what}: {}", got.1);
    }
    // Positive controls at the edges: exactly 300 s of lifetime is accepted, and an `aud`
    // array naming the token URL.
    let ok = sign(app1, &claims("app1", tok.clone(), now + 300, Some(now)));
    let got = redeem_with_assertion(&h, &ticket, &ok, &[]).await;
    assert_eq!(got.0, 200, "{}", got.1);
    let ok = sign(
        app1,
        &claims("app1", json!([BASE, h.token_url()]), now + 60, None),
    );
    let got = redeem_with_assertion(&h, &ticket, &ok, &[]).await;
    assert_eq!(got.0, 200, "{}", got.1);
}
