//! `GET [base]/[type]/[id]`: one resource, only if the grant releases it. A resource outside
//! the grant is 404, indistinguishable from one that does not exist. `GET [type]/$op` lands
//! here too and is a type-level operation: 403.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;
use tessera_access::{Grant, Interaction};
use tessera_store::Scope;

use super::error::fhir_ok;
use super::{FhirError, FhirState, blocking, grant_filter, is_operation};

pub async fn read(
    State(state): State<FhirState>,
    Path(params): Path<HashMap<String, String>>,
    grant: Option<Extension<Arc<Grant>>>,
) -> Result<Response, FhirError> {
    let (site, _) = state.base_for(&params)?;
    let rtype = params.get("rtype").cloned().unwrap_or_default();
    let id = params.get("id").cloned().unwrap_or_default();
    let grant = grant.as_deref().map(Arc::as_ref);
    if is_operation(&id) {
        // `GET [type]/$op`: an operation on the type, not a read of a resource named `$op`.
        // Operations are not granted, whatever the type (decisions.md, status codes).
        grant.ok_or(FhirError::Unauthorized)?;
        return Err(FhirError::Forbidden("operations are not granted"));
    }
    let filter = grant_filter(grant, &rtype, Interaction::Read)?;
    if !tessera_fhir::is_valid_id(&id) {
        return Err(FhirError::NotFound(format!("{rtype} not found")));
    }
    let found = match state.store.async_reads() {
        Some(reads) => {
            let scope = site.as_deref().map_or(Scope::Network, Scope::Site);
            reads.read(scope, &rtype, &id, &filter).await?
        }
        None => {
            let store = state.store.clone();
            blocking(move || {
                let scope = site.as_deref().map_or(Scope::Network, Scope::Site);
                store.read(scope, &rtype, &id, &filter)
            })
            .await?
        }
    };
    match found {
        Some(bytes) => Ok(fhir_ok(bytes)),
        None => Err(FhirError::NotFound("resource not found".to_owned())),
    }
}
