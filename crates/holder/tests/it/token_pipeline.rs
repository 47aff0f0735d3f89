//! Token endpoint, one test per applicable checklist row (PT-REQ … PT-ACC), each negative case
//! mutating exactly one thing of the valid baseline.

use serde_json::{Value, json};

use crate::token_support::*;

async fn ok(h: &Holder, t: &Value) -> Value {
    let (status, body) = h.redeem(&mint(t), &[]).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn err(h: &Holder, t: &Value) -> (http::StatusCode, Value) {
    h.redeem(&mint(t), &[]).await
}

#[tokio::test]
async fn pt_req_01_09_baseline_is_redeemed() {
    let h = Holder::new();
    let body = ok(&h, &baseline()).await;
    // The baseline is jkt-bound, yet the access token is a plain bearer token (PT-ACC-10,
    // PT-BIND-11); its demographics resolve to exactly one local patient (PT-SUBJ-01).
    assert_eq!(body["token_type"], "Bearer");
    // No continuation in the ticket, so no refresh token (PT-LIFE-03).
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert_eq!(
        body["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["scope"], "patient/Condition.rs patient/Observation.rs");
    assert_eq!(body["patient"], "elena");
    assert_eq!(body["access_token"].as_str().unwrap().len(), 43);
}

#[tokio::test]
async fn pt_req_02_unsupported_grant_type() {
    let h = Holder::new();
    let a = h.assertion("app1", &keys().client);
    let t = mint(&baseline());
    let (s, _, b) = h
        .post(
            "/fhir/token",
            &[
                ("grant_type", "foo"),
                ("subject_token_type", SUBJECT_TOKEN_TYPE),
                ("subject_token", &t),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &a),
            ],
            &[],
        )
        .await;
    assert_error(
        &(s, b),
        400,
        "unsupported_grant_type",
        Some("Token exchange not supported"),
    );
}

async fn without(
    h: &Holder,
    drop: &str,
    replace: Option<(&str, &str)>,
) -> (http::StatusCode, Value) {
    let a = h.assertion("app1", &keys().client);
    let t = mint(&baseline());
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token_type", SUBJECT_TOKEN_TYPE),
        ("subject_token", &t),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", &a),
    ];
    form.retain(|(k, _)| *k != drop);
    if let Some(kv) = replace {
        form.push(kv);
    }
    let (s, _, b) = h.post("/fhir/token", &form, &[]).await;
    (s, b)
}

#[tokio::test]
async fn pt_req_03_04_05_subject_token_parameters() {
    let h = Holder::new();
    assert_error(
        &without(&h, "subject_token_type", None).await,
        400,
        "invalid_request",
        Some("Unsupported subject token type"),
    );
    assert_error(
        &without(
            &h,
            "subject_token_type",
            Some(("subject_token_type", "urn:ietf:params:oauth:token-type:jwt")),
        )
        .await,
        400,
        "invalid_request",
        Some("Unsupported subject token type"),
    );
    assert_error(
        &without(&h, "subject_token", None).await,
        400,
        "invalid_request",
        Some("No permission ticket provided"),
    );
}

#[tokio::test]
async fn pt_req_06_form_encoding_and_duplicates() {
    let h = Holder::new();
    let t = mint(&baseline());
    let (s, b) = h
        .redeem(
            &t,
            &[
                ("scope", "patient/Observation.rs"),
                ("scope", "patient/Condition.rs"),
            ],
        )
        .await;
    assert_error(&(s, b), 400, "invalid_request", Some("Repeated parameter"));
    let req = http::Request::post("/fhir/token")
        .header("content-type", "application/json")
        .body(axum::body::Body::from("{}"))
        .unwrap();
    let (s, headers, b) = send(&h.router, req).await;
    assert_eq!(headers.get("cache-control").unwrap(), "no-store");
    assert_error(&(s, b), 400, "invalid_request", None);
    // PT-AUDIT-01: a request refused before it could be read is still an audited attempt.
    let unreadable: Vec<_> =
        h.db.audit_recent()
            .unwrap()
            .into_iter()
            .filter(|r| r.event == "token_exchange" && r.step.as_deref() == Some("request"))
            .collect();
    // Both refusals above: the repeated parameter and the JSON body.
    assert_eq!(unreadable.len(), 2, "{unreadable:?}");
    for r in &unreadable {
        assert_eq!(r.outcome, "rejected");
        assert_eq!(r.error.as_deref(), Some("invalid_request"));
    }
    assert!(
        unreadable
            .iter()
            .any(|r| r.error_description.as_deref() == Some("Repeated parameter"))
    );
}

#[tokio::test]
async fn pt_req_07_oversized_ticket() {
    let h = Holder::new();
    let big = "a".repeat(70 * 1024);
    assert_error(
        &h.redeem(&big, &[]).await,
        400,
        "invalid_request",
        Some("Permission ticket too large"),
    );
}

#[tokio::test]
async fn pt_req_10_11_actor_token_and_resource() {
    let h = Holder::new();
    let t = mint(&baseline());
    assert_error(
        &h.redeem(&t, &[("actor_token", "x"), ("actor_token_type", "y")])
            .await,
        400,
        "invalid_request",
        None,
    );
    assert_error(
        &h.redeem(&t, &[("resource", "https://other.example/fhir")])
            .await,
        400,
        "invalid_target",
        None,
    );
    let (s, _) = h.redeem(&t, &[("resource", BASE)]).await;
    assert_eq!(s, 200);
}

// ---- Layer 1 (PT-CA) ---------------------------------------------------------------------

#[tokio::test]
async fn pt_ca_01_no_client_authentication() {
    let h = Holder::new();
    let t = mint(&baseline());
    let (s, _, b) = h
        .post(
            "/fhir/token",
            &[
                ("grant_type", TOKEN_EXCHANGE),
                ("subject_token_type", SUBJECT_TOKEN_TYPE),
                ("subject_token", &t),
            ],
            &[],
        )
        .await;
    assert_error(
        &(s, b),
        401,
        "invalid_client",
        Some("Client authentication required"),
    );
}

async fn with_assertion(h: &Holder, assertion: &str) -> (http::StatusCode, Value) {
    without(h, "client_assertion", Some(("client_assertion", assertion))).await
}

fn assertion_claims(h: &Holder) -> Value {
    json!({"iss": "app1", "sub": "app1", "aud": h.token_url(), "jti": uuid::Uuid::new_v4().to_string(), "iat": h.now(), "exp": h.now() + 60})
}

#[tokio::test]
async fn pt_ca_02_wrong_key() {
    let h = Holder::new();
    let a = sign(&keys().other, &assertion_claims(&h));
    assert_error(
        &with_assertion(&h, &a).await,
        401,
        "invalid_client",
        Some("Client assertion signature verification failed"),
    );
}

#[tokio::test]
async fn pt_ca_03_iss_differs_from_sub() {
    let h = Holder::new();
    let mut c = assertion_claims(&h);
    c["sub"] = json!("payer");
    assert_error(
        &with_assertion(&h, &sign(&keys().client, &c)).await,
        401,
        "invalid_client",
        None,
    );
}

#[tokio::test]
async fn pt_ca_04_audience_expiry_lifetime() {
    let h = Holder::new();
    let mut c = assertion_claims(&h);
    c["aud"] = json!("https://dh.example.org/fhir");
    assert_error(
        &with_assertion(&h, &sign(&keys().client, &c)).await,
        401,
        "invalid_client",
        Some("Client assertion audience must be the token endpoint URL"),
    );
    let mut c = assertion_claims(&h);
    c["exp"] = json!(h.now() - 31);
    assert_error(
        &with_assertion(&h, &sign(&keys().client, &c)).await,
        401,
        "invalid_client",
        Some("Client assertion expired"),
    );
    let mut c = assertion_claims(&h);
    c["exp"] = json!(h.now() + 3600);
    assert_error(
        &with_assertion(&h, &sign(&keys().client, &c)).await,
        401,
        "invalid_client",
        Some("Client assertion lifetime not acceptable"),
    );
    let mut c = assertion_claims(&h);
    c.as_object_mut().unwrap().remove("jti");
    assert_error(
        &with_assertion(&h, &sign(&keys().client, &c)).await,
        401,
        "invalid_client",
        Some("Client assertion jti required"),
    );
}

#[tokio::test]
async fn pt_ca_05_assertion_replay() {
    let h = Holder::new();
    let a = sign(&keys().client, &assertion_claims(&h));
    assert_eq!(with_assertion(&h, &a).await.0, 200);
    assert_error(
        &with_assertion(&h, &a).await,
        401,
        "invalid_client",
        Some("Client assertion replayed"),
    );
}

// PT-CA-05 in the spec's order (PT-CA-07: Layer 1 first): a replayed assertion is refused at
// client authentication whatever a later step would have found. No store read precedes the pipeline; the request's
// commit finds the key spent and answers with the replay refusal and its own audit row.
#[tokio::test]
async fn pt_ca_05_a_replayed_assertion_is_refused_before_what_later_steps_find() {
    let h = Holder::new();
    let a = sign(&keys().client, &assertion_claims(&h));
    assert_eq!(with_assertion(&h, &a).await.0, 200);
    // The same assertion with a ticket whose signature is broken, then with no ticket.
    let mut broken = mint(&baseline());
    broken.push('x');
    let cases: [(&str, Vec<(&str, &str)>); 2] = [
        ("broken ticket", exchange_form(&broken, &a).to_vec()),
        (
            "no ticket",
            exchange_form("", &a)
                .into_iter()
                .filter(|(k, _)| *k != "subject_token")
                .collect(),
        ),
    ];
    for (what, form) in cases {
        let (s, _, b) = h.post("/fhir/token", &form, &[]).await;
        assert_error(
            &(s, b),
            401,
            "invalid_client",
            Some("Client assertion replayed"),
        );
        let rows = h.db.audit_recent().unwrap();
        let row = rows.last().unwrap(); // oldest first
        assert_eq!(row.step.as_deref(), Some("client_authentication"), "{what}");
        assert_eq!(
            row.error_description.as_deref(),
            Some("Client assertion replayed"),
            "{what}"
        );
    }
    // A fresh assertion with the broken ticket fails where the ticket fails.
    let fresh = sign(&keys().client, &assertion_claims(&h));
    let (s, _, b) = h
        .post("/fhir/token", &exchange_form(&broken, &fresh), &[])
        .await;
    assert_eq!(s.as_u16(), 400, "{b}");
    assert_eq!(b["error"], "invalid_grant", "{b}");
}

#[tokio::test]
async fn pt_ca_06_unknown_and_disabled_clients() {
    let h = Holder::new();
    let mut c = assertion_claims(&h);
    c["iss"] = json!("nobody");
    c["sub"] = json!("nobody");
    assert_error(
        &with_assertion(&h, &sign(&keys().client, &c)).await,
        401,
        "invalid_client",
        Some("Unknown client"),
    );
    let h = Holder::with_config(&config_toml(
        "[[client]]\nclient_id = \"off\"\njwks_file = \"client.json\"\ndisabled = true\n",
    ));
    let mut c = assertion_claims(&h);
    c["iss"] = json!("off");
    c["sub"] = json!("off");
    assert_error(
        &with_assertion(&h, &sign(&keys().client, &c)).await,
        401,
        "invalid_client",
        Some("Unknown client"),
    );
}

#[tokio::test]
async fn pt_ca_07_layer_one_precedes_ticket_validation() {
    let h = Holder::new();
    let a = sign(&keys().other, &assertion_claims(&h));
    let (s, _, b) = h
        .post(
            "/fhir/token",
            &[
                ("grant_type", TOKEN_EXCHANGE),
                ("subject_token_type", SUBJECT_TOKEN_TYPE),
                ("subject_token", "not-a-ticket"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &a),
            ],
            &[],
        )
        .await;
    assert_error(&(s, b), 401, "invalid_client", None);
}

#[tokio::test]
async fn pt_ca_08_client_id_inside_ticket_is_ignored() {
    let h = Holder::new();
    let mut t = baseline();
    t["client_id"] = json!("payer");
    ok(&h, &t).await;
}

#[tokio::test]
async fn pt_bind_05_correct_key_bad_assertion_signature() {
    let h = Holder::new();
    let a = h.assertion("app1", &keys().client);
    let tampered = flip_signature(&a);
    assert_error(
        &with_assertion(&h, &tampered).await,
        401,
        "invalid_client",
        None,
    );
}

// ---- Ticket parse, signature, type, trust, envelope (PT-VAL) -----------------------------

#[tokio::test]
async fn pt_val_01_02_malformed_tickets() {
    let h = Holder::new();
    for bad in ["abc", "a.b", "a.b.c.d", "!!.!!.!!"] {
        assert_error(
            &h.redeem(bad, &[]).await,
            400,
            "invalid_grant",
            Some("Malformed permission ticket"),
        );
    }
    let arr = sign(&keys().issuer, &json!([1, 2]));
    assert_error(
        &h.redeem(&arr, &[]).await,
        400,
        "invalid_grant",
        Some("Malformed permission ticket"),
    );
}

#[tokio::test]
async fn pt_val_03_tampered_payload() {
    let h = Holder::new();
    let t = mint(&baseline());
    let mut other = baseline();
    other["access"]["smart_scopes"] = json!(["patient/*.rs"]);
    let forged = mint(&other);
    let spliced = format!(
        "{}.{}.{}",
        t.split('.').next().unwrap(),
        forged.split('.').nth(1).unwrap(),
        t.split('.').nth(2).unwrap()
    );
    assert_error(
        &h.redeem(&spliced, &[]).await,
        400,
        "invalid_grant",
        Some("Ticket signature verification failed"),
    );
}

#[tokio::test]
async fn pt_val_05_alg_none_and_hmac() {
    let h = Holder::new();
    let kid = keys().issuer.kid().unwrap().to_owned();
    let payload = tessera_jose::b64::encode(serde_json::to_vec(&baseline()).unwrap());
    for alg in ["none", "HS256"] {
        let header = tessera_jose::b64::encode(json!({"alg": alg, "kid": kid}).to_string());
        let t = format!("{header}.{payload}.c2ln");
        assert_error(&h.redeem(&t, &[]).await, 400, "invalid_grant", None);
    }
}

#[tokio::test]
async fn pt_val_06_kid_missing_or_unknown() {
    let h = Holder::new();
    let t = sign_with_header(&keys().issuer, json!({"kid": "no-such-kid"}), &baseline());
    assert_error(
        &h.redeem(&t, &[]).await,
        400,
        "invalid_grant",
        Some("Ticket signature verification failed"),
    );
}

#[tokio::test]
async fn pt_val_08_missing_ticket_type() {
    let h = Holder::new();
    let mut t = baseline();
    t.as_object_mut().unwrap().remove("ticket_type");
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Missing ticket type"),
    );
}

