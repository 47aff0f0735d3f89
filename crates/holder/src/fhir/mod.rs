//! The FHIR R4 API of the Data Holder: read, search and metadata, on the combined network base
//! and on per-site bases `[base]/site/{site-id}`.
//!
//! Architecture invariant: every read and search runs with the caller's [`Grant`], taken from
//! the request extension that the auth middleware inserts (never from the URL); its
//! [`tessera_access::Filter`] becomes part of the storage query. A request without a Grant is
//! 401. See docs/design/001-fhir-enforcement.md.
//!
//! The store is synchronous; each call runs in `spawn_blocking`, except reads and searches on
//! a store that answers them asynchronously ([`ResourceStore::async_reads`]).

mod capability;
mod error;
mod read;
mod search;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::Response;
use axum::routing::{any, get, post};
use tessera_access::{Grant, Interaction};
use tessera_store::{ResourceStore, StoreError};

pub use capability::capability_statement;
pub use error::{FHIR_JSON, FhirError, fhir_ok};

/// Largest accepted query string (bytes).
pub const MAX_QUERY_BYTES: usize = 8 * 1024;
/// Largest accepted `_search` form body (bytes).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the FHIR handlers need.
#[derive(Clone)]
pub struct FhirState {
    store: Arc<dyn ResourceStore>,
    base_url: Arc<str>,
    sites: Arc<BTreeSet<String>>,
}

impl std::fmt::Debug for FhirState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FhirState")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl FhirState {
    /// State over `store`, served at `base_url` (no trailing slash; used in links and
    /// `fullUrl`s). Reads the site list once: ingest before building the state.
    pub fn new(store: Arc<dyn ResourceStore>, base_url: &str) -> Result<FhirState, StoreError> {
        let sites = store.sites()?.into_iter().map(|s| s.id).collect();
        Ok(FhirState {
            store,
            base_url: Arc::from(base_url.trim_end_matches('/')),
            sites: Arc::new(sites),
        })
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn ResourceStore> {
        &self.store
    }

    /// The combined network base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The base URL of one site.
    pub fn site_base_url(&self, site: &str) -> String {
        format!("{}/site/{site}", self.base_url)
    }

    /// The base a request addressed (site bases must exist).
    fn base_for(
        &self,
        params: &HashMap<String, String>,
    ) -> Result<(Option<String>, String), FhirError> {
        match params.get("site") {
            None => Ok((None, self.base_url.to_string())),
            Some(site) if self.sites.contains(site) => {
                Ok((Some(site.clone()), self.site_base_url(site)))
            }
            Some(_) => Err(FhirError::NotFound("unknown site".to_owned())),
        }
    }
}

/// The FHIR router, to be nested under the holder's FHIR base path behind the auth
/// middleware that inserts `Extension<Arc<Grant>>`.
pub fn fhir_router(state: FhirState) -> Router {
    let base: Router<FhirState> = Router::new()
        .route("/metadata", get(metadata))
        .route("/{rtype}", get(search::search_get).post(post_or_operation))
        .route("/{rtype}/_search", post(search::search_post))
        .route(
            "/{rtype}/{id}",
            get(read::read)
                .post(post_or_operation)
                .put(not_allowed)
                .delete(not_allowed)
                .patch(not_allowed),
        )
        .route("/{rtype}/{id}/{op}", any(operation));
    Router::new()
        .merge(base.clone())
        .nest("/site/{site}", base)
        .fallback(not_found)
        .method_not_allowed_fallback(not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn metadata(
    axum::extract::State(state): axum::extract::State<FhirState>,
    axum::extract::Path(params): axum::extract::Path<HashMap<String, String>>,
) -> Result<Response, FhirError> {
    let (site, base) = state.base_for(&params)?;
    let mut statement = capability_statement(&base);
    if site.is_none() {
        // Record location is the network base's operation (issue 14).
        statement["rest"][0]["operation"] = serde_json::json!([{
            "name": "resolve-record-locations",
            "definition": format!("{base}/OperationDefinition/resolve-record-locations"),
        }]);
    }
    Ok(error::fhir_ok(statement.to_string().into_bytes()))
}

/// Operations (`$everything`, …) at every level — system, type, instance — are never granted
/// from a ticket (PT-ACC-08): 403; `_history` is not supported.
async fn operation(
    axum::extract::Path(params): axum::extract::Path<HashMap<String, String>>,
) -> FhirError {
    if params.get("op").is_some_and(|op| is_operation(op)) {
        FhirError::Forbidden("operations are not granted")
    } else {
        FhirError::NotFound("not found".to_owned())
    }
}

/// An operation name (`$everything`, `$export`, …) in a path segment.
pub(crate) fn is_operation(segment: &str) -> bool {
    segment.starts_with('$')
}

/// `POST [base]/$op`, `POST [type]/$op`: operations are not granted (403, like `GET`);
/// any other `POST` there is a create, which is not allowed (405).
async fn post_or_operation(
    axum::extract::Path(params): axum::extract::Path<HashMap<String, String>>,
) -> FhirError {
    let op = params.get("id").or_else(|| params.get("rtype"));
    if op.is_some_and(|s| is_operation(s)) {
        FhirError::Forbidden("operations are not granted")
    } else {
        FhirError::MethodNotAllowed
    }
}

async fn not_found() -> FhirError {
    FhirError::NotFound("not found".to_owned())
}

async fn not_allowed() -> FhirError {
    FhirError::MethodNotAllowed
}

/// The caller's grant filter for a type and interaction: 401 without a grant, 403 when the
/// grant does not cover the pair, 403 for `$operations` at type level.
fn grant_filter(
    grant: Option<&Grant>,
    rtype: &str,
    interaction: Interaction,
) -> Result<tessera_access::Filter, FhirError> {
    let grant = grant.ok_or(FhirError::Unauthorized)?;
    if is_operation(rtype) {
        return Err(FhirError::Forbidden("operations are not granted"));
    }
    if tessera_fhir::resource_def(rtype).is_none() {
        return Err(FhirError::NotFound(
            "resource type not supported".to_owned(),
        ));
    }
    grant.to_filter(rtype, interaction).map_err(|_| {
        FhirError::Forbidden("the access token does not grant this interaction on this type")
    })
}

/// Runs a blocking store call off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, FhirError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(FhirError::from),
        Err(e) => {
            tracing::error!(error = %e, "store task failed");
            Err(FhirError::Internal)
        }
    }
}
