//! Every refusal of the FHIR API and of the admin endpoints is audited before it is sent
//! (PT-RS-01's 401s and the grant's 403/404 included), with the check that refused, the code
//! sent and, when the caller presented a known token, that token's ticket, client and patient
//! — never the token itself (PT-AUDIT-03). Successful and public requests write no row; a
//! refusal whose row cannot be written is a 500, never an unaudited refusal.

use std::sync::Arc;

use serde_json::{Value, json};
use tessera_jose::{Alg, PrivateJwk};
use tessera_store::audit::AuditRecord;
use tessera_store::token_db::TokenDb;

use crate::token_support::*;

/// The `fhir_access` / `admin_access` rows, oldest first.
fn access_rows(h: &Holder) -> Vec<AuditRecord> {
    let mut rows: Vec<AuditRecord> =
        h.db.audit_recent()
            .unwrap()
            .into_iter()
            .filter(|r| r.event == "fhir_access" || r.event == "admin_access")
            .collect();
    rows.sort_by_key(|r| r.id);
    rows
}

/// Sends `GET path` with `headers`, expects `status`, and returns the one row it added with
/// its details.
async fn refused(
    h: &Holder,
    path: &str,
    headers: &[(&str, &str)],
    status: u16,
) -> (AuditRecord, Value) {
    let before = access_rows(h).len();
    let (s, _, b) = h.get(path, headers).await;
    assert_eq!(s, status, "{path}: {b}");
    let rows = access_rows(h);
    assert_eq!(rows.len(), before + 1, "{rows:#?}");
    let row = rows.last().unwrap().clone();
    assert_eq!(row.outcome, "rejected");
    let details = serde_json::from_str(&row.details).unwrap();
    (row, details)
}

/// (step, error, error_description) of a row.
fn why(row: &AuditRecord) -> (&str, &str, &str) {
    (
        row.step.as_deref().unwrap_or(""),
        row.error.as_deref().unwrap_or(""),
        row.error_description.as_deref().unwrap_or(""),
    )
}

async fn bearer(h: &Holder) -> (String, String) {
    let ticket = baseline();
    let jti = ticket["jti"].as_str().unwrap().to_owned();
    let (s, body) = h.redeem(&mint(&ticket), &[]).await;
    assert_eq!(s, 200, "{body}");
    (body["access_token"].as_str().unwrap().to_owned(), jti)
}

#[tokio::test]
async fn pt_rs_01_refused_credentials_are_audited_with_what_was_wrong() {
    let h = Holder::new();
    // No credential: the challenge names no error (RFC 6750 §3.1); the row says "login".
    let (row, d) = refused(&h, "/fhir/Observation", &[], 401).await;
    assert_eq!(row.event, "fhir_access");
    assert_eq!(
        why(&row),
        ("access_token", "login", "no access token presented")
    );
    assert_eq!(
        d,
        json!({"method": "GET", "path": "/fhir/Observation", "status": 401})
    );
    assert_eq!((row.client_id, row.jti, row.patient), (None, None, None));
    // An unknown token.
    let unknown = [("authorization", "Bearer not-a-token")];
    let (row, d) = refused(&h, "/fhir/Observation", &unknown, 401).await;
    assert_eq!(
        why(&row),
        (
            "access_token",
            "invalid_token",
            "unknown, expired or revoked access token"
        )
    );
    assert_eq!(
        (d["scheme"].as_str(), row.client_id),
        (Some("Bearer"), None)
    );
    // Two Authorization headers: 400 invalid_request.
    let two = [("authorization", "Bearer a"), ("authorization", "Bearer b")];
    let (row, d) = refused(&h, "/fhir/Observation", &two, 400).await;
    assert_eq!(
        why(&row),
        (
            "request",
            "invalid_request",
            "more than one Authorization header"
        )
    );
    assert_eq!(d["status"], 400);
    // A Bearer token under the DPoP scheme names the token's ticket, client and patient.
    let (token, jti) = bearer(&h).await;
    let as_dpop = format!("DPoP {token}");
    let (row, _) = refused(&h, "/fhir/Observation", &[("authorization", &as_dpop)], 401).await;
    assert_eq!(
        why(&row),
        (
            "access_token",
            "invalid_token",
            "Bearer access token presented under the DPoP scheme"
        )
    );
    assert_eq!(
        (
            row.jti.as_deref(),
            row.client_id.as_deref(),
            row.patient.as_deref()
        ),
        (Some(jti.as_str()), Some("app1"), Some("elena"))
    );
    // An expired token is unknown.
    h.clock.advance(301);
    let as_bearer = format!("Bearer {token}");
    let (row, _) = refused(
        &h,
        "/fhir/Observation",
        &[("authorization", &as_bearer)],
        401,
    )
    .await;
    assert_eq!(why(&row).1, "invalid_token");
    // PT-AUDIT-03: the token is nowhere in the audit trail.
    let dump = serde_json::to_string(&h.db.audit_recent().unwrap()).unwrap();
    assert!(!dump.contains(&token));
}

