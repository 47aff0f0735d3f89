//! PT-RS-02 at redemption: which supporting resources (Practitioner, Organization, Location,
//! …) the grant releases. They are the shared-type references of everything the grant
//! releases for the patient — read through the grant's own storage filters, so every
//! constraint is honoured — plus the patient's own Patient resource (`generalPractitioner`,
//! `managingOrganization`), whether or not Patient itself is granted. The set is fixed in the
//! Grant for the access token's lifetime; the FHIR API then enforces it in SQL.

use std::collections::BTreeSet;

use serde_json::Value;
use tessera_access::{Filter, Grant, Interaction, MAX_SUPPORTING, shared_references};
use tessera_fhir::parse_search;
use tessera_store::{ResourceStore, Scope};

use crate::state::HolderState;
use crate::token::error::TokenError;

/// Page size of the scan.
const PAGE: u32 = 200;
/// Upper bound on resources scanned per redemption (beyond it, fewer supporting resources
/// are released, never more).
const MAX_SCANNED: usize = 50_000;

/// The grant with its supporting set filled in.
pub async fn with_supporting(state: &HolderState, grant: Grant) -> Result<Grant, TokenError> {
    if !grant.grants_shared_types() {
        return Ok(grant.with_supporting(BTreeSet::new()));
    }
    let store = state.inner.store.clone();
    tokio::task::spawn_blocking(move || {
        let refs = referenced(store.as_ref(), &grant).map_err(TokenError::Internal)?;
        Ok(grant.with_supporting(refs))
    })
    .await
    .map_err(|e| TokenError::Internal(e.to_string()))?
}

fn referenced(store: &dyn ResourceStore, grant: &Grant) -> Result<BTreeSet<String>, String> {
    let mut refs = BTreeSet::new();
    let own = Filter::PatientIs(grant.patient().to_owned());
    if let Some(bytes) = store
        .read(Scope::Network, "Patient", grant.patient(), &own)
        .map_err(|e| e.to_string())?
    {
        refs.extend(references_of(&bytes));
    }
    let mut scanned = 0usize;
    for t in grant.referencing_types() {
        let filter = match grant
            .to_filter(t, Interaction::Read)
            .or_else(|_| grant.to_filter(t, Interaction::Search))
        {
            Ok(f) => f,
            Err(_) => continue,
        };
        let mut query = parse_search(t, &[]).map_err(|e| e.to_string())?;
        query.count = PAGE;
        loop {
            let page = store
                .search(Scope::Network, &query, &filter)
                .map_err(|e| e.to_string())?;
            for r in &page.resources {
                refs.extend(references_of(&r.json));
                scanned += 1;
            }
            if refs.len() >= MAX_SUPPORTING || scanned >= MAX_SCANNED {
                tracing::warn!(
                    scanned,
                    refs = refs.len(),
                    "supporting-resource scan bounded"
                );
                return Ok(refs);
            }
            match page.next_cursor {
                Some(c) => query.cursor = Some(c),
                None => break,
            }
        }
    }
    Ok(refs)
}

fn references_of(bytes: &[u8]) -> BTreeSet<String> {
    serde_json::from_slice::<Value>(bytes)
        .map(|v| shared_references(&v))
        .unwrap_or_default()
}