#[tokio::test]
async fn pt_val_09_unknown_and_unadvertised_types() {
    let h = Holder::new();
    let mut t = baseline();
    t["ticket_type"] = json!("https://example.org/unknown-type");
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Unsupported ticket type"),
    );
    // Known to the implementation, but no issuer is trusted for it ⇒ not advertised.
    t["ticket_type"] =
        json!("https://smarthealthit.org/permission-ticket-type/public-health-investigation-v1");
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Unsupported ticket type"),
    );
}

#[tokio::test]
async fn pt_val_10_pt_trust_01_issuer_trusted_per_type() {
    let h = Holder::new();
    let mut t = baseline();
    t["iss"] = json!(SELF_ONLY_ISSUER);
    ok(&h, &t).await;
    t["ticket_type"] = json!(T_DELEGATED);
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Ticket issuer not trusted: https://selfonly.example"),
    );
}

#[tokio::test]
async fn pt_val_11_unknown_issuer_is_not_trusted() {
    let h = Holder::new();
    let mut t = baseline();
    t["iss"] = json!("http://127.0.0.1:9/issuer");
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Ticket issuer not trusted: http://127.0.0.1:9/issuer"),
    );
}

#[tokio::test]
async fn pt_val_12_expired() {
    // Tickets carry `exp` and expired ones are rejected (PT-LIFE-02).
    let h = Holder::new();
    let mut t = baseline();
    t["exp"] = json!(NOW - 31);
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Ticket expired"),
    );
}