#[tokio::test]
async fn refusals_by_the_grant_and_malformed_requests_are_audited_with_the_token_facts() {
    let h = Holder::new();
    let (token, jti) = bearer(&h).await;
    let auth = format!("Bearer {token}");
    let auth = [("authorization", auth.as_str())];
    // Granted and public requests write no row.
    for path in [
        "/fhir/Observation",
        "/fhir/Observation/obs-in",
        "/fhir/metadata",
    ] {
        let (s, _, b) = h.get(path, &auth).await;
        assert_eq!(s, 200, "{path}: {b}");
    }
    let (s, _, _) = h.get("/fhir/metadata", &[]).await;
    assert_eq!(s, 200);
    assert_eq!(access_rows(&h), vec![]);
    // A type the grant lacks: 403 at step `grant`.
    let (row, d) = refused(&h, "/fhir/MedicationRequest", &auth, 403).await;
    assert_eq!((why(&row).0, why(&row).1), ("grant", "forbidden"));
    assert_eq!(
        (row.jti.as_deref(), row.client_id.as_deref()),
        (Some(jti.as_str()), Some("app1"))
    );
    let mut scopes: Vec<&str> = row.scopes.as_deref().unwrap().split(' ').collect();
    scopes.sort();
    assert_eq!(scopes, ["patient/Condition.rs", "patient/Observation.rs"]);
    assert_eq!(d["path"], "/fhir/MedicationRequest");
    // The ticket's audit trail (`tessera audit --jti`) holds its redemption and this refusal.
    let trail: Vec<String> = h.audit(&jti).into_iter().map(|r| r.event).collect();
    assert_eq!(trail, ["token_exchange", "fhir_access"]);
    // A record outside the grant (another patient's; one outside data_period): 404.
    for id in ["obs-maria", "obs-old"] {
        let path = format!("/fhir/Observation/{id}");
        let (row, d) = refused(&h, &path, &auth, 404).await;
        assert_eq!((why(&row).0, why(&row).1), ("resource", "not-found"));
        assert_eq!(
            (d["path"].as_str(), row.patient.as_deref()),
            (Some(path.as_str()), Some("elena"))
        );
    }
    // A search the API cannot run: 400 at step `request`; the query is not recorded.
    let bad = "/fhir/Observation?no-such-param=secret-value";
    let (row, d) = refused(&h, bad, &auth, 400).await;
    assert_eq!((why(&row).0, why(&row).1), ("request", "invalid"));
    assert_eq!(d["path"], "/fhir/Observation");
    assert!(!row.details.contains("secret-value"));
    // An unknown route behind the token is a 404 like any record outside the grant.
    let (row, _) = refused(&h, "/fhir/Observation/a/b/c", &auth, 404).await;
    assert_eq!((why(&row).0, why(&row).1), ("resource", "not-found"));
    // The node's metrics count each durable refusal row by event and step.
    let metrics = h.state.metrics().render();
    for (step, n) in [("grant", 1), ("resource", 3), ("request", 1)] {
        let line = format!(
            "tessera_token_endpoint_decisions_total{{event=\"fhir_access\",outcome=\"rejected\",step=\"{step}\"}} {n}"
        );
        assert!(metrics.contains(&line), "{line} not in\n{metrics}");
    }
}

