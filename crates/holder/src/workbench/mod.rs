//! The operator's workbench (`[workbench] enabled = true`): a page at `[base]/workbench` where
//! an operator holding the admin secret pastes a ticket and sees it decoded, each claim
//! explained, and this Data Holder's own verdict on it — the token endpoint's ticket steps run
//! as a dry run (`token::exchange::dry_run`: nothing spent, nothing recorded) — and then the
//! audit rows of that ticket's redemptions (`GET [base]/admin/audit`).
//!
//! A production Data Holder holds no client or issuer keys, so composing, minting and redeeming
//! are the demo's workbench (`tessera demo --keep-running`), not this one.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_serve::operator::page_routes;
use tessera_ticket::explain::{HOLDER_STEPS, explain_claims};

use crate::audit::admin_refusal;
use crate::state::HolderState;
use crate::token::exchange::dry_run;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");

/// Largest inspect request read (the ticket inside is bounded again when decoded).
const MAX_BODY: usize = 64 * 1024;

/// The steps [`dry_run`] does not judge, because they need the presenting client.
const NEEDS_CLIENT: [&str; 5] = [
    "client authentication",
    "presenter binding match",
    "identity evidence",
    "subject resolution",
    "the grant",
];

/// The workbench's routes, relative to the base path.
pub fn routes() -> Router<HolderState> {
    page_routes(INDEX_HTML, APP_JS)
        .route("/workbench/api/inspect", post(inspect_handler))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InspectRequest {
    ticket: String,
}

/// `POST [base]/workbench/api/inspect` `{"ticket": …}` with the admin secret.
async fn inspect_handler(
    State(state): State<HolderState>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = admin_refusal(&state, &method, &uri, &headers).await {
        return refused;
    }
    let request: InspectRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": format!("bad request: {e}") })),
            )
                .into_response();
        }
    };
    let ticket = request.ticket.trim();
    match inspect(&state, ticket).await {
        Ok(v) => ([(header::CACHE_CONTROL, "no-store")], Json(v)).into_response(),
        Err(error) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": error })),
        )
            .into_response(),
    }
}

/// The ticket decoded and explained, with this Data Holder's dry-run verdict.
pub async fn inspect(state: &HolderState, ticket: &str) -> Result<Value, String> {
    let parts = tessera_ticket::danger::decode_unverified(ticket)
        .map_err(|e| format!("not a ticket: {e}"))?;
    let payload = Value::Object(parts.payload);
    let run = dry_run(state, ticket).await;
    let verdict = match &run.result {
        Ok(()) => json!({ "ok": true, "step": run.step }),
        Err(e) => {
            let (status, error, description) = e.oauth();
            json!({
                "ok": false,
                "step": run.step,
                "status": status.as_u16(),
                "error": error,
                "error_description": description,
            })
        }
    };
    Ok(json!({
        "header": Value::Object(parts.header),
        "payload": payload,
        "claims": explain_claims(&payload),
        "verdict": verdict,
        "not_judged": NEEDS_CLIENT,
        "holder_steps": HOLDER_STEPS,
    }))
}