#[tokio::test]
async fn pt_val_13_envelope_claims_required() {
    let h = Holder::new();
    for claim in ["iss", "aud", "exp", "iat", "jti", "subject", "access"] {
        let mut t = baseline();
        t.as_object_mut().unwrap().remove(claim);
        let got = err(&h, &t).await;
        assert_error(&got, 400, "invalid_grant", None);
        assert!(
            got.1["error_description"]
                .as_str()
                .unwrap()
                .starts_with("Malformed permission ticket"),
            "{claim}: {}",
            got.1
        );
    }
}

#[tokio::test]
async fn pt_val_14_iat_in_the_future() {
    let h = Holder::new();
    let mut t = baseline();
    t["iat"] = json!(NOW + 3600);
    t["exp"] = json!(NOW + 7200);
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Ticket issued in the future"),
    );
}

// ---- Audience (PT-AUD) -------------------------------------------------------------------

#[tokio::test]
async fn pt_aud_01_02_03_07_data_holder_url() {
    let h = Holder::new();
    let mut t = baseline();
    t["aud"] = json!(["https://other.example/fhir", BASE]);
    ok(&h, &t).await;
    for aud in [
        json!("https://other.example/fhir"),
        json!(format!("{BASE}/")),
    ] {
        t["aud"] = aud;
        assert_error(
            &err(&h, &t).await,
            400,
            "invalid_grant",
            Some("Ticket not valid for this server"),
        );
    }
}

#[tokio::test]
async fn pt_aud_04_05_06_framework_audience() {
    let h = Holder::new();
    let mut t = baseline();
    t["aud"] = json!("https://network.example");
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Ticket not valid for this server"),
    );
    t["aud_type"] = json!("trust_framework");
    ok(&h, &t).await;
    // No framework proves this membership: it holds because `trust_frameworks` lists it.
    let rows = h.audit(t["jti"].as_str().unwrap());
    let accepted = rows.iter().find(|r| r.outcome == "accepted").unwrap();
    let details: Value = serde_json::from_str(&accepted.details).unwrap();
    assert_eq!(details["audience_check"], "configured");
    t["jti"] = json!(uuid::Uuid::new_v4().to_string());
    t["aud"] = json!("https://other-network.example");
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Ticket not valid for this server"),
    );
    t["aud"] = json!("https://network.example");
    t["aud_type"] = json!("bogus");
    assert_error(&err(&h, &t).await, 400, "invalid_grant", None);
    let mut t = baseline();
    t["aud"] = json!([]);
    assert_error(&err(&h, &t).await, 400, "invalid_grant", None);
}

