//! Audit queries: `GET [base]/admin/audit?jti=…` for operators holding the configured admin
//! bearer secret (compared in constant time), and the function the CLI uses. Redemption
//! records themselves are written by the token pipeline before it answers.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_store::audit::AuditRecord;
use tessera_store::durable::TokenStore;
use tessera_store::token_db::TokenDbError;

use crate::auth::refusal::{Refusal, audited_admin};
use crate::state::HolderState;

/// Records for `jti`, or the most recent ones when `jti` is `None`.
pub fn query_audit(
    db: &dyn TokenStore,
    jti: Option<&str>,
) -> Result<Vec<AuditRecord>, TokenDbError> {
    match jti {
        Some(j) => db.audit_by_jti(j),
        None => db.audit_recent(),
    }
}

/// The refusal for a request without the admin secret (`Authorization: Bearer`, compared in
/// constant time), or `None` when it carries it: 404 when no secret is configured (admin
/// endpoints do not exist then, as for any unknown path), else 401 with a `WWW-Authenticate`
/// challenge, sent once its audit row (`admin_access`, step `admin_token`) is durable.
pub async fn admin_refusal(
    state: &HolderState,
    method: &Method,
    uri: &OriginalUri,
    headers: &HeaderMap,
) -> Option<Response> {
    let Some(secret) = state.config().admin_token.as_deref() else {
        return Some(StatusCode::NOT_FOUND.into_response());
    };
    if tessera_serve::operator::bearer_matches(headers, secret) {
        return None;
    }
    let mut r = StatusCode::UNAUTHORIZED.into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Bearer realm=\"tessera-admin\""),
    );
    let what = if headers.contains_key(header::AUTHORIZATION) {
        "wrong admin credential"
    } else {
        "no admin credential"
    };
    let why = Refusal::new("admin_token", "invalid_token", what);
    Some(audited_admin(state, method, uri.path(), why.attach(r)).await)
}

/// The admin endpoint. 404 when no admin secret is configured (the endpoint does not exist).
pub async fn admin_audit_handler(
    State(state): State<HolderState>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = admin_refusal(&state, &method, &uri, &headers).await {
        return refused;
    }
    let db = state.token_db().clone();
    let jti = q.get("jti").cloned();
    match tokio::task::spawn_blocking(move || query_audit(db.as_ref(), jti.as_deref())).await {
        Ok(Ok(records)) => Json(serde_json::json!({ "records": records })).into_response(),
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
