//! The operator's workbench (`[workbench] enabled = true`, issue 15): the page is served only
//! when enabled, its API answers only the admin secret, and its verdict is the token
//! endpoint's own ticket steps run as a dry run — nothing spent, nothing recorded.

use axum::body::Body;
use http::Request;
use serde_json::{Value, json};

use crate::token_support::*;

const ADMIN: &str = "Bearer admin-secret-0123456789";

fn enabled() -> Holder {
    Holder::with_config(&config_toml("[workbench]\nenabled = true\n"))
}

async fn inspect(h: &Holder, auth: Option<&str>, body: &str) -> (u16, Value) {
    let mut req =
        Request::post("/fhir/workbench/api/inspect").header("content-type", "application/json");
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let (s, _, b) = send(&h.router, req.body(Body::from(body.to_owned())).unwrap()).await;
    (s.as_u16(), b)
}

/// The dry-run verdict on `ticket`: `(step, error, error_description)`, or `ok` for the step.
async fn verdict(h: &Holder, ticket: &str) -> (String, String, String) {
    let (s, b) = inspect(h, Some(ADMIN), &json!({ "ticket": ticket }).to_string()).await;
    assert_eq!(s, 200, "{b}");
    let v = &b["verdict"];
    let text = |k: &str| v[k].as_str().unwrap_or("").to_owned();
    if v["ok"] == true {
        return (text("step"), "ok".into(), String::new());
    }
    (text("step"), text("error"), text("error_description"))
}

#[test]
fn enabling_it_without_an_admin_secret_is_a_configuration_error() {
    let toml = config_toml("[workbench]\nenabled = true\n")
        .replace("admin_token = \"admin-secret-0123456789\"\n", "");
    let e = tessera_holder::Config::from_toml(&toml, std::path::Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("workbench.enabled") && e.contains("needs admin_token"),
        "{e}"
    );
}

#[tokio::test]
async fn off_by_default_nothing_of_it_is_served() {
    let h = Holder::new();
    let (s, headers, _) = h.get("/fhir/workbench", &[]).await;
    assert_ne!(s, 200);
    assert!(
        headers
            .get("content-type")
            .is_none_or(|c| !c.to_str().unwrap().starts_with("text/html"))
    );
    let (s, _) = inspect(
        &h,
        Some(ADMIN),
        &json!({ "ticket": mint(&baseline()) }).to_string(),
    )
    .await;
    assert_ne!(s, 200);
}

#[tokio::test]
async fn the_page_is_served_with_a_strict_content_security_policy() {
    let h = enabled();
    for (path, kind) in [
        ("/fhir/workbench", "text/html"),
        ("/fhir/workbench/app.js", "text/javascript"),
        ("/fhir/workbench/app.css", "text/css"),
    ] {
        let (s, headers, _) = h.get(path, &[]).await;
        assert_eq!(s, 200, "{path}");
        let ct = headers["content-type"].to_str().unwrap();
        assert!(ct.starts_with(kind), "{path}: {ct}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'"), "{csp}");
    }
}

#[tokio::test]
async fn its_api_answers_only_the_admin_secret() {
    let h = enabled();
    let body = json!({ "ticket": mint(&baseline()) }).to_string();
    let (s, _) = inspect(&h, None, &body).await;
    assert_eq!(s, 401);
    let (s, _) = inspect(&h, Some("Bearer admin-secret-0123456780"), &body).await;
    assert_eq!(s, 401);
    let (s, b) = inspect(&h, Some(ADMIN), "{\"ticket\": 1}").await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = inspect(&h, Some(ADMIN), "{\"ticket\": \"x\", \"more\": 1}").await;
    assert_eq!(s, 400, "unknown members are refused: {b}");
    let (s, b) = inspect(
        &h,
        Some(ADMIN),
        &json!({ "ticket": "not.a.ticket" }).to_string(),
    )
    .await;
    assert_eq!(s, 422);
    assert!(
        b["error"].as_str().unwrap().starts_with("not a ticket"),
        "{b}"
    );
}