// ---- Binding (PT-BIND) -------------------------------------------------------------------

#[tokio::test]
async fn pt_bind_01_02_jkt() {
    let h = Holder::new();
    let mut t = baseline();
    t["presenter_binding"]["jkt"] = json!(keys().other.public().thumbprint());
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Ticket presenter binding mismatch"),
    );
}

#[tokio::test]
async fn pt_bind_04_required_for_individual_types() {
    let h = Holder::new();
    let mut t = baseline();
    t.as_object_mut().unwrap().remove("presenter_binding");
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Ticket presenter binding required"),
    );
}

#[tokio::test]
async fn pt_bind_09_malformed_bindings() {
    let h = Holder::new();
    for b in [
        json!({"method": "x509", "jkt": "a"}),
        json!({"method": "jkt", "jkt": keys().client.public().thumbprint(), "extra": 1}),
        json!([{"method": "jkt", "jkt": keys().client.public().thumbprint()}]),
        json!({"method": "trust_framework_client", "trust_framework": "https://f", "framework_type": "saml", "entity_uri": "https://e"}),
    ] {
        let mut t = baseline();
        t["presenter_binding"] = b;
        assert_error(&err(&h, &t).await, 400, "invalid_grant", None);
    }
    // A well-formed framework binding this client has no identity for (OP-18).
    let mut t = baseline();
    t["presenter_binding"] = json!({"method": "trust_framework_client", "trust_framework": "https://f", "framework_type": "udap", "entity_uri": "https://e"});
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Ticket presenter binding mismatch"),
    );
}

#[tokio::test]
async fn pt_bind_10_pt_type_11_unbound_b2b_needs_acts_for() {
    let h = Holder::new();
    let t = quality_gap();
    let (s, b) = h.redeem_as("payer", &keys().payer, &mint(&t), &[]).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["patient"], "C10288");
    // app1 is not registered as acting for the payer.
    assert_error(
        &h.redeem(&mint(&t), &[]).await,
        400,
        "invalid_grant",
        Some("Client not authorized to act for the ticket requester"),
    );
}

pub fn quality_gap() -> Value {
    json!({
        "iss": ISSUER, "aud": BASE, "exp": NOW + 86400, "iat": NOW - 60,
        "jti": uuid::Uuid::new_v4().to_string(), "ticket_type": T_QG,
        "subject": {"patient": {"resourceType": "Patient", "birthDate": "1957-11-02",
            "name": [{"family": "Tran", "given": ["Lien"]}],
            "identifier": [{"system": "http://fhir.provider.example.org/mrn", "value": "C10288"}]}},
        "requester": {"resourceType": "Organization", "name": "Example Health Plan",
            "identifier": [{"system": NPI, "value": PAYER_NPI}]},
        "measure": {"coding": [{"system": "https://www.cms.gov/medicare/quality/measures", "code": "CMS122v12"}]},
        "access": {"smart_scopes": ["patient/Observation.rs?code=http://loinc.org|4548-4"],
            "data_period": {"start": "2026-01-01", "end": "2026-12-31"}}
    })
}

// ---- Evidence (PT-EVID) ------------------------------------------------------------------

fn with_evidence(ev: &str) -> Value {
    let mut t = baseline();
    t["subject_identity_evidence"] =
        json!({"source": "embedded", "token_type": "id_token", "jwt": ev});
    t
}

#[tokio::test]
async fn pt_evid_01_03_04_05_valid_evidence() {
    let h = Holder::new();
    // Issued at the ticket's iat, expired long before redemption: fine (PT-EVID-04).
    let ev = id_token(evidence_claims(NOW - 60));
    let body = ok(&h, &with_evidence(&ev)).await;
    assert_eq!(body["patient"], "elena");
    // aud = the presenting client (PT-EVID-05).
    let mut c = evidence_claims(NOW - 60);
    c["aud"] = json!("app1");
    ok(&h, &with_evidence(&id_token(c))).await;
}

#[tokio::test]
async fn pt_evid_14_self_issued_evidence_is_recorded_as_issuer_attested() {
    // The ticket issuer is also configured as an identity provider, so its own ID token
    // verifies; it adds no independent assurance and the audit says so.
    let extra = format!("[[identity_provider]]\niss = \"{ISSUER}\"\njwks_file = \"issuer.json\"\n");
    let h = Holder::with_config(&config_toml(&extra));
    let attested = |t: &Value| -> Value {
        let jti = t["jti"].as_str().unwrap();
        let rows = h.audit(jti);
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].outcome, "accepted", "{rows:?}");
        let details: Value = serde_json::from_str(&rows[0].details).unwrap();
        details["subject_evidence"]["issuer_attested"].clone()
    };
    let mut c = evidence_claims(NOW - 60);
    c["iss"] = json!(ISSUER);
    c["aud"] = json!("app1");
    let self_issued = with_evidence(&sign(&keys().issuer, &c));
    ok(&h, &self_issued).await;
    assert_eq!(attested(&self_issued), json!(true));
    // Evidence from the independent identity provider is not issuer-attested.
    let independent = with_evidence(&id_token(evidence_claims(NOW - 60)));
    ok(&h, &independent).await;
    assert_eq!(attested(&independent), json!(false));
}

