//! `GET /healthz` and `GET /readyz` for load balancers and orchestrators.
//!
//! Liveness says only that the process answers. Readiness says this node can take traffic
//! now: both stores answer (`ready()`: database reachable, schema current), the group-commit
//! writer is running (no durable write could otherwise be answered), and the start-up cache
//! warm-up has run. The body names what is not ready and nothing else: store errors can carry
//! paths or database URLs, so they go to the log, never to an unauthenticated caller.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::state::HolderState;

/// `GET /healthz`: the process is alive.
pub async fn healthz() -> Response {
    (
        [(http::header::CACHE_CONTROL, "no-store")],
        Json(json!({"status": "ok"})),
    )
        .into_response()
}

/// `GET /readyz`: 200 `{"status":"ready","checks":{…}}`, or 503 with `"not_ready"` naming
/// the failing checks.
pub async fn readyz(State(state): State<HolderState>) -> Response {
    let store = state.store().clone();
    let db = state.token_db().clone();
    let (resources, tokens) = tokio::join!(
        tokio::task::spawn_blocking(move || store.ready().map_err(|e| e.to_string())),
        tokio::task::spawn_blocking(move || db.ready().map_err(|e| e.to_string())),
    );
    let flatten = |r: Result<Result<(), String>, tokio::task::JoinError>| match r {
        Ok(inner) => inner,
        Err(e) => Err(format!("readiness check did not complete: {e}")),
    };
    let checks: [(&str, Result<(), String>); 4] = [
        ("resource_store", flatten(resources)),
        ("token_store", flatten(tokens)),
        (
            "group_commit_writer",
            if state.writer().is_running() {
                Ok(())
            } else {
                Err("the writer thread has stopped".into())
            },
        ),
        (
            "caches",
            if state.is_warm() {
                Ok(())
            } else {
                Err("start-up warm-up not finished".into())
            },
        ),
    ];
    let mut report = Map::new();
    let mut failing = Vec::new();
    for (name, result) in checks {
        match result {
            Ok(()) => {
                report.insert(name.into(), json!("ok"));
            }
            Err(e) => {
                tracing::warn!(check = name, error = %e, "not ready");
                report.insert(name.into(), json!("not_ready"));
                failing.push(Value::from(name));
            }
        }
    }
    let (status, body) = if failing.is_empty() {
        (StatusCode::OK, json!({"status": "ready", "checks": report}))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "not_ready", "not_ready": failing, "checks": report}),
        )
    };
    (
        status,
        [(http::header::CACHE_CONTROL, "no-store")],
        Json(body),
    )
        .into_response()
}
