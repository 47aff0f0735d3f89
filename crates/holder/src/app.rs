//! `app(state) -> Router`: the whole Data Holder under its FHIR base path — token endpoint,
//! introspection, discovery, admin audit, and the FHIR API behind the token middleware; plus
//! the probes (`/healthz`, `/readyz`) at the root.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::get;

use crate::auth::require_token;
use crate::fhir::{FhirState, fhir_router};
use crate::ops::metrics::track;
use crate::state::HolderState;
use crate::token::oauth_http::oauth_post;
use crate::token::request::MAX_BODY_BYTES;
use crate::token::{introspect_handler, token_handler};

/// The Data Holder router. Routes live under the path of the configured `base_url`.
pub fn app(state: HolderState) -> Result<Router, String> {
    let fhir_state = FhirState::new(state.store().clone(), &state.config().base_url)
        .map_err(|e| format!("FHIR state: {e}"))?;
    let fhir = fhir_router(fhir_state)
        .merge(crate::network::location::routes(state.clone()))
        .layer(from_fn_with_state(state.clone(), require_token));
    let own = Router::new()
        .route("/token", oauth_post(token_handler, "token_exchange"))
        .route(
            "/introspect",
            oauth_post(introspect_handler, "introspection"),
        )
        .route(
            "/.well-known/smart-configuration",
            get(crate::discovery::smart_configuration_handler),
        )
        .route("/admin/audit", get(crate::audit::admin_audit_handler))
        .route(
            "/site/{site}/token",
            oauth_post(crate::network::site::site_token_handler, "token_exchange"),
        )
        .route(
            "/site/{site}/.well-known/smart-configuration",
            get(crate::network::site::site_configuration_handler),
        )
        .route(
            "/.well-known/udap",
            get(crate::udap::discovery::udap_handler),
        )
        .route(
            "/register",
            if state.config().registration.enabled {
                oauth_post(crate::registration::register_handler, "registration")
            } else {
                oauth_post(crate::registration::registration_disabled, "registration")
            },
        )
        .route(
            "/register/{client_id}",
            if state.config().registration.enabled {
                get(crate::registration::manage::read_handler)
                    .delete(crate::registration::manage::delete_handler)
                    .fallback(crate::registration::manage::method_not_allowed)
            } else {
                axum::routing::any(crate::registration::registration_disabled)
            },
        )
        // Room for an oversized registration body to reach its own size check (PT-REQ-07).
        .layer(DefaultBodyLimit::max(2 * MAX_BODY_BYTES));
    let own = if state.config().workbench.enabled {
        own.merge(crate::workbench::routes())
    } else {
        own
    }
    .with_state(state.clone());
    // Latency per route template: layered before nesting, so the template is the full path.
    let inner = own
        .merge(fhir)
        .layer(from_fn_with_state(state.metrics().clone(), track));
    let path = base_path(&state.config().base_url);
    let api = if path.is_empty() {
        inner
    } else {
        Router::new().nest(&path, inner)
    };
    Ok(api.merge(crate::ops::probe_routes(state.clone())))
}

/// The path part of the base URL without a trailing slash (`""` for a root base).
pub fn base_path(base_url: &str) -> String {
    url::Url::parse(base_url)
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .unwrap_or_default()
}