#[tokio::test]
async fn pt_evid_rejections() {
    let h = Holder::new();
    let invalid = |c: Value| with_evidence(&id_token(c));
    let mut cases: Vec<(&str, Value)> = Vec::new();
    // PT-EVID-01: signed by another key.
    cases.push((
        "wrong key",
        with_evidence(&sign(&keys().other, &evidence_claims(NOW - 60))),
    ));
    // PT-EVID-02: issuer not configured as an identity provider (a ticket issuer is not enough):
    // evidence-issuer trust is separate from ticket-issuer trust (PT-TRUST-06).
    let mut c = evidence_claims(NOW - 60);
    c["iss"] = json!(ISSUER);
    cases.push(("untrusted iss", invalid(c)));
    // PT-EVID-03: ticket iat after the evidence expired.
    cases.push(("stale", invalid(evidence_claims(NOW - 60 - 400))));
    // PT-EVID-05: no mapping for the audience.
    let mut c = evidence_claims(NOW - 60);
    c["aud"] = json!("unmapped-app");
    cases.push(("unmapped aud", invalid(c)));
    // PT-EVID-06: the Data Holder's own URL.
    let mut c = evidence_claims(NOW - 60);
    c["aud"] = json!(BASE);
    cases.push(("dh aud", invalid(c)));
    // PT-EVID-07: several audiences without azp.
    let mut c = evidence_claims(NOW - 60);
    c["aud"] = json!(["issuer-app", "app1"]);
    cases.push(("multi aud", invalid(c)));
    // PT-EVID-08: demographics differ from subject.patient.
    let mut c = evidence_claims(NOW - 60);
    c["birthdate"] = json!("1989-09-15");
    cases.push(("birthdate", invalid(c)));
    // PT-EVID-11: strict slot shape.
    let mut t = with_evidence(&id_token(evidence_claims(NOW - 60)));
    t["subject_identity_evidence"]["source"] = json!("wallet");
    cases.push(("source", t));
    let mut t = with_evidence(&id_token(evidence_claims(NOW - 60)));
    t["subject_identity_evidence"]["extra"] = json!(1);
    cases.push(("extra member", t));
    for (name, t) in cases {
        let got = err(&h, &t).await;
        assert_eq!(got.1["error"], "invalid_grant", "{name}: {}", got.1);
        assert_eq!(got.0, 400, "{name}");
        if !matches!(name, "extra member" | "source") {
            assert_eq!(
                got.1["error_description"], "Invalid identity evidence",
                "{name}"
            );
        }
    }
}

#[tokio::test]
async fn pt_evid_12_acr_policy() {
    let toml = config_toml("").replace(
        "audience_map = { \"issuer-app\" = \"https://issuer.example\" }",
        "audience_map = { \"issuer-app\" = \"https://issuer.example\" }\nacr_values = [\"ial2\"]",
    );
    let h = Holder::with_config(&toml);
    assert_error(
        &err(&h, &with_evidence(&id_token(evidence_claims(NOW - 60)))).await,
        400,
        "invalid_grant",
        Some("Invalid identity evidence"),
    );
    let mut c = evidence_claims(NOW - 60);
    c["acr"] = json!("ial2");
    ok(&h, &with_evidence(&id_token(c))).await;
}

#[tokio::test]
async fn pt_evid_09_evidence_must_match_the_resolved_local_record() {
    let h = Holder::new();
    // The ticket names Elena by MRN only: no name, no birth date, so nothing in the ticket
    // itself can disagree with the evidence (PT-EVID-08 passes) and only the comparison of the
    // evidence with the *local record* the MRN resolves to can refuse it.
    let mut t = baseline();
    t["subject"]["patient"] = json!({"resourceType": "Patient",
        "identifier": [{"system": "http://hospital.example.org/mrn", "value": "A12345"}]});
    // Control 1: without evidence the ticket resolves to Elena.
    assert_eq!(ok(&h, &t).await["patient"], "elena");
    // Control 2: Elena's own evidence corroborates the record.
    let mut elena = t.clone();
    elena["subject_identity_evidence"] = json!({"source": "embedded", "token_type": "id_token",
        "jwt": id_token(evidence_claims(NOW - 60))});
    assert_eq!(ok(&h, &elena).await["patient"], "elena");
    // Maria's evidence on Elena's MRN: the resolved record is not the person the evidence
    // describes (birth date and given name differ) ⇒ no match.
    let mut c = evidence_claims(NOW - 60);
    c["given_name"] = json!("Maria");
    c["birthdate"] = json!("1948-06-15");
    let mut maria = t.clone();
    maria["subject_identity_evidence"] =
        json!({"source": "embedded", "token_type": "id_token", "jwt": id_token(c)});
    assert_error(
        &err(&h, &maria).await,
        400,
        "invalid_grant",
        Some("Unable to resolve ticket subject"),
    );
    // Only the birth date differs: still refused (each demographic counts).
    let mut c = evidence_claims(NOW - 60);
    c["birthdate"] = json!("1989-09-15");
    let mut other_dob = t.clone();
    other_dob["subject_identity_evidence"] =
        json!({"source": "embedded", "token_type": "id_token", "jwt": id_token(c)});
    assert_error(
        &err(&h, &other_dob).await,
        400,
        "invalid_grant",
        Some("Unable to resolve ticket subject"),
    );
}

// ---- Kernel fields, type rules (PT-FIELD, PT-TYPE) --------------------------------------

#[tokio::test]
async fn pt_field_01_unknown_top_level_claims_ignored() {
    let h = Holder::new();
    let mut t = baseline();
    t["x_note"] = json!(1);
    ok(&h, &t).await;
}

#[tokio::test]
async fn pt_field_02_03_05_06_unknown_access_members() {
    let h = Holder::new();
    let mut t = baseline();
    t["access"]["foo"] = json!(true);
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Unsupported access constraint: foo"),
    );
    let mut t = baseline();
    t["access"]["permissions"] = json!([]);
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Unsupported access constraint: permissions"),
    );
    let mut t = baseline();
    // A present kernel field we cannot enforce (PT-FIELD-04).
    t["must_understand"] = json!(["x"]);
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Cannot enforce kernel field: must_understand"),
    );
}

#[tokio::test]
async fn pt_sens_06_sensitivity_withhold_needs_codes_or_unlisted() {
    // The reference policy implements Proposal 005, so the constraint is enforced (not
    // rejected as unsupported, PT-SENS-01 applies only without support); an empty rule is
    // malformed.
    let h = Holder::new();
    let mut t = baseline();
    t["access"]["sensitivity_withhold"] = json!({"unlisted": true});
    ok(&h, &t).await;
    t["access"]["sensitivity_withhold"] = json!({});
    let got = err(&h, &t).await;
    assert_error(&got, 400, "invalid_grant", None);
    assert!(
        got.1["error_description"]
            .as_str()
            .unwrap()
            .contains("sensitivity_withhold"),
        "{}",
        got.1
    );
}

#[tokio::test]
async fn pt_type_02_03_self_access_rules() {
    let h = Holder::new();
    let mut t = baseline();
    t["requester"] = json!({"resourceType": "Organization", "name": "x"});
    assert_error(&err(&h, &t).await, 400, "invalid_grant", None);
    let mut t = baseline();
    t["access"].as_object_mut().unwrap().remove("smart_scopes");
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Ticket missing required claim: smart_scopes"),
    );
}

