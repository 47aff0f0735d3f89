//! `POST [base]/register`: dynamic client registration (UDAP DCR when the body carries a
//! `software_statement`, otherwise RFC 7591 for plain `private_key_jwt` clients), and the
//! RFC 7592 endpoint `[base]/register/{client_id}` ([`manage`]). Off unless `[registration]
//! enabled = true`; with an `initial_access_token` a registration request must carry it as a
//! Bearer token (compared in constant time). Every outcome is audited (event `registration`)
//! before the response leaves, and a `201` is only sent once the registration is durable: the
//! statement's `jti`, the registration change and the audit row commit as one write set
//! through the token endpoint's group-commit writer (docs/design/002-durable-writes.md).

pub mod error;
pub mod manage;
pub mod metadata;
pub mod rfc7591;
pub mod udap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq;
use tessera_store::audit::AuditRecord;
use tessera_store::durable::{OnceKey, RegistrationChange, SetOutcome, WriteSet};

use crate::registration::error::RegistrationError;
use crate::state::HolderState;
use crate::token::access_token::token_hash;
use crate::token::error::no_store;

/// Largest registration request body.
pub const MAX_REGISTRATION_BODY: usize = 64 * 1024;

/// A successful registration: status (201, or 200 for a cancellation) and body.
#[derive(Debug, Clone)]
pub struct Registered {
    /// HTTP status.
    pub status: StatusCode,
    /// Response body.
    pub body: Map<String, Value>,
    /// Audit facts.
    pub audit: Map<String, Value>,
    /// The registration change to commit with the audit row.
    pub change: RegistrationChange,
}

/// What the audit row should name for a refused request.
#[derive(Debug, Default)]
pub struct Trail {
    /// The (claimed) client id or statement `iss`.
    pub client_id: Option<String>,
    /// Extra facts.
    pub details: Map<String, Value>,
    /// The verified statement's `jti`, spent with the request's outcome (refused or not).
    pub statement_key: Option<OnceKey>,
}

/// Why a statement `jti` spent by a concurrent request (or another process) refuses this one.
fn statement_replayed() -> RegistrationError {
    RegistrationError::InvalidSoftwareStatement(
        "software statement: jti already used (replay)".into(),
    )
}

fn mark_refused(rec: &mut AuditRecord, e: &RegistrationError) {
    let (_, code, d) = e.oauth();
    rec.outcome = "rejected".into();
    rec.step = Some("registration".into());
    rec.error = Some(code.into());
    rec.error_description = Some(d);
}

/// The handler.
pub async fn register_handler(
    State(state): State<HolderState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = state.now();
    let mut trail = Trail::default();
    let result = register(&state, &headers, &body, now, &mut trail).await;
    let mut rec = AuditRecord {
        at: now,
        event: "registration".into(),
        client_id: trail.client_id.clone(),
        ..AuditRecord::default()
    };
    let mut set = WriteSet {
        now,
        ..WriteSet::default()
    };
    let result = match result {
        Ok(mut r) => {
            rec.outcome = "accepted".into();
            rec.client_id = r
                .body
                .get("client_id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            rec.details = Value::Object(std::mem::take(&mut r.audit)).to_string();
            set.registrations.push(r.change.clone());
            Ok(r)
        }
        Err(e) => {
            mark_refused(&mut rec, &e);
            rec.details = Value::Object(std::mem::take(&mut trail.details)).to_string();
            tracing::info!(error = %e, client = ?rec.client_id, "registration refused");
            Err(e)
        }
    };
    if let Some(mut key) = trail.statement_key.take() {
        let mut refused = rec.clone();
        mark_refused(&mut refused, &statement_replayed());
        key.on_conflict = Some(refused);
        set.once.push(key);
    }
    set.audit.push(rec);
    let result = match state.inner.writer.commit(set).await {
        Ok(SetOutcome::Committed) => result,
        Ok(SetOutcome::Conflict(_)) => Err(statement_replayed()),
        Ok(SetOutcome::RefreshReused) => Err(RegistrationError::Internal(
            "unexpected refresh outcome".into(),
        )),
        Err(e) => Err(RegistrationError::Internal(e.to_string())),
    };
    match result {
        Ok(r) => {
            let mut resp = (r.status, Json(Value::Object(r.body))).into_response();
            no_store(&mut resp);
            resp
        }
        Err(e) => e.into_response(),
    }
}

async fn register(
    state: &HolderState,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
    trail: &mut Trail,
) -> Result<Registered, RegistrationError> {
    check_initial_access_token(state, headers)?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct
        .split(';')
        .next()
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    {
        return Err(RegistrationError::InvalidClientMetadata(
            "the request body must be application/json".into(),
        ));
    }
    if body.len() > MAX_REGISTRATION_BODY {
        return Err(RegistrationError::InvalidClientMetadata(
            "request body too large".into(),
        ));
    }
    let req = tessera_jose::json::parse_object(body, 16, "registration request").map_err(|_| {
        RegistrationError::InvalidClientMetadata("the request body is not a JSON object".into())
    })?;
    match req.get("software_statement") {
        Some(Value::String(s)) => udap::register_udap(state, &req, s, now, trail).await,
        Some(_) => Err(RegistrationError::InvalidSoftwareStatement(
            "software_statement must be a string (a signed JWT)".into(),
        )),
        None => rfc7591::register_jwks_client(state, &req, now, trail).await,
    }
}

fn check_initial_access_token(
    state: &HolderState,
    headers: &HeaderMap,
) -> Result<(), RegistrationError> {
    let Some(expected) = &state.config().registration.initial_access_token else {
        return Ok(());
    };
    let got = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(RegistrationError::InvalidToken(
            "initial access token required",
        ))?;
    // Digests of equal length, compared in constant time: neither content nor length leaks.
    let (got, expected) = (token_hash(got), token_hash(expected));
    if bool::from(got.as_slice().ct_eq(expected.as_slice())) {
        Ok(())
    } else {
        Err(RegistrationError::InvalidToken(
            "initial access token invalid",
        ))
    }
}

/// `404` when registration is off (the route still exists so the refusal is explicit, and
/// audited like every other refusal).
pub async fn registration_disabled(State(state): State<HolderState>) -> Response {
    let (status, error, description) = (
        StatusCode::NOT_FOUND,
        "invalid_request",
        "dynamic client registration is not enabled",
    );
    let rec = AuditRecord {
        at: state.now(),
        event: "registration".into(),
        outcome: "rejected".into(),
        step: Some("registration".into()),
        error: Some(error.into()),
        error_description: Some(description.into()),
        ..AuditRecord::default()
    };
    let now = rec.at;
    if let Err(e) = state
        .inner
        .writer
        .commit(WriteSet::audit_only(now, rec))
        .await
    {
        return RegistrationError::Internal(e.to_string()).into_response();
    }
    let mut r = (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response();
    no_store(&mut r);
    r
}
