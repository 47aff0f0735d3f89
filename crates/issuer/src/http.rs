//! The issuer's HTTP API: a thin axum layer over [`Issuer`]. Errors become status codes and
//! OAuth-style JSON bodies in one place ([`ApiError`]'s `IntoResponse`); storage and signing
//! run on the blocking pool.
//!
//! Routes, all under the issuer URL's path:
//! `GET /.well-known/jwks.json`, `GET /status/{list}`, `POST /tickets`,
//! `GET /tickets/{jti}`, `POST /tickets/{jti}/revoke`; with `[workbench] enabled`, the
//! operator's workbench under `/workbench` (`crate::workbench`); and, served standalone
//! ([`app_with_probes`]), the probes `GET /healthz` and `GET /readyz` at the root.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::error::{AuthError, IssueError};
use crate::issuer::{Caller, Issuer};
use crate::refusal::{RefusalRecord, bounded};
use crate::{Clock, Config};

/// Largest accepted request body (a ticket's claims with embedded identity evidence).
pub const MAX_BODY: usize = 256 * 1024;
/// Deepest accepted JSON nesting in a request body.
pub const MAX_JSON_DEPTH: usize = 32;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The issuer.
    pub issuer: Arc<Issuer>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// The issuer's router, mounted at the path of the issuer URL.
pub fn app(state: AppState) -> Router {
    let prefix = url::Url::parse(&state.issuer.config().issuer)
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    let routes = Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route("/status/{list}", get(status_list))
        .route("/tickets", post(mint))
        .route("/tickets/check", post(check))
        .route("/tickets/{jti}", get(record))
        .route("/tickets/{jti}/revoke", post(revoke));
    let routes = if state.issuer.config().workbench {
        routes.merge(crate::workbench::routes())
    } else {
        routes
    }
    .layer(DefaultBodyLimit::max(MAX_BODY))
    .with_state(state);
    if prefix.is_empty() {
        routes
    } else {
        Router::new().nest(&prefix, routes)
    }
}

/// The issuer's API ([`app`]) with the probes `GET /healthz` and `GET /readyz` at the root,
/// whatever the issuer URL's path (load balancers probe a fixed path per backend): what
/// `tessera issuer serve` listens with. Kept apart from [`app`] so a process serving the
/// issuer beside a Data Holder on one listener (the demo) has one set of probes.
pub fn app_with_probes(state: AppState) -> Router {
    let probes = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state.clone());
    app(state).merge(probes)
}

/// `GET /healthz`: the process answers.
async fn healthz() -> Response {
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({"status": "ok"})),
    )
        .into_response()
}

/// `GET /readyz`: 200 when the store answers with the current schema, else 503. The reason
/// goes to the log only: it can carry a database URL.
async fn readyz(State(state): State<AppState>) -> Response {
    let issuer = state.issuer.clone();
    let ready = tokio::task::spawn_blocking(move || issuer.ready())
        .await
        .map_err(|e| crate::DbError(e.to_string()))
        .and_then(|r| r);
    let (status, body) = match ready {
        Ok(()) => (
            StatusCode::OK,
            json!({"status": "ready", "checks": {"store": "ok"}}),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "issuer not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"status": "not_ready", "not_ready": ["store"],
                    "checks": {"store": "not_ready"}}),
            )
        }
    };
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}

