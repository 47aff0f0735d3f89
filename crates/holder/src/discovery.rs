//! `GET [base]/.well-known/smart-configuration` (spec-digest §6, PT-DISC): the token-exchange
//! grant, the accepted ticket types, auth methods/algorithms and presenter bindings exactly as
//! the token endpoint accepts them, and the registration endpoint when registration is on.
//! Every URL comes from the configured base URL, never from request headers.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use tessera_jose::Alg;

use crate::state::HolderState;
use crate::token::refresh::REFRESH_TOKEN;
use crate::token::request::TOKEN_EXCHANGE;

/// Discovery member naming the record-location operation (issue 14; network base only).
pub const RECORD_LOCATION_KEY: &str = "smart_permission_ticket_record_location_endpoint";

/// The discovery document.
pub fn smart_configuration(state: &HolderState) -> Value {
    let base = &state.config().base_url;
    let algs: Vec<&str> = Alg::CLIENT.iter().map(|a| a.as_str()).collect();
    let types: Vec<&str> = state.supported_types().iter().map(|t| t.uri()).collect();
    // Refresh is advertised only when `continuation` tickets can actually yield one.
    let mut grant_types = vec![TOKEN_EXCHANGE];
    if state.config().continuation.enabled {
        grant_types.push(REFRESH_TOKEN);
    }
    let mut doc = json!({
        "token_endpoint": format!("{base}/token"),
        "introspection_endpoint": format!("{base}/introspect"),
        "grant_types_supported": grant_types,
        "smart_permission_ticket_types_supported": types,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": algs,
        "introspection_endpoint_auth_methods_supported": ["private_key_jwt"],
        "dpop_signing_alg_values_supported": algs,
        "capabilities": ["client-confidential-asymmetric", "permission-v2", "permission-patient"],
        "code_challenge_methods_supported": [],
        "response_types_supported": [],
        "supported_client_binding_types": binding_types(state),
        RECORD_LOCATION_KEY: format!("{base}/{}", crate::network::location::OPERATION),
    });
    // RFC 8414 §2: advertised only when served (RFC 7591 and UDAP DCR share the endpoint).
    if state.config().registration.enabled
        && let Some(m) = doc.as_object_mut()
    {
        m.insert(
            "registration_endpoint".into(),
            format!("{base}/register").into(),
        );
    }
    doc
}

/// The presenter bindings a client can satisfy here: `jkt` always (every client proves a
/// key); `trust_framework_client` only when some client can hold a framework identity (a
/// configured trust framework that verifies one, or an asserted `framework_identity`).
fn binding_types(state: &HolderState) -> Vec<&'static str> {
    let cfg = state.config();
    let mut out = vec!["jkt"];
    // Every framework type verifies a client identity (UDAP x5c, OIDF trust chain,
    // well-known JWKS of a recognised entity).
    let verifiable = !cfg.trust_framework_configs.is_empty();
    let asserted = cfg.clients.iter().any(|c| c.framework_identity.is_some());
    if verifiable || asserted {
        out.push("trust_framework_client");
    }
    out
}

/// The handler.
pub async fn smart_configuration_handler(State(state): State<HolderState>) -> Json<Value> {
    Json(smart_configuration(&state))
}
