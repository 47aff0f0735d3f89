//! End to end through the FHIR API: a redeemed token reads exactly the granted records
//! (PT-RS-01/02, PT-DP-02); introspection (PT-ACC-09); DPoP-bound tokens (OP-12); 200
//! concurrent redemptions with replayed assertions (PT-CA-05 under concurrency).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{Value, json};
use tessera_jose::{Alg, PrivateJwk};

use crate::token_support::*;

fn ids(bundle: &Value) -> BTreeSet<String> {
    bundle["entry"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|x| x["resource"]["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn token_reads_exactly_the_granted_records() {
    let h = Holder::new();
    let (s, body) = h.redeem(&mint(&baseline()), &[]).await;
    assert_eq!(s, 200, "{body}");
    let auth = format!("Bearer {}", body["access_token"].as_str().unwrap());
    let auth = [("authorization", auth.as_str())];
    let (s, _, b) = h.get("/fhir/Observation", &auth).await;
    assert_eq!(s, 200, "{b}");
    // obs-old lies outside data_period; obs-maria and obs-tran belong to other patients.
    assert_eq!(ids(&b), BTreeSet::from(["obs-in".to_owned()]));
    let (s, _, b) = h.get("/fhir/Condition", &auth).await;
    assert_eq!(s, 200);
    assert_eq!(ids(&b), BTreeSet::from(["cond-elena".to_owned()]));
    let (s, _, _) = h.get("/fhir/Observation/obs-in", &auth).await;
    assert_eq!(s, 200);
    let (s, _, _) = h.get("/fhir/Observation/obs-old", &auth).await;
    assert_eq!(s, 404, "PT-DP-02");
    let (s, _, _) = h.get("/fhir/Observation/obs-maria", &auth).await;
    assert_eq!(s, 404, "PT-RS-02");
}

#[tokio::test]
async fn pt_rs_01_requests_without_a_valid_token_get_401() {
    let h = Holder::new();
    let (s, headers, _) = h.get("/fhir/Observation", &[]).await;
    assert_eq!(s, 401);
    assert!(headers.get("www-authenticate").is_some());
    assert_eq!(
        headers.get("content-type").unwrap(),
        "application/fhir+json",
        "the 401 body is an OperationOutcome"
    );
    let (s, headers, _) = h
        .get(
            "/fhir/Observation",
            &[("authorization", "Bearer not-a-token")],
        )
        .await;
    assert_eq!(s, 401);
    assert!(
        headers
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    // Expired token.
    let (_, body) = h.redeem(&mint(&baseline()), &[]).await;
    let auth = format!("Bearer {}", body["access_token"].as_str().unwrap());
    h.clock.advance(301);
    let (s, _, _) = h
        .get("/fhir/Observation", &[("authorization", auth.as_str())])
        .await;
    assert_eq!(s, 401);
    // metadata stays public.
    let (s, _, _) = h.get("/fhir/metadata", &[]).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn pt_acc_09_introspection() {
    let h = Holder::new();
    let (_, body) = h.redeem(&mint(&baseline()), &[]).await;
    let token = body["access_token"].as_str().unwrap();
    let introspect = |client: &'static str, key: &'static PrivateJwk, token: String| {
        let now = h.now();
        let a = sign(
            key,
            &json!({"iss": client, "sub": client, "aud": format!("{BASE}/introspect"),
            "jti": uuid::Uuid::new_v4().to_string(), "exp": now + 60}),
        );
        let h = &h;
        async move {
            h.post(
                "/fhir/introspect",
                &[
                    ("token", token.as_str()),
                    ("client_assertion_type", JWT_BEARER),
                    ("client_assertion", a.as_str()),
                ],
                &[],
            )
            .await
        }
    };
    let (s, _, b) = introspect("app1", &keys().client, token.to_owned()).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["active"], true);
    assert_eq!(b["patient"], "elena");
    assert_eq!(b["client_id"], "app1");
    assert_eq!(b["permission_ticket"]["iss"], ISSUER);
    assert!(b["grant"].is_object());
    let (_, _, b) = introspect("app1", &keys().client, "nope".into()).await;
    assert_eq!(b, json!({"active": false}));
    // The payer client is not allowed to introspect.
    let (s, _, b) = introspect("payer", &keys().payer, token.to_owned()).await;
    assert_eq!(s, 401, "{b}");
}

/// Introspection rows, oldest first.
fn introspection_rows(h: &Holder) -> Vec<tessera_store::audit::AuditRecord> {
    let rows = h.db.audit_recent().unwrap();
    rows.into_iter()
        .filter(|r| r.event == "introspection")
        .collect()
}

#[tokio::test]
async fn pt_audit_introspection_calls_are_recorded_including_rejections() {
    let h = Holder::new();
    let (_, body) = h.redeem(&mint(&baseline()), &[]).await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    let call =
        |client: &'static str, key: &'static PrivateJwk, form: Vec<(&'static str, String)>| {
            let now = h.now();
            let a = sign(
                key,
                &json!({"iss": client, "sub": client, "aud": format!("{BASE}/introspect"),
            "jti": uuid::Uuid::new_v4().to_string(), "exp": now + 60}),
            );
            let h = &h;
            async move {
                let mut f: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                f.push(("client_assertion_type", JWT_BEARER));
                f.push(("client_assertion", a.as_str()));
                h.post("/fhir/introspect", &f, &[]).await
            }
        };
    // No client authentication at all.
    let (s, _, _) = h
        .post("/fhir/introspect", &[("token", token.as_str())], &[])
        .await;
    assert_eq!(s, 401);
    // Wrong key for app1: the claimed id is kept.
    let (s, _, _) = call("app1", &keys().other, vec![("token", token.clone())]).await;
    assert_eq!(s, 401);
    // Authenticated but not allowed to introspect.
    let (s, _, _) = call("payer", &keys().payer, vec![("token", token.clone())]).await;
    assert_eq!(s, 401);
    // Allowed, but no token parameter.
    let (s, _, _) = call("app1", &keys().client, vec![]).await;
    assert_eq!(s, 400);
    // Unknown token, then the real one.
    let (s, _, b) = call("app1", &keys().client, vec![("token", "nope".into())]).await;
    assert_eq!((s.as_u16(), b), (200, json!({"active": false})));
    let (s, _, _) = call("app1", &keys().client, vec![("token", token.clone())]).await;
    assert_eq!(s, 200);

    let rows = introspection_rows(&h);
    let got: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.outcome.as_str(),
                r.step.as_deref(),
                r.error.as_deref(),
                r.client_id.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "rejected",
                Some("client_authentication"),
                Some("invalid_client"),
                None
            ),
            (
                "rejected",
                Some("client_authentication"),
                Some("invalid_client"),
                Some("app1")
            ),
            (
                "rejected",
                Some("introspection_permission"),
                Some("invalid_client"),
                Some("payer")
            ),
            (
                "rejected",
                Some("request"),
                Some("invalid_request"),
                Some("app1")
            ),
            ("accepted", None, None, Some("app1")),
            ("accepted", None, None, Some("app1")),
        ]
    );
    assert_eq!(
        rows[1].error_description.as_deref(),
        Some("Client assertion signature verification failed")
    );
    assert_eq!(rows[4].details, r#"{"active":false}"#);
    assert_eq!(rows[4].jti, None);
    assert_eq!(rows[5].patient.as_deref(), Some("elena"));
    assert!(rows[5].jti.is_some());
    // The presented token is never stored (PT-AUDIT-03).
    let dump = serde_json::to_string(&rows).unwrap();
    assert!(!dump.contains(&token));
}

#[tokio::test]
async fn dpop_bound_tokens_need_a_proof_per_request() {
    let h = Holder::new();
    let dpop_key = PrivateJwk::generate(Alg::Es256).unwrap();
    let now = h.now();
    let ticket = mint(&baseline());
    let token = dpop_token(&h, &dpop_key, &ticket).await;
    let token = token.as_str();
    let url = format!("{BASE}/Observation");
    let auth = format!("DPoP {token}");
    let p1 = dpop_proof(&dpop_key, "GET", &url, now, Some(token));
    let (s, _, b) = h
        .get(
            "/fhir/Observation",
            &[("authorization", auth.as_str()), ("dpop", p1.as_str())],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    // The same proof again: replay.
    let (s, _, _) = h
        .get(
            "/fhir/Observation",
            &[("authorization", auth.as_str()), ("dpop", p1.as_str())],
        )
        .await;
    assert_eq!(s, 401);
    // No proof; Bearer scheme; proof by another key; proof for another URL.
    let (s, _, _) = h
        .get("/fhir/Observation", &[("authorization", auth.as_str())])
        .await;
    assert_eq!(s, 401);
    let bearer = format!("Bearer {token}");
    let (s, _, _) = h
        .get("/fhir/Observation", &[("authorization", bearer.as_str())])
        .await;
    assert_eq!(s, 401);
    let other = PrivateJwk::generate(Alg::Es256).unwrap();
    let p2 = dpop_proof(&other, "GET", &url, now, Some(token));
    let (s, _, _) = h
        .get(
            "/fhir/Observation",
            &[("authorization", auth.as_str()), ("dpop", p2.as_str())],
        )
        .await;
    assert_eq!(s, 401);
    let p3 = dpop_proof(
        &dpop_key,
        "GET",
        &format!("{BASE}/Condition"),
        now,
        Some(token),
    );
    let (s, _, _) = h
        .get(
            "/fhir/Observation",
            &[("authorization", auth.as_str()), ("dpop", p3.as_str())],
        )
        .await;
    assert_eq!(s, 401);
    // A bad proof at the token endpoint.
    let assertion = h.assertion("app1", &keys().client);
    let form = [
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token_type", SUBJECT_TOKEN_TYPE),
        ("subject_token", ticket.as_str()),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.as_str()),
    ];
    let bad = dpop_proof(
        &dpop_key,
        "POST",
        "https://elsewhere.example/token",
        now,
        None,
    );
    let (s, _, b) = h
        .post("/fhir/token", &form, &[("dpop", bad.as_str())])
        .await;
    assert_error(&(s, b), 400, "invalid_dpop_proof", None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_redemptions_and_replayed_assertions() {
    let h = Arc::new(Holder::new());
    let ticket = mint(&baseline());
    // 100 assertions, each sent twice at once: exactly one of each pair succeeds.
    let assertions: Vec<String> = (0..100)
        .map(|_| h.assertion("app1", &keys().client))
        .collect();
    let mut tasks = Vec::new();
    for a in assertions.iter().chain(assertions.iter()) {
        let h = h.clone();
        let a = a.clone();
        let t = ticket.clone();
        tasks.push(tokio::spawn(async move {
            let form = [
                ("grant_type", TOKEN_EXCHANGE),
                ("subject_token_type", SUBJECT_TOKEN_TYPE),
                ("subject_token", t.as_str()),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", a.as_str()),
            ];
            let (s, _, b) = h.post("/fhir/token", &form, &[]).await;
            (a, s.as_u16(), b)
        }));
    }
    let mut ok = std::collections::HashMap::<String, usize>::new();
    let mut tokens = BTreeSet::new();
    for t in tasks {
        let (a, s, b) = t.await.unwrap();
        match s {
            200 => {
                assert_eq!(b["patient"], "elena");
                tokens.insert(b["access_token"].as_str().unwrap().to_owned());
                *ok.entry(a).or_default() += 1;
            }
            401 => assert_eq!(b["error_description"], "Client assertion replayed"),
            other => panic!("unexpected {other}: {b}"),
        }
    }
    assert_eq!(ok.len(), 100);
    assert!(ok.values().all(|n| *n == 1));
    assert_eq!(tokens.len(), 100, "every token is distinct");
    // 200 audit rows for this ticket: 100 accepted, 100 rejected at client authentication.
    let jti = serde_json::from_slice::<Value>(
        &tessera_jose::b64::decode(ticket.split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap()["jti"]
        .as_str()
        .unwrap()
        .to_owned();
    let rows = h.audit(&jti);
    assert_eq!(rows.iter().filter(|r| r.outcome == "accepted").count(), 100);
}

#[tokio::test]
async fn a_wildcard_grant_names_only_types_the_fhir_api_serves() {
    // PT-SCOPE / PT-ACC: the granted scope string must be exactly what is enforced, so a
    // `*` ticket scope expands only to types the FHIR API can search.
    let h = Holder::new();
    let mut ticket = baseline();
    ticket["access"] = json!({"smart_scopes": ["patient/*.rs"]});
    let (s, body) = h.redeem(&mint(&ticket), &[]).await;
    assert_eq!(s, 200, "{body}");
    let scope = body["scope"].as_str().unwrap().to_owned();
    assert!(!scope.contains("PractitionerRole"), "{scope}");
    let auth = format!("Bearer {}", body["access_token"].as_str().unwrap());
    let auth = [("authorization", auth.as_str())];
    for granted in scope.split(' ') {
        let rtype = granted
            .trim_start_matches("patient/")
            .split('.')
            .next()
            .unwrap();
        let (s, _, b) = h.get(&format!("/fhir/{rtype}"), &auth).await;
        assert_eq!(s, 200, "{rtype}: {b}");
    }
}
