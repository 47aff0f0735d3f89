//! Refresh tokens from `continuation` tickets (PT-LIFE-03..07, PT-REV-09, PT-FIELD-07): issued
//! only when enabled and the ticket carries `continuation`; rotated on use with reuse
//! detection; bound to the redeeming client and its DPoP key; revocation re-checked against a
//! real status list on loopback HTTP; grant frozen at redemption; refused after
//! `refresh_until`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tessera_holder::trust::status_list::encode_body;
use tessera_jose::{Alg, PrivateJwk};

use crate::token_support::*;

const INDEX: u64 = 5;
const REFRESH: &str = "refresh_token";
const DAY: i64 = 86_400;

/// A status list whose bit [`INDEX`] is set while `revoked`; 503 while not `up`. Never
/// cacheable, so each check reaches it.
struct StatusOrigin {
    up: AtomicBool,
    revoked: AtomicBool,
}

async fn status(State(o): State<Arc<StatusOrigin>>) -> Response {
    if !o.up.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let mut bits = vec![0u8; 16];
    if o.revoked.load(Ordering::SeqCst) {
        bits[0] = 1 << INDEX;
    }
    let mut r = encode_body(Some("k1"), &bits).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn spawn_status() -> (Arc<StatusOrigin>, String) {
    let origin = Arc::new(StatusOrigin {
        up: AtomicBool::new(true),
        revoked: AtomicBool::new(false),
    });
    let app = Router::new()
        .route("/status", get(status))
        .with_state(origin.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (origin, format!("http://{addr}/status"))
}

/// A Data Holder reading status lists over loopback HTTP, with continuation on or off.
fn holder(continuation: bool) -> Holder {
    let extra = if continuation {
        "[continuation]\nenabled = true\nrefresh_token_ttl_seconds = 604800\n"
    } else {
        ""
    };
    let toml = config_toml(extra).replace(
        "leeway_seconds = 30",
        "leeway_seconds = 30\ninsecure_allow_loopback_http = true",
    );
    Holder::with_config(&toml)
}

/// The baseline ticket, revocable at `status_url`, with `continuation` when `refresh_until`
/// is given (`Some(None)` = indefinite).
fn ticket(status_url: &str, refresh_until: Option<Option<i64>>) -> Value {
    let mut t = baseline();
    t["revocation"] = json!({"url": status_url, "index": INDEX});
    if let Some(until) = refresh_until {
        t["continuation"] = json!({ "refresh_until": until });
    }
    t
}

impl Holder {
    async fn refresh(&self, token: &str, extra: &[(&str, &str)]) -> (StatusCode, Value) {
        self.refresh_as("app1", &keys().client, token, extra, None)
            .await
    }

    async fn refresh_as(
        &self,
        client: &str,
        key: &PrivateJwk,
        token: &str,
        extra: &[(&str, &str)],
        dpop: Option<&str>,
    ) -> (StatusCode, Value) {
        let assertion = self.assertion(client, key);
        let mut form = vec![
            ("grant_type", REFRESH),
            ("refresh_token", token),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion.as_str()),
        ];
        form.extend_from_slice(extra);
        let headers: Vec<(&str, &str)> = dpop.iter().map(|p| ("dpop", *p)).collect();
        let (status, h, body) = self.post("/fhir/token", &form, &headers).await;
        assert_eq!(h.get("cache-control").unwrap(), "no-store");
        (status, body)
    }

    async fn fhir_status(&self, path: &str, access_token: &str) -> StatusCode {
        let auth = format!("Bearer {access_token}");
        self.get(path, &[("authorization", auth.as_str())]).await.0
    }
}

fn rt(body: &Value) -> String {
    body["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no refresh_token in {body}"))
        .to_owned()
}