#[tokio::test]
async fn pt_type_04_05_06_delegated_authority() {
    let h = Holder::new();
    let mut t = baseline();
    t["ticket_type"] = json!(T_DELEGATED);
    t["subject"]["patient"] = json!({"resourceType": "Patient", "birthDate": "1948-06-15",
        "name": [{"family": "Reyes", "given": ["Maria"]}], "identifier": [{"system": "https://national-mpi.net", "value": "pt-555"}]});
    let rp = |codes: Value| json!({"resourceType": "RelatedPerson", "name": [{"family": "Reyes", "given": ["Elena"]}], "relationship": [{"coding": codes}]});
    t["requester"] = rp(
        json!([{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "DELEGATEE"}]),
    );
    let body = ok(&h, &t).await;
    assert_eq!(body["patient"], "maria");
    // PT-TYPE-07: `RelatedPerson.period` is not checked; an ended period with a valid `exp`
    // still redeems (the issuer bounds `exp` by the authority instead, PT-LIFE-08).
    let mut ended = t.clone();
    ended["requester"]["period"] = json!({"start": "2001-01-01", "end": "2002-01-01"});
    ok(&h, &ended).await;
    for bad in [
        json!([]),
        json!([{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "DAU"}]),
        json!([{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "DELEGATEE"}, {"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "GUARD"}]),
    ] {
        t["requester"] = rp(bad);
        assert_error(&err(&h, &t).await, 400, "invalid_grant", None);
    }
    t["requester"] = json!({"resourceType": "Organization", "name": "x"});
    assert_error(&err(&h, &t).await, 400, "invalid_grant", None);
}

#[tokio::test]
async fn pt_evid_10_requester_evidence_must_describe_the_requester() {
    let h = Holder::new();
    let mut t = delegated();
    let mut patient_token = evidence_claims(NOW - 60);
    patient_token["given_name"] = json!("Maria");
    patient_token["birthdate"] = json!("1948-06-15");
    t["requester_identity_evidence"] =
        json!({"source": "embedded", "token_type": "id_token", "jwt": id_token(patient_token)});
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Invalid identity evidence"),
    );
    t["requester_identity_evidence"]["jwt"] = json!(id_token(evidence_claims(NOW - 60)));
    ok(&h, &t).await;
}

#[tokio::test]
async fn pt_type_12_13_14_15_quality_gap() {
    let h = Holder::new();
    let hh = &h;
    let as_payer =
        |t: Value| async move { hh.redeem_as("payer", &keys().payer, &mint(&t), &[]).await };
    let mut t = quality_gap();
    t.as_object_mut().unwrap().remove("measure");
    assert_error(
        &as_payer(t).await,
        400,
        "invalid_grant",
        Some("Ticket missing required claim: measure"),
    );
    let mut t = quality_gap();
    t["access"].as_object_mut().unwrap().remove("data_period");
    assert_error(&as_payer(t).await, 400, "invalid_grant", None);
    let mut t = quality_gap();
    t["access"]["smart_scopes"] = json!(["patient/Observation.rs"]);
    assert_error(&as_payer(t).await, 400, "invalid_grant", None);
    // PT-TYPE-15: Maria has no coverage by this payer.
    let mut t = quality_gap();
    t["subject"]["patient"] = json!({"resourceType": "Patient", "birthDate": "1948-06-15",
        "name": [{"family": "Reyes", "given": ["Maria"]}], "identifier": [{"system": "https://national-mpi.net", "value": "pt-555"}]});
    assert_error(
        &as_payer(t).await,
        400,
        "invalid_grant",
        Some("Requester relationship not established"),
    );
}

fn claims_ticket() -> Value {
    json!({
        "iss": BASE, "aud": BASE, "exp": NOW + 86400, "iat": NOW - 60,
        "jti": uuid::Uuid::new_v4().to_string(), "ticket_type": T_CLAIMS,
        "subject": {"patient": {"resourceType": "Patient", "birthDate": "1962-03-09",
            "name": [{"family": "Okafor", "given": ["Daniel"]}]},
            "patient_reference": format!("{BASE}/Patient/B77421")},
        "requester": {"resourceType": "Organization", "identifier": [{"system": NPI, "value": PAYER_NPI}]},
        "access": {"claim_linkage": {"encounter": [{"reference": format!("{BASE}/Encounter/enc-2026-0117")}]}}
    })
}

#[tokio::test]
async fn pt_type_08_09_10_pt_cl_02_payer_claims() {
    let h = Holder::new();
    let hh = &h;
    let as_payer =
        |t: Value| async move { hh.redeem_as("payer", &keys().payer, &mint(&t), &[]).await };
    let (s, b) = as_payer(claims_ticket()).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["patient"], "B77421");
    // PT-CL-07: the provider's claim control number is kept in the audit entry.
    let mut t = claims_ticket();
    t["access"]["claim_linkage"]["claim"] =
        json!({"identifier": {"system": "https://provider.example/ccn", "value": "CCN-4411"}});
    let jti = t["jti"].as_str().unwrap().to_owned();
    assert_eq!(as_payer(t).await.0, 200);
    assert!(h.audit(&jti)[0].details.contains("CCN-4411"));
    let mut t = claims_ticket();
    t["access"]["data_period"] = json!({"start": "2026-01-01"});
    assert_error(&as_payer(t).await, 400, "invalid_grant", None);
    // PT-TYPE-10: another trusted issuer cannot mint claims tickets.
    let mut t = claims_ticket();
    t["iss"] = json!(ISSUER);
    assert_error(
        &as_payer(t).await,
        400,
        "invalid_grant",
        Some("Ticket issuer not trusted: https://issuer.example"),
    );
    // PT-CL-02: unknown encounter; encounter of another patient.
    let mut t = claims_ticket();
    t["access"]["claim_linkage"]["encounter"][0]["reference"] = json!("Encounter/nope");
    assert_error(
        &as_payer(t).await,
        400,
        "invalid_grant",
        Some("Cannot enforce access constraint: claim_linkage"),
    );
    let mut t = claims_ticket();
    t["subject"] = json!({"patient": {"resourceType": "Patient", "birthDate": "1957-11-02", "name": [{"family": "Tran", "given": ["Lien"]}]}, "patient_reference": "Patient/C10288"});
    assert_error(
        &as_payer(t).await,
        400,
        "invalid_grant",
        Some("Cannot enforce access constraint: claim_linkage"),
    );
}

// ---- Subject (PT-SUBJ) -------------------------------------------------------------------

#[tokio::test]
async fn pt_subj_02_03_unresolved_and_ambiguous() {
    let h = Holder::new();
    let mut t = baseline();
    t["subject"]["patient"] = json!({"resourceType": "Patient", "birthDate": "2001-01-01", "name": [{"family": "Nobody", "given": ["No"]}]});
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Unable to resolve ticket subject"),
    );
    let twin = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "Patient/elena2", "resource":
        {"resourceType": "Patient", "id": "elena2", "birthDate": "1989-09-14", "name": [{"family": "Reyes", "given": ["Elena"]}],
         "identifier": [{"system": "http://hospital.example.org/mrn", "value": "A12345"}]}}]});
    let h = Holder::build(&config_toml(""), fixture_store(&[twin]));
    assert_error(
        &err(&h, &baseline()).await,
        400,
        "invalid_grant",
        Some("Ambiguous ticket subject match"),
    );
}

