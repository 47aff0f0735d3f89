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