#[tokio::test]
async fn pt_life_04_continuation_ticket_yields_a_rotating_refresh_token() {
    let (_origin, url) = spawn_status().await;
    let h = holder(true);
    let t = ticket(&url, Some(Some(NOW + 30 * DAY)));
    let jti = t["jti"].as_str().unwrap().to_owned();
    let (s, body) = h.redeem(&mint(&t), &[]).await;
    assert_eq!(s, 200, "{body}");
    let first = rt(&body);
    // Stored only as its hash (like access tokens).
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, first.as_bytes());
    assert!(h.db.find_refresh(hash.as_ref()).unwrap().is_some());
    assert!(h.db.find_refresh(first.as_bytes()).unwrap().is_none());

    // Two days later the ticket's `exp` (1 h) has passed; continuation carries on.
    h.clock.advance(2 * DAY);
    let (s, body) = h.refresh(&first, &[]).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["patient"], "elena");
    assert_eq!(body["scope"], "patient/Condition.rs patient/Observation.rs");
    assert_eq!(body["expires_in"], 300);
    let second = rt(&body);
    assert_ne!(second, first, "rotated on use");
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(h.fhir_status("/fhir/Observation/obs-in", access).await, 200);

    // The successor works; the audit trail has the redemption and each refresh under the jti.
    let (s, body) = h.refresh(&second, &[]).await;
    assert_eq!(s, 200, "{body}");
    let rows = h.audit(&jti);
    let events: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.event.as_str(), r.outcome.as_str()))
        .collect();
    assert_eq!(
        events,
        [
            ("token_exchange", "accepted"),
            ("refresh_token", "accepted"),
            ("refresh_token", "accepted")
        ]
    );
    assert_eq!(rows[1].client_id.as_deref(), Some("app1"));
    assert_eq!(rows[1].patient.as_deref(), Some("elena"));

    // `refresh_until: null` is indefinite: a refresh token is issued and lives its full TTL.
    h.clock.set(NOW);
    let (s, body) = h.redeem(&mint(&ticket(&url, Some(None))), &[]).await;
    assert_eq!(s, 200, "{body}");
    h.clock.advance(6 * DAY);
    assert_eq!(h.refresh(&rt(&body), &[]).await.0, 200);
}