#[tokio::test]
async fn pt_subj_04_05_hints() {
    let h = Holder::new();
    let mut t = baseline();
    t["subject"]["patient_reference"] = json!(format!("{BASE}/Patient/does-not-exist"));
    ok(&h, &t).await;
    t["subject"]["patient_reference"] = json!(format!("{BASE}/Patient/maria"));
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Unable to resolve ticket subject"),
    );
}

// ---- Access (PT-ACC, PT-DHF) ------------------------------------------------------------

#[tokio::test]
async fn pt_acc_02_03_04_05_scope_intersection() {
    let h = Holder::new();
    let t = mint(&baseline());
    let (_, b) = h.redeem(&t, &[("scope", "patient/Condition.rs")]).await;
    assert_eq!(b["scope"], "patient/Condition.rs");
    let (_, b) = h.redeem(&t, &[("scope", "patient/*.rs")]).await;
    assert_eq!(b["scope"], "patient/Condition.rs patient/Observation.rs");
    assert_error(
        &h.redeem(&t, &[("scope", "patient/Procedure.rs")]).await,
        400,
        "invalid_scope",
        Some("No authorized scopes"),
    );
    assert_error(
        &h.redeem(&t, &[("scope", "foo")]).await,
        400,
        "invalid_scope",
        None,
    );
}

#[tokio::test]
async fn pt_acc_07_client_eligibility() {
    let toml = config_toml("").replace(
        "client_id = \"app1\"\njwks_file = \"client.json\"",
        "client_id = \"app1\"\njwks_file = \"client.json\"\nscopes = [\"patient/Condition.rs\"]",
    );
    let h = Holder::with_config(&toml);
    let body = ok(&h, &baseline()).await;
    assert_eq!(body["scope"], "patient/Condition.rs");
}

#[tokio::test]
async fn pt_acc_11_lifetime_bounded_by_ticket_exp() {
    let h = Holder::new();
    let mut t = baseline();
    t["exp"] = json!(NOW + 60);
    assert_eq!(ok(&h, &t).await["expires_in"], 60);
}

#[tokio::test]
async fn pt_dhf_01_02_data_holder_filter() {
    let h = Holder::new();
    let mut t = baseline();
    t["access"]["data_holder_filter"] =
        json!([{"kind": "jurisdiction", "address": {"country": "US", "state": "CA"}}]);
    ok(&h, &t).await;
    t["access"]["data_holder_filter"] =
        json!([{"kind": "jurisdiction", "address": {"country": "US", "state": "TX"}}]);
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Data Holder not within ticket data_holder_filter"),
    );
}

#[tokio::test]
async fn pt_life_01_tickets_are_reusable() {
    let h = Holder::new();
    let t = mint(&baseline());
    assert_eq!(h.redeem(&t, &[]).await.0, 200);
    assert_eq!(h.redeem(&t, &[]).await.0, 200);
}

// ---- Ordering (PT-VAL-15, PT-CA-07) -----------------------------------------------------

#[tokio::test]
async fn pt_val_15_step_order_decides_the_error() {
    let h = Holder::new();
    let expired = |t: &mut Value| t["exp"] = json!(NOW - 31);
    // signature + expired ⇒ signature.
    let mut t = baseline();
    expired(&mut t);
    let bad_sig = sign_with_header(
        &keys().other,
        json!({"kid": keys().issuer.kid().unwrap()}),
        &t,
    );
    assert_error(
        &h.redeem(&bad_sig, &[]).await,
        400,
        "invalid_grant",
        Some("Ticket signature verification failed"),
    );
    // unknown type + expired ⇒ unsupported type.
    let mut t = baseline();
    expired(&mut t);
    t["ticket_type"] = json!("https://example.org/x");
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Unsupported ticket type"),
    );
    // type not trusted + expired ⇒ not trusted.
    let mut t = baseline();
    expired(&mut t);
    t["iss"] = json!(SELF_ONLY_ISSUER);
    t["ticket_type"] = json!(T_DELEGATED);
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Ticket issuer not trusted: https://selfonly.example"),
    );
    // expired + revoked ⇒ expired (the status host is never asked).
    let mut t = baseline();
    expired(&mut t);
    t["revocation"] = json!({"url": "https://127.0.0.1:9/status", "index": 1});
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Ticket expired"),
    );
    // aud mismatch + revoked ⇒ aud.
    let mut t = baseline();
    t["aud"] = json!("https://other.example");
    t["revocation"] = json!({"url": "https://127.0.0.1:9/status", "index": 1});
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Ticket not valid for this server"),
    );
    // binding mismatch + bad evidence ⇒ binding.
    let mut t = with_evidence("garbage");
    t["presenter_binding"]["jkt"] = json!(keys().other.public().thumbprint());
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Ticket presenter binding mismatch"),
    );
    // bad evidence + unknown access member ⇒ evidence.
    let mut t = with_evidence("garbage");
    t["access"]["foo"] = json!(1);
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Invalid identity evidence"),
    );
    // unknown access member + missing required claim ⇒ unsupported constraint.
    let mut t = baseline();
    t["access"]["foo"] = json!(1);
    t["access"].as_object_mut().unwrap().remove("smart_scopes");
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Unsupported access constraint: foo"),
    );
    // data_holder_filter mismatch + missing required claim ⇒ the filter (PT-DHF, OP-07: the
    // filter match is part of step 12, before the type's required claims of step 13).
    let mut t = baseline();
    t["access"]["data_holder_filter"] =
        json!([{"kind": "jurisdiction", "address": {"country": "US", "state": "TX"}}]);
    t["access"].as_object_mut().unwrap().remove("smart_scopes");
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Data Holder not within ticket data_holder_filter"),
    );
    // missing required claim + unresolvable subject ⇒ required claim.
    let mut t = baseline();
    t["access"].as_object_mut().unwrap().remove("smart_scopes");
    t["subject"]["patient"] = json!({"resourceType": "Patient", "birthDate": "2001-01-01", "name": [{"family": "Nobody"}]});
    assert_error(
        &err(&h, &t).await,
        400,
        "invalid_grant",
        Some("Ticket missing required claim: smart_scopes"),
    );
    // unresolvable subject + empty scope ⇒ subject.
    let mut t = baseline();
    t["subject"]["patient"] = json!({"resourceType": "Patient", "birthDate": "2001-01-01", "name": [{"family": "Nobody"}]});
    let (s, b) = h
        .redeem(&mint(&t), &[("scope", "patient/Procedure.rs")])
        .await;
    assert_error(
        &(s, b),
        400,
        "invalid_grant",
        Some("Unable to resolve ticket subject"),
    );
}