/// Why `serve` stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The database could not be opened.
    #[error("cannot open the issuer: {0}")]
    Open(#[from] IssueError),
    /// The TLS certificate or key could not be used.
    #[error("{0}")]
    Tls(#[from] tessera_serve::TlsError),
    /// Binding or serving failed.
    #[error("cannot serve on {addr}: {source}")]
    Io {
        /// The listen address.
        addr: std::net::SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Opens the issuer (SQLite: [`Issuer::open`]) and serves it on `config.listen` until SIGTERM
/// or Ctrl-C.
pub async fn serve(config: Config, clock: Arc<dyn Clock>) -> Result<(), ServeError> {
    // Opening is a few synchronous SQLite statements, done once before serving.
    serve_issuer(Issuer::open(config)?, clock).await
}

/// Serves an opened issuer (any storage backend) on its `listen` address (over TLS when
/// `[tls]` is configured) until SIGTERM or Ctrl-C, then finishes in-flight requests.
pub async fn serve_issuer(issuer: Issuer, clock: Arc<dyn Clock>) -> Result<(), ServeError> {
    let addr = issuer.config().listen;
    let tls = issuer
        .config()
        .tls
        .as_ref()
        .map(tessera_serve::load_acceptor)
        .transpose()?;
    let shutdown =
        tessera_serve::Shutdown::install().map_err(|source| ServeError::Io { addr, source })?;
    if issuer.config().demo_mode {
        tracing::warn!("demo_mode is on: POST /tickets mints without client authentication");
    }
    let issuer = Arc::new(issuer);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Io { addr, source })?;
    // The bound address: `listen = "127.0.0.1:0"` picks a free port (tests read this line).
    let bound = listener
        .local_addr()
        .map_err(|source| ServeError::Io { addr, source })?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(addr = %bound, scheme, issuer = %issuer.config().issuer, "issuer listening");
    // Minting signs and inserts inside one store transaction within the request, so once
    // the in-flight requests are done every answered ticket is durable.
    tessera_serve::serve(
        listener,
        app_with_probes(AppState { issuer, clock }),
        tls,
        shutdown.wait(),
    )
    .await
    .map_err(|source| ServeError::Io { addr, source })
}

/// Every way a request fails, mapped to status and body in one place.
#[derive(Debug)]
pub enum ApiError {
    /// Client authentication failed.
    Auth(AuthError),
    /// Minting, lookup or revocation failed.
    Issue(IssueError),
    /// The body is not a bounded JSON object.
    Body(&'static str),
    /// A blocking task died.
    Internal,
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> ApiError {
        ApiError::Auth(e)
    }
}

impl From<IssueError> for ApiError {
    fn from(e: IssueError) -> ApiError {
        ApiError::Issue(e)
    }
}

impl ApiError {
    /// The status, `error` code and `error_description` sent.
    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            ApiError::Auth(AuthError::Unavailable) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "try again later".to_owned(),
            ),
            ApiError::Auth(e) => (StatusCode::UNAUTHORIZED, "invalid_client", e.to_string()),
            ApiError::Body(why) => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                (*why).to_owned(),
            ),
            ApiError::Issue(e) => match e {
                IssueError::Request(_) | IssueError::Verification(_) => {
                    (StatusCode::BAD_REQUEST, "invalid_request", e.to_string())
                }
                IssueError::Refused(_) => {
                    (StatusCode::BAD_REQUEST, "invalid_claims", e.to_string())
                }
                IssueError::TypeNotAllowed { .. } => {
                    (StatusCode::FORBIDDEN, "unauthorized_client", e.to_string())
                }
                IssueError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", e.to_string()),
                IssueError::ListFull(_) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    e.to_string(),
                ),
                IssueError::Signing(_) | IssueError::Db(_) => {
                    tracing::error!(error = %e, "issuer failure");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "server_error",
                        "internal error".to_owned(),
                    )
                }
            },
            ApiError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "internal error".to_owned(),
            ),
        }
    }

    /// Whether this is a decision about the request (recorded in the refusal log) rather than
    /// the issuer's own failure (logged; the caller may retry).
    fn is_refusal(&self) -> bool {
        !matches!(
            self,
            ApiError::Internal
                | ApiError::Auth(AuthError::Unavailable)
                | ApiError::Issue(IssueError::Signing(_) | IssueError::Db(_))
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, description) = self.parts();
        let body = json!({ "error": code, "error_description": description });
        let mut response = (status, no_store(), axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_client\""),
            );
        }
        response
    }
}

fn no_store() -> [(header::HeaderName, HeaderValue); 1] {
    [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]
}

fn max_age(seconds: u32) -> [(header::HeaderName, HeaderValue); 1] {
    let value = HeaderValue::from_str(&format!("max-age={seconds}"))
        .unwrap_or(HeaderValue::from_static("no-cache"));
    [(header::CACHE_CONTROL, value)]
}

/// Runs issuer work on the blocking pool (SQLite, signing).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::Internal)?
}

/// What a refusal row names about a request, filled in as the handler learns it.
struct Asked {
    endpoint: &'static str,
    client_id: Option<String>,
    ticket_type: Option<String>,
    jti: Option<String>,
}

impl Asked {
    fn new(endpoint: &'static str) -> Asked {
        Asked {
            endpoint,
            client_id: None,
            ticket_type: None,
            jti: None,
        }
    }

    fn about(endpoint: &'static str, jti: &str) -> Asked {
        Asked {
            jti: Some(bounded(jti)),
            ..Asked::new(endpoint)
        }
    }
}

/// The client id an `Authorization: Bearer <assertion>` claims (`iss`), unverified, for the
/// refusal log of a failed authentication.
fn claimed_client(headers: &HeaderMap) -> Option<String> {
    let assertion = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?
        .trim();
    let jws = tessera_jose::decode(assertion, &tessera_jose::Limits::client()).ok()?;
    jws.claims().get("iss")?.as_str().map(bounded)
}

/// Answers `e`, after recording it in the refusal log when it is a refusal; a refusal whose
/// record cannot be made durable is answered 500 instead (never an unrecorded refusal).
async fn refused(state: &AppState, headers: &HeaderMap, asked: Asked, e: ApiError) -> Response {
    if !e.is_refusal() {
        return e.into_response();
    }
    let (status, code, description) = e.parts();
    let claimed_client_id = match (&e, &asked.client_id) {
        (ApiError::Auth(_), None) => claimed_client(headers),
        _ => None,
    };
    let record = RefusalRecord {
        id: 0,
        at: state.clock.now(),
        endpoint: asked.endpoint.to_owned(),
        client_id: asked.client_id,
        claimed_client_id,
        status: status.as_u16(),
        error: code.to_owned(),
        error_description: description,
        ticket_type: asked.ticket_type,
        jti: asked.jti,
    };
    let issuer = state.issuer.clone();
    let written = blocking(move || {
        issuer
            .record_refusal(&record)
            .map_err(|e| ApiError::Issue(IssueError::Db(e)))
    })
    .await;
    match written {
        Ok(()) => e.into_response(),
        Err(failure) => {
            tracing::error!(error = ?failure, "the refusal log could not be written");
            ApiError::Internal.into_response()
        }
    }
}