#[tokio::test]
async fn pt_field_07_no_refresh_token_without_continuation_or_with_the_feature_off() {
    let (_origin, url) = spawn_status().await;
    // Feature on, ticket without continuation: no refresh token (PT-LIFE-03: nothing can be
    // used past `exp`).
    let on = holder(true);
    let (s, body) = on.redeem(&mint(&ticket(&url, None)), &[]).await;
    assert_eq!(s, 200, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let (_, _, disc) = on.get("/fhir/.well-known/smart-configuration", &[]).await;
    assert_eq!(
        disc["grant_types_supported"],
        json!([TOKEN_EXCHANGE, "refresh_token"])
    );

    // Feature off: continuation is ignored wholesale, never a refresh token, and the grant
    // type is neither accepted nor advertised.
    let off = holder(false);
    let (s, body) = off
        .redeem(&mint(&ticket(&url, Some(Some(NOW + 30 * DAY)))), &[])
        .await;
    assert_eq!(s, 200, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert_error(
        &off.refresh("anything", &[]).await,
        400,
        "unsupported_grant_type",
        None,
    );
    let (_, _, disc) = off.get("/fhir/.well-known/smart-configuration", &[]).await;
    assert_eq!(disc["grant_types_supported"], json!([TOKEN_EXCHANGE]));

    // A `refresh_until` already past at redemption: the access token only.
    let (s, body) = on
        .redeem(&mint(&ticket(&url, Some(Some(NOW - 10)))), &[])
        .await;
    assert_eq!(s, 200, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
}

#[tokio::test]
async fn pt_life_06_continuation_without_revocation_is_invalid_grant() {
    let h = holder(true);
    let mut t = baseline();
    t["continuation"] = json!({"refresh_until": NOW + DAY});
    assert_error(
        &h.redeem(&mint(&t), &[]).await,
        400,
        "invalid_grant",
        Some("Cannot enforce kernel field: continuation"),
    );
}

#[tokio::test]
async fn pt_rev_09_refresh_rechecks_the_source_tickets_revocation() {
    let (origin, url) = spawn_status().await;
    let h = holder(true);
    let t = ticket(&url, Some(Some(NOW + 30 * DAY)));
    let jti = t["jti"].as_str().unwrap().to_owned();
    let (s, body) = h.redeem(&mint(&t), &[]).await;
    assert_eq!(s, 200, "{body}");
    let token = rt(&body);

    // Status undeterminable: fail closed, but the token survives for a later attempt.
    origin.up.store(false, Ordering::SeqCst);
    assert_error(
        &h.refresh(&token, &[]).await,
        400,
        "invalid_grant",
        Some("Ticket revocation status could not be determined"),
    );
    origin.up.store(true, Ordering::SeqCst);
    let (s, body) = h.refresh(&token, &[]).await;
    assert_eq!(s, 200, "{body}");
    let token = rt(&body);

    // Revoked after issuance: refused, and the family stays dead even if the bit is cleared.
    origin.revoked.store(true, Ordering::SeqCst);
    assert_error(
        &h.refresh(&token, &[]).await,
        400,
        "invalid_grant",
        Some("Ticket has been revoked"),
    );
    origin.revoked.store(false, Ordering::SeqCst);
    assert_error(
        &h.refresh(&token, &[]).await,
        400,
        "invalid_grant",
        Some("Refresh token has been revoked"),
    );
    let rows = h.audit(&jti);
    let revoked = rows
        .iter()
        .find(|r| r.error_description.as_deref() == Some("Ticket has been revoked"))
        .unwrap();
    assert_eq!(revoked.event, "refresh_token");
    assert_eq!(revoked.step.as_deref(), Some("revocation"));
}

#[tokio::test]
async fn pt_life_05_refused_after_refresh_until_and_no_token_outlives_it() {
    let (_origin, url) = spawn_status().await;
    let h = holder(true);
    let until = NOW + 2 * DAY;
    let (s, body) = h.redeem(&mint(&ticket(&url, Some(Some(until)))), &[]).await;
    assert_eq!(s, 200, "{body}");
    let token = rt(&body);
    // 100 s before refresh_until: the access token is cut to end there (TTL is 300 s).
    h.clock.set(until - 100);
    let (s, body) = h.refresh(&token, &[]).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["expires_in"], 100);
    let token = rt(&body);
    h.clock.set(until);
    assert_error(
        &h.refresh(&token, &[]).await,
        400,
        "invalid_grant",
        Some("Ticket continuation has ended (refresh_until)"),
    );
}

#[tokio::test]
async fn pt_life_07_refreshed_grant_stays_within_the_redemption_grant() {
    let (_origin, url) = spawn_status().await;
    let h = holder(true);
    let (s, body) = h
        .redeem(
            &mint(&ticket(&url, Some(Some(NOW + 30 * DAY)))),
            &[("scope", "patient/Observation.rs")],
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["scope"], "patient/Observation.rs");
    let token = rt(&body);
    // A broader request gets the intersection with the redemption-time grant only.
    let (s, body) = h.refresh(&token, &[("scope", "patient/*.rs")]).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["scope"], "patient/Observation.rs");
    let access = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(h.fhir_status("/fhir/Condition", &access).await, 403);
    // The data_period of the ticket still applies to refreshed tokens.
    assert_eq!(
        h.fhir_status("/fhir/Observation/obs-in", &access).await,
        200
    );
    assert_eq!(
        h.fhir_status("/fhir/Observation/obs-old", &access).await,
        404
    );
    let token = rt(&body);
    // A type outside the grant: nothing left, `invalid_scope`, token not consumed.
    assert_error(
        &h.refresh(&token, &[("scope", "patient/Condition.rs")])
            .await,
        400,
        "invalid_scope",
        None,
    );
    // Narrowing to reads only, then back to the full grant (the family keeps the original).
    let (s, body) = h
        .refresh(&token, &[("scope", "patient/Observation.r")])
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["scope"], "patient/Observation.r");
    let (s, body) = h.refresh(&rt(&body), &[]).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["scope"], "patient/Observation.rs");
}

#[tokio::test]
async fn reused_refresh_token_revokes_the_whole_family() {
    let (_origin, url) = spawn_status().await;
    let h = holder(true);
    let t = ticket(&url, Some(Some(NOW + 30 * DAY)));
    let jti = t["jti"].as_str().unwrap().to_owned();
    let (_, body) = h.redeem(&mint(&t), &[]).await;
    let old = rt(&body);
    let (s, body) = h.refresh(&old, &[]).await;
    assert_eq!(s, 200, "{body}");
    let current = rt(&body);
    // The old one again (a thief or a replay): refused and the family revoked, so even the
    // legitimate holder of the current token must redeem the ticket again.
    let reuse = "Refresh token reuse detected; every token of this grant is revoked";
    assert_error(
        &h.refresh(&old, &[]).await,
        400,
        "invalid_grant",
        Some(reuse),
    );
    assert_error(
        &h.refresh(&current, &[]).await,
        400,
        "invalid_grant",
        Some("Refresh token has been revoked"),
    );
    let row = h
        .audit(&jti)
        .into_iter()
        .find(|r| r.error_description.as_deref() == Some(reuse))
        .unwrap();
    assert_eq!(row.event, "refresh_token");
    assert_eq!(row.outcome, "rejected");
    assert_eq!(row.client_id.as_deref(), Some("app1"));
}

