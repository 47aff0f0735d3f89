//! The issuer operator's workbench (`[workbench] enabled = true`, needs `admin_token`): a page
//! at `{issuer}/workbench` where an operator holding the admin secret
//! - composes a ticket request as one of the registered minting clients and sees the issuer's
//!   own verdict (`Issuer::check_as`, the checks minting runs, nothing signed or recorded) with
//!   the claims as they would be signed, and
//! - pastes a ticket and sees it decoded, each claim explained, whether this issuer's published
//!   keys verify it, and its issuance record (who asked, what was verified, revoked or not).
//!
//! Minting itself stays on `POST {issuer}/tickets`, for authenticated clients: a signed ticket
//! is an act of the client that verified the facts, not of a page.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_serve::operator::{bearer_matches, page_routes};
use tessera_ticket::explain::explain_claims;

use crate::config::type_name;
use crate::error::IssueError;
use crate::http::{AppState, MAX_JSON_DEPTH};
use crate::issuer::Caller;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");

/// The workbench's routes, relative to the issuer URL's path.
pub fn routes() -> Router<AppState> {
    page_routes(INDEX_HTML, APP_JS)
        .route("/workbench/api/world", get(world))
        .route("/workbench/api/check", post(check))
        .route("/workbench/api/inspect", post(inspect))
}

/// 404 without a configured secret (the API does not exist), 401 without the right one.
fn refusal(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    let Some(secret) = state.issuer.config().admin_token.as_deref() else {
        return Some(StatusCode::NOT_FOUND.into_response());
    };
    if bearer_matches(headers, secret) {
        return None;
    }
    let mut r = StatusCode::UNAUTHORIZED.into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Bearer realm=\"tessera-issuer-admin\""),
    );
    Some(r)
}

fn answer(v: Value) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], Json(v)).into_response()
}

fn bad(status: StatusCode, error: impl Into<String>) -> Response {
    (status, Json(json!({ "error": error.into() }))).into_response()
}

/// `GET …/workbench/api/world`: the minting clients and the types each may mint.
async fn world(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(r) = refusal(&state, &headers) {
        return r;
    }
    let config = state.issuer.config();
    let clients: Vec<Value> = config
        .clients
        .iter()
        .map(|c| {
            let types: Vec<&str> = c.ticket_types.iter().map(|t| type_name(*t)).collect();
            json!({ "client_id": c.client_id, "ticket_types": types })
        })
        .collect();
    answer(json!({ "issuer": config.issuer, "clients": clients }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckRequest {
    client_id: String,
    claims: Value,
}

/// `POST …/workbench/api/check` `{client_id, claims}`: minting's verdict for that client.
async fn check(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = refusal(&state, &headers) {
        return r;
    }
    let parsed = tessera_jose::json::parse_object(&body, MAX_JSON_DEPTH, "body")
        .map_err(|e| e.to_string())
        .and_then(|o| {
            serde_json::from_value::<CheckRequest>(Value::Object(o)).map_err(|e| e.to_string())
        });
    let request = match parsed {
        Ok(r) => r,
        Err(e) => return bad(StatusCode::BAD_REQUEST, format!("bad request: {e}")),
    };
    let issuer = state.issuer.clone();
    if !issuer
        .config()
        .clients
        .iter()
        .any(|c| c.client_id == request.client_id)
    {
        return bad(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{:?} is not a registered minting client", request.client_id),
        );
    }
    let now = state.clock.now();
    let caller = Caller::Client(request.client_id);
    let checked =
        tokio::task::spawn_blocking(move || issuer.check_as(&caller, &request.claims, now)).await;
    match checked {
        Ok(Ok(claims)) => answer(json!({ "ok": true, "claims": claims })),
        Ok(Err(e)) => {
            let (code, description) = verdict_of(&e);
            answer(json!({ "ok": false, "error": code, "error_description": description }))
        }
        Err(_) => bad(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}

/// The `error` code `POST /tickets` answers with, and its description.
fn verdict_of(e: &IssueError) -> (&'static str, String) {
    match e {
        IssueError::Request(_) | IssueError::Verification(_) => ("invalid_request", e.to_string()),
        IssueError::Refused(_) => ("invalid_claims", e.to_string()),
        IssueError::TypeNotAllowed { .. } => ("unauthorized_client", e.to_string()),
        IssueError::NotFound(_) => ("not_found", e.to_string()),
        IssueError::ListFull(_) => ("temporarily_unavailable", e.to_string()),
        IssueError::Signing(_) | IssueError::Db(_) => ("server_error", "internal error".into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InspectRequest {
    ticket: String,
}

/// `POST …/workbench/api/inspect` `{ticket}`: decoded, explained, verified with this issuer's
/// keys, and its issuance record.
async fn inspect(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = refusal(&state, &headers) {
        return r;
    }
    let request: InspectRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad(StatusCode::BAD_REQUEST, format!("bad request: {e}")),
    };
    let ticket = request.ticket.trim().to_owned();
    let parts = match tessera_ticket::danger::decode_unverified(&ticket) {
        Ok(p) => p,
        Err(e) => {
            return bad(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("not a ticket: {e}"),
            );
        }
    };
    let payload = Value::Object(parts.payload);
    let issuer = state.issuer.clone();
    let now = state.clock.now();
    let own = payload.get("iss").and_then(Value::as_str) == Some(issuer.config().issuer.as_str());
    let jti = payload
        .get("jti")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let looked_up = tokio::task::spawn_blocking(move || {
        let verification = if own {
            // Everything this issuer can sign is accepted here, including withholding labels.
            let opts = tessera_ticket::VerifyOptions {
                access: tessera_ticket::AccessOptions {
                    legacy_access_shapes: false,
                    sensitivity_withhold: true,
                },
                ..Default::default()
            };
            match tessera_ticket::verify(&ticket, &issuer.jwks(now), now, &opts) {
                Ok(_) => json!({ "ok": true }),
                Err(e) => json!({ "ok": false, "error": e.to_string() }),
            }
        } else {
            json!({ "ok": false, "error": "not issued by this issuer (iss differs)" })
        };
        let record = match jti.filter(|_| own) {
            None => Value::Null,
            Some(j) => match issuer.record(&j) {
                Ok(r) => serde_json::to_value(&r).unwrap_or(Value::Null),
                Err(IssueError::NotFound(_)) => json!({ "not_found": true }),
                Err(e) => json!({ "error": e.to_string() }),
            },
        };
        (verification, record)
    })
    .await;
    let Ok((verification, record)) = looked_up else {
        return bad(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
    };
    answer(json!({
        "header": Value::Object(parts.header),
        "claims": explain_claims(&payload),
        "payload": payload,
        "verification": verification,
        "record": record,
    }))
}
