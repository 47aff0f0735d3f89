//! Record location (issue 14): `POST [base]/$resolve-record-locations` with a network access
//! token answers which sites hold data for the grant's person that the grant releases, as a
//! Bundle of `Endpoint` (the site's FHIR base and token endpoint) + `Organization` (the
//! site's own Organization), so a client can redeem site by site.
//!
//! A site is listed when (a) it would itself accept the ticket — its own identity passes the
//! ticket's `data_holder_filter`, judged at redemption and frozen in the grant — and (b) a
//! search there under the grant releases at least one resource of a granted clinical type
//! (counted in SQL with the grant's filter, like any search).

use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};
use tessera_access::{Filter, Grant, Interaction, PersonScope, check_holder_filter};
use tessera_store::Scope;
use tessera_ticket::claims::HolderFilterEntry;

use crate::fhir::FhirError;
use crate::network::person::ResolvedPerson;
use crate::network::{DataHolder, site_base, site_profile};
use crate::state::HolderState;

/// The operation's path segment.
pub const OPERATION: &str = "$resolve-record-locations";
/// Extension on each `Endpoint`: the site's token endpoint.
pub const TOKEN_ENDPOINT_EXTENSION: &str =
    "https://tessera.example/fhir/StructureDefinition/endpoint-token-endpoint";

/// The grant's person scope at redemption: the person's records at `holder`, the Data Holder
/// that issues it, and (at the network base) the sites whose own identity accepts the ticket.
pub fn person_scope(
    state: &HolderState,
    holder: &DataHolder,
    person: &ResolvedPerson,
    filter: Option<&[HolderFilterEntry]>,
) -> PersonScope {
    let accepting_sites = match holder.site {
        Some(_) => Vec::new(),
        None => person
            .sites
            .iter()
            .filter(|s| {
                let Some(profile) = state.network().site(s) else {
                    return false;
                };
                filter.is_none_or(|f| check_holder_filter(f, &site_profile(profile)).is_ok())
            })
            .cloned()
            .collect(),
    };
    PersonScope {
        records: person.records.clone(),
        data_holder: holder.site.clone(),
        accepting_sites,
    }
}

/// The operation's route, to be merged into the FHIR router (behind the token middleware).
pub fn routes(state: HolderState) -> Router {
    Router::new()
        .route(&format!("/{OPERATION}"), post(resolve_handler))
        .with_state(state)
}

async fn resolve_handler(
    State(state): State<HolderState>,
    grant: Option<Extension<Arc<Grant>>>,
) -> Result<Response, FhirError> {
    let grant = grant.ok_or(FhirError::Unauthorized)?.0;
    if grant.person_scope().data_holder.is_some() {
        return Err(FhirError::Forbidden(
            "record location needs a network access token",
        ));
    }
    let st = state.clone();
    let g = grant.clone();
    let sites = tokio::task::spawn_blocking(move || locate(&st, &g))
        .await
        .map_err(|_| FhirError::Internal)?
        .map_err(|e| {
            tracing::error!(error = %e, "record location failed");
            FhirError::Internal
        })?;
    let bundle = bundle(&state, &sites)?;
    Ok(crate::fhir::fhir_ok(bundle.to_string().into_bytes()))
}

/// The accepting sites where the grant releases at least one clinical resource, sorted.
pub fn locate(state: &HolderState, grant: &Grant) -> Result<Vec<String>, String> {
    let store = state.store();
    let mut out = Vec::new();
    for site in &grant.person_scope().accepting_sites {
        for rtype in grant.referencing_types() {
            let Ok(filter) = grant.to_filter(rtype, Interaction::Search) else {
                continue;
            };
            if filter == Filter::Nothing {
                continue;
            }
            let pairs = [("_summary".to_owned(), "count".to_owned())];
            let query = tessera_fhir::parse_search(rtype, &pairs).map_err(|e| e.to_string())?;
            let page = store
                .search(Scope::Site(site), &query, &filter)
                .map_err(|e| e.to_string())?;
            if page.total.unwrap_or(0) > 0 {
                out.push(site.clone());
                break;
            }
        }
    }
    Ok(out)
}

fn bundle(state: &HolderState, sites: &[String]) -> Result<Value, FhirError> {
    let base = state.config().base_url.trim_end_matches('/').to_owned();
    let mut entries = Vec::new();
    for site in sites {
        let Some(profile) = state.network().site(site) else {
            continue;
        };
        let site_url = site_base(&base, site);
        let org = match profile.organization_ids.first() {
            Some(id) => state
                .store()
                .read(Scope::Site(site), "Organization", id, &Filter::All)
                .map_err(FhirError::from)?
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok()),
            None => None,
        };
        let org = org.unwrap_or_else(|| {
            json!({
                "resourceType": "Organization",
                "id": format!("site-{site}"),
                "name": profile.name,
                "identifier": profile.identifiers.iter().map(|(s, v)| json!({"system": s, "value": v})).collect::<Vec<_>>(),
            })
        });
        let org_id = org
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let endpoint = json!({
            "resourceType": "Endpoint",
            "id": format!("site-{site}"),
            "extension": [{"url": TOKEN_ENDPOINT_EXTENSION, "valueUrl": format!("{site_url}/token")}],
            "status": "active",
            "connectionType": {
                "system": "http://terminology.hl7.org/CodeSystem/endpoint-connection-type",
                "code": "hl7-fhir-rest"
            },
            "name": profile.name,
            "managingOrganization": {"reference": format!("Organization/{org_id}"), "display": profile.name},
            "payloadType": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/endpoint-payload-type", "code": "any"}]}],
            "payloadMimeType": ["application/fhir+json"],
            "address": site_url,
        });
        entries.push(
            json!({"fullUrl": format!("{site_url}/Endpoint/site-{site}"), "resource": endpoint}),
        );
        entries
            .push(json!({"fullUrl": format!("{site_url}/Organization/{org_id}"), "resource": org}));
    }
    Ok(json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": entries,
    }))
}