#[tokio::test]
async fn refresh_re_authenticates_the_redeeming_client() {
    let (_origin, url) = spawn_status().await;
    let h = holder(true);
    let (_, body) = h
        .redeem(&mint(&ticket(&url, Some(Some(NOW + 30 * DAY)))), &[])
        .await;
    let token = rt(&body);
    // Another registered client holding the token: refused (RFC 6749 §6).
    assert_error(
        &h.refresh_as("payer", &keys().payer, &token, &[], None)
            .await,
        400,
        "invalid_grant",
        Some("Refresh token was not issued to this client"),
    );
    // The right client id with a key it does not hold: client authentication fails.
    assert_error(
        &h.refresh_as("app1", &keys().other, &token, &[], None).await,
        401,
        "invalid_client",
        None,
    );
    // No client authentication at all.
    let (s, _, body) = h
        .post(
            "/fhir/token",
            &[("grant_type", REFRESH), ("refresh_token", token.as_str())],
            &[],
        )
        .await;
    assert_error(&(s, body), 401, "invalid_client", None);
    // Unknown and missing tokens, token-exchange parameters mixed in.
    assert_error(
        &h.refresh("not-a-token", &[]).await,
        400,
        "invalid_grant",
        Some("Invalid refresh token"),
    );
    assert_error(&h.refresh("", &[]).await, 400, "invalid_request", None);
    assert_error(
        &h.refresh(&token, &[("subject_token", "x")]).await,
        400,
        "invalid_request",
        None,
    );
    // None of that consumed it.
    assert_eq!(h.refresh(&token, &[]).await.0, 200);
}

fn proof(key: &PrivateJwk, htu: &str, now: i64) -> String {
    let claims = json!({"htm": "POST", "htu": htu, "iat": now,
        "jti": uuid::Uuid::new_v4().to_string()});
    sign_with_header(
        key,
        json!({"typ": "dpop+jwt", "jwk": key.public().to_value()}),
        &claims,
    )
}

#[tokio::test]
async fn dpop_bound_redemptions_stay_bound_on_refresh() {
    let (_origin, url) = spawn_status().await;
    let h = holder(true);
    let dpop_key = PrivateJwk::generate(Alg::Es256).unwrap();
    let jwt = mint(&ticket(&url, Some(Some(NOW + 30 * DAY))));
    let assertion = h.assertion("app1", &keys().client);
    let p = proof(&dpop_key, &h.token_url(), h.now());
    let form = [
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token_type", SUBJECT_TOKEN_TYPE),
        ("subject_token", jwt.as_str()),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.as_str()),
    ];
    let (s, _, body) = h.post("/fhir/token", &form, &[("dpop", p.as_str())]).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let token = rt(&body);

    assert_error(
        &h.refresh(&token, &[]).await,
        400,
        "invalid_dpop_proof",
        None,
    );
    let other = PrivateJwk::generate(Alg::Es256).unwrap();
    let p = proof(&other, &h.token_url(), h.now());
    assert_error(
        &h.refresh_as("app1", &keys().client, &token, &[], Some(&p))
            .await,
        400,
        "invalid_dpop_proof",
        None,
    );
    let p = proof(&dpop_key, &h.token_url(), h.now());
    let (s, body) = h
        .refresh_as("app1", &keys().client, &token, &[], Some(&p))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    // The refreshed access token is sender-constrained: Bearer use is refused.
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(h.fhir_status("/fhir/Observation", access).await, 401);

    // An unbound family does not take a proof.
    let (_, body) = h
        .redeem(&mint(&ticket(&url, Some(Some(NOW + 30 * DAY)))), &[])
        .await;
    let p = proof(&dpop_key, &h.token_url(), h.now());
    assert_error(
        &h.refresh_as("app1", &keys().client, &rt(&body), &[], Some(&p))
            .await,
        400,
        "invalid_dpop_proof",
        None,
    );
}