#[tokio::test]
async fn a_good_ticket_passes_every_ticket_step_and_is_not_spent() {
    let h = enabled();
    let t = baseline();
    let ticket = mint(&t);
    let (s, b) = inspect(&h, Some(ADMIN), &json!({ "ticket": ticket }).to_string()).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["verdict"]["ok"], true, "{b}");
    assert_eq!(b["verdict"]["step"], "access_constraints");
    assert_eq!(b["payload"]["jti"], t["jti"]);
    let claims: Vec<&str> = b["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["claim"].as_str().unwrap())
        .collect();
    for c in [
        "iss",
        "aud",
        "ticket_type",
        "presenter_binding",
        "access.smart_scopes",
    ] {
        assert!(claims.contains(&c), "{claims:?}");
    }
    assert!(
        b["not_judged"]
            .as_array()
            .unwrap()
            .contains(&json!("subject resolution"))
    );
    // A dry run: no audit row, and the ticket still redeems.
    assert!(h.audit(t["jti"].as_str().unwrap()).is_empty());
    let (s, body) = h.redeem(&ticket, &[]).await;
    assert_eq!(s, 200, "{body}");
}

#[tokio::test]
async fn each_refusal_names_the_token_endpoints_step_and_exact_error() {
    let h = enabled();
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut t = baseline();
        edit(&mut t);
        t
    };
    let expired = with(&|t| {
        t["iat"] = json!(NOW - 7200);
        t["exp"] = json!(NOW - 3600);
    });
    let untrusted = with(&|t| t["iss"] = json!("https://unknown-issuer.example"));
    let elsewhere = with(&|t| t["aud"] = json!("https://other-holder.example/fhir"));
    let other_state = with(&|t| {
        t["access"]["data_holder_filter"] =
            json!([{ "kind": "jurisdiction", "address": { "country": "US", "state": "TX" } }]);
    });
    let cases: Vec<(&str, String, (&str, &str, &str))> = vec![
        (
            "expired",
            mint(&expired),
            ("envelope", "invalid_grant", "Ticket expired"),
        ),
        (
            "untrusted issuer",
            mint(&untrusted),
            (
                "issuer_trust",
                "invalid_grant",
                "Ticket issuer not trusted: https://unknown-issuer.example",
            ),
        ),
        (
            "signed by another key",
            sign(&keys().client, &baseline()),
            (
                "signature",
                "invalid_grant",
                "Ticket signature verification failed",
            ),
        ),
        (
            "another audience",
            mint(&elsewhere),
            (
                "envelope",
                "invalid_grant",
                "Ticket not valid for this server",
            ),
        ),
        (
            "filtered to another state",
            mint(&other_state),
            (
                "access_constraints",
                "invalid_grant",
                "Data Holder not within ticket data_holder_filter",
            ),
        ),
    ];
    for (name, ticket, (step, error, description)) in cases {
        let got = verdict(&h, &ticket).await;
        assert_eq!(
            (got.0.as_str(), got.1.as_str(), got.2.as_str()),
            (step, error, description),
            "{name}"
        );
        // The token endpoint refuses the same ticket with the same error, at the same step.
        let (s, body) = h.redeem(&ticket, &[]).await;
        assert_eq!(s, 400, "{name}: {body}");
        assert_eq!(body["error"], error, "{name}");
        assert_eq!(body["error_description"], description, "{name}");
        let jti = tessera_ticket::danger::decode_unverified(&ticket)
            .unwrap()
            .payload["jti"]
            .as_str()
            .unwrap()
            .to_owned();
        let rows = h.audit(&jti);
        assert_eq!(
            rows.len(),
            1,
            "{name}: only the redemption is audited, not the dry run"
        );
        assert_eq!(rows[0].step.as_deref(), Some(step), "{name}");
    }
}
