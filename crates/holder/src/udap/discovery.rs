//! `GET [base]/.well-known/udap` (UDAP Security IG §2; UDAP Server Metadata): what this Data
//! Holder accepts from UDAP clients, and `signed_metadata` signed with our community
//! certificate (`x5c`). `?community=` selects a community by its `[[trust_framework]]` id;
//! without it the first community we hold a certificate for answers. A community we do not
//! serve is `204 No Content` (IG STU 1.1, FHIR-43014); no UDAP community at all is `404`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tessera_jose::Alg;
use tessera_udap::metadata::{MetadataClaims, sign_metadata};

use crate::state::HolderState;
use crate::token::request::TOKEN_EXCHANGE;
use crate::udap::Community;

/// Lifetime of the `signed_metadata` we send, seconds.
pub const SIGNED_METADATA_LIFETIME: i64 = 3600;

/// The unsigned members of the document (everything but `signed_metadata`).
pub fn udap_document(state: &HolderState) -> Map<String, Value> {
    let base = &state.config().base_url;
    let client_algs: Vec<&str> = Alg::CLIENT.iter().map(|a| a.as_str()).collect();
    let statement_algs: Vec<&str> = Alg::TICKET.iter().map(|a| a.as_str()).collect();
    let registration = state.config().registration.enabled;
    let mut doc = json!({
        "udap_versions_supported": [tessera_udap::UDAP_VERSION],
        "udap_profiles_supported": if registration { json!(["udap_dcr", "udap_authn"]) } else { json!(["udap_authn"]) },
        "udap_authorization_extensions_supported": ["hl7-b2b"],
        "udap_authorization_extensions_required": [],
        "udap_certifications_supported": [],
        "udap_certifications_required": [],
        "grant_types_supported": [TOKEN_EXCHANGE],
        "scopes_supported": ["system/*.rs", "patient/*.rs"],
        "token_endpoint": format!("{base}/token"),
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": client_algs,
        "registration_endpoint_jwt_signing_alg_values_supported": statement_algs,
    });
    if registration && let Some(m) = doc.as_object_mut() {
        m.insert(
            "registration_endpoint".into(),
            format!("{base}/register").into(),
        );
    }
    doc.as_object().cloned().unwrap_or_default()
}

/// The community that answers `?community=` (or the default one).
fn community<'a>(state: &'a HolderState, requested: Option<&str>) -> Option<&'a Community> {
    let list = &state.inner.udap;
    match requested {
        Some(id) => list.get(id).filter(|c| c.own.is_some()),
        None => list.iter().find(|c| c.own.is_some()),
    }
}

/// The handler.
pub async fn udap_handler(
    State(state): State<HolderState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !state.inner.udap.iter().any(|c| c.own.is_some()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Some(c) = community(&state, q.get("community").map(String::as_str)) else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let Some(own) = &c.own else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let mut doc = udap_document(&state);
    let jti = uuid::Uuid::new_v4().to_string();
    let claims = MetadataClaims {
        base_url: &state.config().base_url,
        document: &doc,
        now: state.now(),
        lifetime: SIGNED_METADATA_LIFETIME,
        jti: &jti,
    };
    match sign_metadata(&claims, &own.chain, &own.signer) {
        Ok(jwt) => {
            doc.insert("signed_metadata".into(), jwt.into());
            Json(Value::Object(doc)).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "signed_metadata");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