/// The caller: an authenticated client, or — in demo mode and only without an
/// `Authorization` header — the anonymous demo caller.
async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return if state.issuer.config().demo_mode {
            Ok(Caller::Demo)
        } else {
            Err(AuthError::Missing.into())
        };
    };
    let assertion = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .ok_or(AuthError::Missing)?
        .to_owned();
    let issuer = state.issuer.clone();
    let now = state.clock.now();
    blocking(move || Ok(issuer.authenticate(&assertion, now)?)).await
}

async fn jwks(State(state): State<AppState>) -> Response {
    let issuer = state.issuer.clone();
    let now = state.clock.now();
    let max = state.issuer.config().jwks_max_age;
    match blocking(move || Ok(issuer.jwks(now))).await {
        Ok(set) => (max_age(max), axum::Json(set.to_value())).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn status_list(State(state): State<AppState>, Path(list): Path<String>) -> Response {
    let issuer = state.issuer.clone();
    let max = state.issuer.config().status_max_age;
    match blocking(move || Ok(issuer.status_list(&list)?)).await {
        Ok(Some(body)) => (max_age(max), axum::Json(body)).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": "not_found", "error_description": "no such status list"})),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn mint(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let mut asked = Asked::new("mint");
    let result = async {
        let caller = caller(&state, &headers).await?;
        asked.client_id = Some(caller.name().to_owned());
        let claims = tessera_jose::json::parse_object(&body, MAX_JSON_DEPTH, "body")
            .map_err(|_| ApiError::Body("the body must be a JSON object of ticket claims"))?;
        asked.ticket_type = claims
            .get("ticket_type")
            .and_then(Value::as_str)
            .map(bounded);
        let issuer = state.issuer.clone();
        let now = state.clock.now();
        blocking(move || Ok(issuer.mint_as(&caller, &Value::Object(claims), now)?)).await
    }
    .await;
    match result {
        Ok(minted) => {
            let r = &minted.record;
            let location = format!("{}/{}", state.issuer.mint_url(), r.jti);
            let body = json!({
                "ticket": minted.token,
                "jti": r.jti,
                "ticket_type": r.ticket_type,
                "exp": r.expires_at,
                "kid": r.kid,
                "revocation": { "url": r.status_url, "index": r.status_index },
                "revocation_management": r.revocation_management,
            });
            let mut response = (StatusCode::CREATED, no_store(), axum::Json(body)).into_response();
            if let Ok(v) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, v);
            }
            response
        }
        Err(e) => refused(&state, &headers, asked, e).await,
    }
}

/// `POST /tickets/check`: the verdict minting would give on these claims, with nothing signed
/// or recorded — 200 with the claims as they would be signed, or the mint's own error.
async fn check(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let mut asked = Asked::new("check");
    let result = async {
        let caller = caller(&state, &headers).await?;
        asked.client_id = Some(caller.name().to_owned());
        let claims = tessera_jose::json::parse_object(&body, MAX_JSON_DEPTH, "body")
            .map_err(|_| ApiError::Body("the body must be a JSON object of ticket claims"))?;
        let issuer = state.issuer.clone();
        let now = state.clock.now();
        blocking(move || Ok(issuer.check_as(&caller, &Value::Object(claims), now)?)).await
    }
    .await;
    match result {
        Ok(claims) => (
            no_store(),
            axum::Json(json!({ "ok": true, "claims": claims })),
        )
            .into_response(),
        // What minting would say about the claims is the dry run's answer, not a refusal.
        Err(e @ ApiError::Issue(_)) => e.into_response(),
        Err(e) => refused(&state, &headers, asked, e).await,
    }
}

async fn record(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(jti): Path<String>,
) -> Response {
    let mut asked = Asked::about("record", &jti);
    let result = async {
        let caller = caller(&state, &headers).await?;
        asked.client_id = Some(caller.name().to_owned());
        let issuer = state.issuer.clone();
        blocking(move || Ok(issuer.record_as(&caller, &jti)?)).await
    }
    .await;
    match result {
        Ok(record) => (no_store(), axum::Json(record)).into_response(),
        Err(e) => refused(&state, &headers, asked, e).await,
    }
}

async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(jti): Path<String>,
) -> Response {
    let mut asked = Asked::about("revoke", &jti);
    let result = async {
        let caller = caller(&state, &headers).await?;
        asked.client_id = Some(caller.name().to_owned());
        let issuer = state.issuer.clone();
        let now = state.clock.now();
        blocking(move || Ok(issuer.revoke_as(&caller, &jti, now)?)).await
    }
    .await;
    match result {
        Ok(record) => (no_store(), axum::Json(record)).into_response(),
        Err(e) => refused(&state, &headers, asked, e).await,
    }
}