// ---- Audit (PT-AUDIT) --------------------------------------------------------------------

#[tokio::test]
async fn pt_audit_01_02_03_every_decision_is_recorded() {
    let h = Holder::new();
    let t = baseline();
    let jti = t["jti"].as_str().unwrap().to_owned();
    let ticket = mint(&t);
    let (_, body) = h.redeem(&ticket, &[]).await;
    let mut bad = t.clone();
    bad["aud"] = json!("https://other.example");
    let _ = err(&h, &bad).await;
    let rows = h.audit(&jti);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].outcome, "accepted");
    assert_eq!(rows[0].iss.as_deref(), Some(ISSUER));
    assert_eq!(rows[0].ticket_type.as_deref(), Some(T_SELF));
    assert_eq!(rows[0].client_id.as_deref(), Some("app1"));
    assert_eq!(rows[0].patient.as_deref(), Some("elena"));
    assert_eq!(
        rows[0].scopes.as_deref(),
        Some("patient/Condition.rs patient/Observation.rs")
    );
    assert_eq!(rows[0].binding.as_deref(), Some("jkt:match"));
    assert_eq!(rows[1].outcome, "rejected");
    assert_eq!(rows[1].step.as_deref(), Some("envelope"));
    assert_eq!(rows[1].error.as_deref(), Some("invalid_grant"));
    // PT-AUDIT-03: neither the ticket nor the access token is stored.
    let dump = serde_json::to_string(&rows).unwrap();
    assert!(!dump.contains(&ticket[..40]));
    assert!(!dump.contains(body["access_token"].as_str().unwrap()));
    // Quality gap: requester and measure (PT-AUDIT-01).
    let qg = quality_gap();
    let (s, _) = h.redeem_as("payer", &keys().payer, &mint(&qg), &[]).await;
    assert_eq!(s, 200);
    let rows = h.audit(qg["jti"].as_str().unwrap());
    assert!(rows[0].requester.as_deref().unwrap().contains(PAYER_NPI));
    assert!(rows[0].details.contains("CMS122v12"));
}

#[tokio::test]
async fn admin_audit_endpoint_requires_the_secret() {
    let h = Holder::new();
    let t = baseline();
    let jti = t["jti"].as_str().unwrap().to_owned();
    let _ = ok(&h, &t).await;
    let path = format!("/fhir/admin/audit?jti={jti}");
    let (s, _, _) = h.get(&path, &[]).await;
    assert_eq!(s, 401);
    let (s, _, _) = h
        .get(
            &path,
            &[("authorization", "Bearer admin-secret-0123456780")],
        )
        .await;
    assert_eq!(s, 401);
    let (s, _, b) = h
        .get(
            &path,
            &[("authorization", "Bearer admin-secret-0123456789")],
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["records"][0]["jti"], jti);
    // How the binding was checked is part of what the operator sees (issue 10).
    let details = b["records"][0]["details"].as_str().unwrap();
    assert!(details.contains(r#""binding_check":"key""#), "{details}");
}

// ---- Discovery (PT-DISC) -----------------------------------------------------------------

#[tokio::test]
async fn pt_disc_01_02_04_05_smart_configuration() {
    let h = Holder::new();
    let (s, _, b) = h.get("/fhir/.well-known/smart-configuration", &[]).await;
    assert_eq!(s, 200);
    assert_eq!(b["token_endpoint"], format!("{BASE}/token"));
    assert!(
        b["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(TOKEN_EXCHANGE))
    );
    assert_eq!(
        b["smart_permission_ticket_types_supported"],
        json!([T_SELF, T_DELEGATED, T_CLAIMS, T_QG])
    );
    assert_eq!(
        b["token_endpoint_auth_methods_supported"],
        json!(["private_key_jwt"])
    );
    assert_eq!(
        b["token_endpoint_auth_signing_alg_values_supported"],
        json!(["ES256", "ES384", "RS256"])
    );
    // No trust framework, no asserted identity, registration off: key bindings only.
    assert_eq!(b["supported_client_binding_types"], json!(["jkt"]));
    assert!(b.get("registration_endpoint").is_none(), "{b}");
    // Never built from request headers.
    let (_, _, b2) = h
        .get(
            "/fhir/.well-known/smart-configuration",
            &[
                ("host", "evil.example"),
                ("x-forwarded-host", "evil.example"),
            ],
        )
        .await;
    assert_eq!(b2, b);
}

/// Changes one character in the middle of the signature segment.
fn flip_signature(jws: &str) -> String {
    let (head, sig) = jws.rsplit_once('.').unwrap();
    let mut chars: Vec<char> = sig.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    format!("{head}.{}", chars.into_iter().collect::<String>())
}
