//! The workbench API over real loopback HTTP (the browser tests in tests/browser drive the page
//! itself): the issuer's verdict before minting, mint → inspect → redeem → browse with the trace
//! recorded, refusals explained, and bad input refused with a 400.

use std::sync::Arc;

use serde_json::{Value, json};
use tessera_demo::{Demo, DemoOptions};

/// 2026-03-02T12:00:00Z, as in run.rs.
const NOW: i64 = 1_772_452_800;

async fn post(http: &reqwest::Client, url: &str, body: Value) -> (u16, Value) {
    let r = http.post(url).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compose_mint_redeem_browse_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let options = DemoOptions {
        dir: Some(dir.path().to_owned()),
    };
    let demo = Demo::start(&options, Arc::new(|| NOW)).await.unwrap();
    let wb = demo.workbench(([127, 0, 0, 1], 0).into()).await.unwrap();
    let http = reqwest::Client::new();
    let api = |path: &str| format!("{}api/{path}", wb.url);

    let page = http.get(&wb.url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'self'"), "{csp}");

    let world: Value = http
        .get(api("world"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let presets: Vec<&str> = world["presets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    for key in [
        "self-access",
        "delegated-delegatee",
        "payer-claims",
        "quality-gap",
        "public-health",
    ] {
        assert!(presets.contains(&key), "{presets:?}");
    }

    // The issuer's own verdict, before anything is signed.
    let (status, checked) = post(&http, &api("check"), json!({ "preset": "quality-gap" })).await;
    assert_eq!(status, 200, "{checked}");
    assert_eq!(checked["verdict"]["ok"], true, "{checked}");
    let (_, refused) = post(
        &http,
        &api("check"),
        json!({ "preset": "quality-gap", "scopes": ["not a scope"] }),
    )
    .await;
    assert_eq!(refused["verdict"]["ok"], false);
    assert_eq!(refused["verdict"]["error"], "invalid_claims");
    assert!(
        refused["verdict"]["fix"]
            .as_str()
            .unwrap()
            .contains("SMART")
    );

    // Mint → the ticket verifies; redeem → granted; browse → released only the HbA1c results,
    // and every FHIR exchange is in the trace.
    let (status, minted) = post(&http, &api("mint"), json!({ "preset": "quality-gap" })).await;
    assert_eq!(status, 200, "{minted}");
    assert_eq!(minted["verification"]["ok"], true, "{minted}");
    assert_eq!(minted["trace"][0]["status"], 201);
    let ticket = minted["ticket"].as_str().unwrap();
    let (_, redeemed) = post(
        &http,
        &api("redeem"),
        json!({ "ticket": ticket, "client": minted["client"], "dpop": false }),
    )
    .await;
    assert_eq!(redeemed["ok"], true, "{redeemed}");
    let token_exchange = &redeemed["trace"][0];
    assert_eq!(token_exchange["method"], "POST");
    assert!(
        token_exchange["url"]
            .as_str()
            .unwrap()
            .ends_with("/fhir/token")
    );
    assert!(
        token_exchange["request_body"]
            .as_str()
            .unwrap()
            .contains("subject_token=")
    );
    assert_eq!(token_exchange["status"], 200);
    let (status, browsed) = post(
        &http,
        &api("browse"),
        json!({ "session": redeemed["session"] }),
    )
    .await;
    assert_eq!(status, 200, "{browsed}");
    assert_eq!(browsed["disagreements"], json!([]));
    let released = browsed["released"].as_array().unwrap();
    assert!(!released.is_empty());
    for r in released {
        if r["type"] == "Observation" {
            let codes = r["resource"]["code"]["coding"].to_string();
            assert!(codes.contains("4548-4"), "{codes}");
        }
    }
    assert!(
        browsed["held_back"]["Observation"]
            .as_array()
            .is_some_and(|h| !h.is_empty()),
        "other observations are held back, each with its reason"
    );
    assert!(
        browsed["trace"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["url"].as_str().unwrap().contains("/fhir/Observation?"))
    );

    // A refusal: the wrong client, with the failing step from the audit and a fix.
    let (_, self_minted) = post(&http, &api("mint"), json!({ "preset": "self-access" })).await;
    let (_, wrong) = post(
        &http,
        &api("redeem"),
        json!({ "ticket": self_minted["ticket"], "client": "family-app", "dpop": false }),
    )
    .await;
    assert_eq!(wrong["ok"], false);
    assert_eq!(wrong["error"], "invalid_grant");
    assert_eq!(
        wrong["error_description"],
        "Ticket presenter binding mismatch"
    );
    assert!(wrong["step"].as_str().is_some(), "{wrong}");
    assert!(wrong["fix"].as_str().unwrap().contains("bound"));
    let cmd = wrong["tessera_command"].as_str().unwrap();
    assert!(cmd.starts_with("tessera redeem --ticket "), "{cmd}");
    assert!(
        cmd.contains("--client-id family-app --client-key "),
        "{cmd}"
    );

    // A binding chosen in the form, and an organization filter naming one demo site.
    let world_sites = world["sites"].as_array().unwrap();
    let npi = world_sites[0]["npi"].as_str().unwrap();
    let (_, bound) = post(
        &http,
        &api("check"),
        json!({ "preset": "self-access", "binding_client": "family-app", "holder_organizations": [npi] }),
    )
    .await;
    assert_eq!(bound["verdict"]["ok"], true, "{bound}");
    let family_jkt = world["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == "family-app")
        .unwrap()["jkt"]
        .clone();
    assert_eq!(
        bound["composed"]["claims"]["presenter_binding"]["jkt"],
        family_jkt
    );
    let filter = bound["composed"]["claims"]["access"]["data_holder_filter"].to_string();
    assert!(filter.contains(npi), "{filter}");
    let (status, _) = post(
        &http,
        &api("check"),
        json!({ "preset": "self-access", "holder_organizations": ["0000000000"] }),
    )
    .await;
    assert_eq!(status, 422, "an NPI of no demo site");

    // Bad input.
    let (status, bad) = post(&http, &api("check"), json!({ "preset": "x", "bogus": 1 })).await;
    assert_eq!(status, 400, "{bad}");
    let (status, _) = post(&http, &api("check"), json!({ "preset": "no-such-preset" })).await;
    assert_eq!(status, 422);
    let (status, _) = post(
        &http,
        &api("redeem"),
        json!({ "ticket": ticket, "client": "no-such-client" }),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = post(&http, &api("browse"), json!({ "session": "nope" })).await;
    assert_eq!(status, 422);
    let (status, _) = post(&http, &api("inspect"), json!({ "ticket": "not.a.ticket" })).await;
    assert_eq!(status, 422);

    wb.stop().await;
    demo.stop().await;
}

/// Framework clients in the form and at the token endpoint, and a person known at two sites
/// redeemed at the network Data Holder beside the workbench (issue 15).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framework_bindings_and_a_person_at_the_network_data_holder() {
    let dir = tempfile::tempdir().unwrap();
    let options = DemoOptions {
        dir: Some(dir.path().to_owned()),
    };
    let demo = Demo::start(&options, Arc::new(|| NOW)).await.unwrap();
    let wb = demo.workbench(([127, 0, 0, 1], 0).into()).await.unwrap();
    let http = reqwest::Client::new();
    let api = |path: &str| format!("{}api/{path}", wb.url);
    let world: Value = http
        .get(api("world"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(world["network_base_url"], wb.network_base_url.as_str());
    let framework_of = |id: &str| {
        world["clients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["client_id"] == id)
            .unwrap_or_else(|| panic!("{id} is not offered: {world}"))["framework"]
            .clone()
    };
    for (id, kind) in [
        ("udap:payer-quality", "udap"),
        ("federated-payer", "oidf"),
        ("well-known-app", "well-known"),
        ("state-epi-unit", "udap"),
    ] {
        assert_eq!(framework_of(id)["framework_type"], kind, "{id}");
    }
    assert_eq!(framework_of("patient-app"), Value::Null);

    // The type's own claims: each edit lands in its claim and the issuer judges the value.
    let check = |body: Value| {
        let http = http.clone();
        let url = api("check");
        async move { post(&http, &url, body).await }
    };
    let (_, guard) =
        check(json!({ "preset": "delegated-delegatee", "requester_authority": "GUARD" })).await;
    assert_eq!(guard["verdict"]["ok"], true, "{guard}");
    assert_eq!(
        guard["composed"]["claims"]["requester"]["relationship"][0]["coding"][0]["code"],
        "GUARD"
    );
    let (_, unknown) =
        check(json!({ "preset": "delegated-delegatee", "requester_authority": "FRIEND" })).await;
    assert_eq!(unknown["verdict"]["ok"], false, "{unknown}");
    assert_eq!(unknown["verdict"]["error"], "invalid_claims", "{unknown}");
    let (_, measured) =
        check(json!({ "preset": "quality-gap", "measure_code": "CMS130v12" })).await;
    assert_eq!(measured["verdict"]["ok"], true, "{measured}");
    let m = &measured["composed"]["claims"]["measure"];
    assert_eq!(m["coding"][0]["code"], "CMS130v12");
    assert_eq!(
        m["coding"][0]["display"],
        Value::Null,
        "the old display is dropped"
    );
    let (_, claim) = check(json!({ "preset": "payer-claims", "claim_encounter": "enc-1", "claim_control_number": "CN-9", "requester_name": "Another Payer" })).await;
    let linkage = &claim["composed"]["claims"]["access"]["claim_linkage"];
    assert!(
        linkage["encounter"][0]["reference"]
            .as_str()
            .unwrap()
            .ends_with("/Encounter/enc-1")
    );
    assert_eq!(linkage["claim"]["identifier"]["value"], "CN-9");
    assert_eq!(
        claim["composed"]["claims"]["requester"]["name"],
        "Another Payer"
    );
    let (_, condition) =
        check(json!({ "preset": "public-health", "reportable_condition": "186747009" })).await;
    assert_eq!(
        condition["composed"]["claims"]["reportable_condition"]["coding"][0]["code"],
        "186747009"
    );
    let (status, wrong_type) =
        check(json!({ "preset": "self-access", "measure_code": "CMS122v12" })).await;
    assert_eq!(status, 422);
    assert!(
        wrong_type["error"]
            .as_str()
            .unwrap()
            .contains("has no measure"),
        "{wrong_type}"
    );
    let (status, _) =
        check(json!({ "preset": "delegated-delegatee", "requester_identifier": "123" })).await;
    assert_eq!(
        status, 422,
        "a RelatedPerson requester has no organization identifier"
    );

    // Binding to a framework identity, and the two ways to get it wrong.
    let (status, checked) = post(
        &http,
        &api("check"),
        json!({ "preset": "quality-gap", "binding_framework": "federated-payer" }),
    )
    .await;
    assert_eq!(status, 200, "{checked}");
    assert_eq!(checked["verdict"]["ok"], true, "{checked}");
    assert_eq!(
        checked["composed"]["claims"]["presenter_binding"],
        framework_of("federated-payer")
    );
    let (status, refused) = post(
        &http,
        &api("check"),
        json!({ "preset": "quality-gap", "binding_framework": "patient-app" }),
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("has no trust-framework identity"),
        "{refused}"
    );
    let (status, both) = post(
        &http,
        &api("check"),
        json!({ "preset": "quality-gap", "binding_framework": "federated-payer", "binding_client": "patient-app" }),
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        both["error"].as_str().unwrap().contains("not both"),
        "{both}"
    );

    // Bound to the well-known app: another framework client is refused, the app is granted.
    let (_, minted) = post(
        &http,
        &api("mint"),
        json!({ "preset": "quality-gap", "binding_framework": "well-known-app" }),
    )
    .await;
    assert_eq!(minted["verification"]["ok"], true, "{minted}");
    let ticket = minted["ticket"].as_str().unwrap();
    let redeem = |client: &str, holder: &str| json!({ "ticket": ticket, "client": client, "holder": holder });
    let (_, wrong) = post(&http, &api("redeem"), redeem("udap:payer-quality", "site")).await;
    assert_eq!(wrong["ok"], false, "{wrong}");
    assert_eq!(
        wrong["error_description"],
        "Ticket presenter binding mismatch"
    );
    let (_, right) = post(&http, &api("redeem"), redeem("well-known-app", "site")).await;
    assert_eq!(right["ok"], true, "{right}");
    let (status, _) = post(&http, &api("redeem"), redeem("well-known-app", "moon")).await;
    assert_eq!(status, 422, "an unknown Data Holder");

    // The person: demographics only, redeemed at the network Data Holder.
    let person = &world["persons"][0];
    let linked: Vec<String> = person["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("Patient/{}", r["patient_id"].as_str().unwrap()))
        .collect();
    assert!(linked.len() >= 2, "{person}");
    let (_, minted) = post(
        &http,
        &api("mint"),
        json!({ "preset": "self-access", "patient": person["key"] }),
    )
    .await;
    assert_eq!(minted["holder"], "network", "{minted}");
    assert_eq!(
        minted["payload"]["subject"]["patient"]["identifier"],
        Value::Null
    );
    let ticket = minted["ticket"].as_str().unwrap();
    let body = |holder: &str| json!({ "ticket": ticket, "client": minted["client"], "dpop": minted["dpop"], "holder": holder });
    let (_, redeemed) = post(&http, &api("redeem"), body("network")).await;
    assert_eq!(redeemed["ok"], true, "{redeemed}");
    assert_eq!(redeemed["holder"], "network");
    assert!(
        redeemed["trace"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with(&wb.network_base_url)
    );
    let (status, browsed) = post(
        &http,
        &api("browse"),
        json!({ "session": redeemed["session"] }),
    )
    .await;
    assert_eq!(status, 200, "{browsed}");
    assert_eq!(browsed["disagreements"], json!([]), "{browsed}");
    assert_eq!(browsed["records"].as_array().unwrap().len(), linked.len());
    let mut subjects: Vec<String> = browsed["released"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "Observation")
        .filter_map(|r| r["resource"]["subject"]["reference"].as_str())
        .map(str::to_owned)
        .collect();
    subjects.sort();
    subjects.dedup();
    let mut want = linked.clone();
    want.sort();
    assert_eq!(subjects, want, "Observations of every linked site record");

    // At the site Data Holder (no linkage) the demographics match a record at each site.
    let (_, at_site) = post(&http, &api("redeem"), body("site")).await;
    assert_eq!(at_site["ok"], false, "{at_site}");
    assert_eq!(at_site["error"], "invalid_grant");
    assert_eq!(
        at_site["error_description"],
        "Ambiguous ticket subject match"
    );
    assert!(
        at_site["fix"]
            .as_str()
            .unwrap()
            .contains("network Data Holder"),
        "{at_site}"
    );

    wb.stop().await;
    demo.stop().await;
}
