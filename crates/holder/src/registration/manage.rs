//! RFC 7592 client configuration endpoint, `[base]/register/{client_id}`: a client registered
//! by RFC 7591 reads (`GET`) or deletes (`DELETE`) its own registration with the registration
//! access token it received. The token is compared by its SHA-256 in constant time; a missing
//! or wrong token, or a registration that does not exist (or has no token, as UDAP
//! registrations, which are managed by software statements), is `401 invalid_token` (RFC 7592
//! §2.1 says an unknown client is 401, so existence is not disclosed). Every outcome is
//! audited before the response leaves; a `204` for a delete is sent once the row is gone.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;
use tessera_store::audit::AuditRecord;
use tessera_store::registrations::ClientRegistration;

use crate::registration::error::RegistrationError;
use crate::registration::rfc7591::{KIND_JWKS, registration_client_uri};
use crate::state::HolderState;
use crate::token::access_token::token_hash;
use crate::token::error::no_store;

/// Longest path `client_id` looked up.
const MAX_CLIENT_ID: usize = 128;

/// What was asked.
#[derive(Debug, Clone, Copy)]
enum Action {
    Read,
    Delete,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Delete => "deleted",
        }
    }
}

/// `GET [base]/register/{client_id}`.
pub async fn read_handler(
    State(state): State<HolderState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    handle(state, client_id, headers, Action::Read).await
}

/// `DELETE [base]/register/{client_id}`.
pub async fn delete_handler(
    State(state): State<HolderState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    handle(state, client_id, headers, Action::Delete).await
}

/// Any other method: `405` with `Allow`, audited.
pub async fn method_not_allowed(State(state): State<HolderState>) -> Response {
    let now = state.now();
    let e = RegistrationError::MethodNotAllowed;
    if let Err(resp) = audit(&state, now, None, Err(&e), Map::new(), None).await {
        return resp;
    }
    let mut r = e.into_response();
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, DELETE"));
    r
}

async fn handle(
    state: HolderState,
    client_id: String,
    headers: HeaderMap,
    action: Action,
) -> Response {
    let now = state.now();
    let result = run(&state, &client_id, &headers).await;
    let audited_id = (client_id.len() <= MAX_CLIENT_ID).then(|| client_id.clone());
    let mut details = Map::new();
    details.insert("action".into(), action.name().into());
    let change = match (&result, action) {
        (Ok(reg), Action::Delete) => Some(tessera_store::durable::RegistrationChange::Delete(
            reg.client_id.clone(),
        )),
        _ => None,
    };
    if let Err(resp) = audit(
        &state,
        now,
        audited_id,
        result.as_ref().map(|_| ()),
        details,
        change,
    )
    .await
    {
        return resp;
    }
    match (result, action) {
        (Ok(reg), Action::Read) => {
            let mut body = match serde_json::from_str::<Value>(&reg.metadata) {
                Ok(Value::Object(m)) => m,
                _ => Map::new(),
            };
            body.insert("client_id".into(), reg.client_id.clone().into());
            body.insert(
                "registration_client_uri".into(),
                registration_client_uri(&state, &reg.client_id).into(),
            );
            let mut r = (StatusCode::OK, Json(Value::Object(body))).into_response();
            no_store(&mut r);
            r
        }
        (Ok(_), Action::Delete) => {
            let mut r = StatusCode::NO_CONTENT.into_response();
            no_store(&mut r);
            r
        }
        (Err(e), _) => e.into_response(),
    }
}

/// The caller's own registration, after its registration access token is checked. Nothing is
/// written here: a delete is committed by `handle` with its audit row.
async fn run(
    state: &HolderState,
    client_id: &str,
    headers: &HeaderMap,
) -> Result<ClientRegistration, RegistrationError> {
    let token = bearer(headers)?;
    if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID {
        return Err(RegistrationError::NotFound);
    }
    let store = state.inner.registrations.clone();
    let id = client_id.to_owned();
    let reg = tokio::task::spawn_blocking(move || store.registration(&id))
        .await
        .map_err(|e| RegistrationError::Internal(e.to_string()))?
        .map_err(|e| RegistrationError::Internal(e.to_string()))?
        .filter(|r| r.kind == KIND_JWKS)
        .ok_or(RegistrationError::NotFound)?;
    let Some(expected) = &reg.token_hash else {
        return Err(RegistrationError::NotFound);
    };
    if !bool::from(token_hash(token).as_slice().ct_eq(expected.as_slice())) {
        return Err(RegistrationError::InvalidToken(
            "registration access token invalid",
        ));
    }
    Ok(reg)
}

fn bearer(headers: &HeaderMap) -> Result<&str, RegistrationError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(v), None) = (values.next(), values.next()) else {
        return Err(RegistrationError::InvalidToken(
            "registration access token required (one Authorization: Bearer header)",
        ));
    };
    v.to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .filter(|t| !t.is_empty() && t.len() <= 256)
        .ok_or(RegistrationError::InvalidToken(
            "registration access token required (Authorization: Bearer)",
        ))
}

/// Appends the audit row, with the registration change it records (a delete) in the same
/// write set; `Err(response)` when it could not be written (fail closed, nothing changed).
async fn audit(
    state: &HolderState,
    now: i64,
    client_id: Option<String>,
    outcome: Result<(), &RegistrationError>,
    mut details: Map<String, Value>,
    change: Option<tessera_store::durable::RegistrationChange>,
) -> Result<(), Response> {
    let mut rec = AuditRecord {
        at: now,
        event: "registration".into(),
        client_id,
        ..AuditRecord::default()
    };
    match outcome {
        Ok(()) => rec.outcome = "accepted".into(),
        Err(e) => {
            let (_, code, d) = e.oauth();
            rec.outcome = "rejected".into();
            rec.step = Some("registration_management".into());
            rec.error = Some(code.into());
            rec.error_description = Some(d);
        }
    }
    details.insert("endpoint".into(), "rfc7592".into());
    rec.details = Value::Object(details).to_string();
    let mut set = tessera_store::durable::WriteSet::audit_only(now, rec);
    set.registrations.extend(change);
    match state.inner.writer.commit(set).await {
        Ok(_) => Ok(()),
        Err(e) => Err(RegistrationError::Internal(e.to_string()).into_response()),
    }
}