#[tokio::test]
async fn a_rejected_dpop_proof_is_audited_at_step_dpop() {
    let h = Holder::new();
    let dpop_key = PrivateJwk::generate(Alg::Es256).unwrap();
    let token = dpop_token(&h, &dpop_key, &mint(&baseline())).await;
    let auth = format!("DPoP {token}");
    let url = format!("{BASE}/Observation");
    let by_other = dpop_proof(
        &PrivateJwk::generate(Alg::Es256).unwrap(),
        "GET",
        &url,
        h.now(),
        Some(&token),
    );
    let as_bearer = format!("Bearer {token}");
    for (headers, want) in [
        (
            vec![("authorization", auth.as_str())],
            ("dpop", "invalid_dpop_proof", "no DPoP proof"),
        ),
        (
            vec![
                ("authorization", auth.as_str()),
                ("dpop", by_other.as_str()),
            ],
            (
                "dpop",
                "invalid_dpop_proof",
                "proof key is not the token's key",
            ),
        ),
        (
            vec![("authorization", as_bearer.as_str())],
            (
                "access_token",
                "invalid_token",
                "DPoP-bound access token presented as Bearer",
            ),
        ),
    ] {
        let (row, _) = refused(&h, "/fhir/Observation", &headers, 401).await;
        assert_eq!(why(&row), want);
        assert_eq!(row.client_id.as_deref(), Some("app1"));
    }
}

#[tokio::test]
async fn admin_refusals_are_audited_and_the_secret_never_is() {
    let secret = "admin-secret-0123456789"; // config_toml's
    let h = Holder::new();
    let (row, d) = refused(&h, "/fhir/admin/audit", &[], 401).await;
    assert_eq!(row.event, "admin_access");
    assert_eq!(
        why(&row),
        ("admin_token", "invalid_token", "no admin credential")
    );
    assert_eq!(
        d,
        json!({"method": "GET", "path": "/fhir/admin/audit", "status": 401})
    );
    let wrong = [("authorization", "Bearer admin-secret-0123456780")];
    let (row, _) = refused(&h, "/fhir/admin/audit", &wrong, 401).await;
    assert_eq!(why(&row).2, "wrong admin credential");
    // The operator with the secret is answered, and reads both refusals.
    let ok = format!("Bearer {secret}");
    let (s, _, b) = h
        .get("/fhir/admin/audit", &[("authorization", ok.as_str())])
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(access_rows(&h).len(), 2);
    let dump = serde_json::to_string(&h.db.audit_recent().unwrap()).unwrap();
    assert!(!dump.contains("admin-secret-012345678"));
}

#[tokio::test]
async fn a_refusal_whose_row_cannot_be_written_is_a_500() {
    let h = Holder::build_on(&config_toml(""), fixture_store(&[]), |dir| {
        let path = dir.join("tokens.db");
        let db = Arc::new(TokenDb::open(&path).unwrap());
        // The database refuses this event's rows from now on, as a full or failing disk would.
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TRIGGER refuse_fhir_access BEFORE INSERT ON redemption_audit \
             WHEN NEW.event = 'fhir_access' BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
        )
        .unwrap();
        db
    });
    let (s, _, b) = h.get("/fhir/Observation", &[]).await;
    assert_eq!(s, 500, "{b}");
    assert_eq!(b["issue"][0]["code"], "exception");
    // Nothing else is affected: a redemption (its own event) is still answered and audited.
    let (token, _) = bearer(&h).await;
    let (s, _, _) = h
        .get(
            "/fhir/Observation",
            &[("authorization", format!("Bearer {token}").as_str())],
        )
        .await;
    assert_eq!(s, 200);
}
