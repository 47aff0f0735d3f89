//! The per-site Data Holders' own HTTP surface (issue 14): `[base]/site/{site}/token` and
//! `[base]/site/{site}/.well-known/smart-configuration`. A site that does not exist is 404 at
//! both (and at its FHIR base, see `crate::auth`), audited at each.
//!
//! A site token endpoint runs the same redemption pipeline against the site as
//! [`DataHolder`]: its own `aud`, its own client-assertion audience, its own identity for
//! `data_holder_filter`, only its records. Refresh is the network's (`grant_type=refresh_token`
//! is not offered here).

use axum::Json;
use axum::extract::{OriginalUri, Path, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth::refusal::{Asked, Refusal, audited};
use crate::network::DataHolder;
use crate::state::HolderState;
use crate::token::error::TokenError;
use crate::token::oauth_http::{read_form_request, refuse};
use crate::token::request::{MAX_BODY_BYTES, TOKEN_EXCHANGE};
use crate::token::{exchange, respond, single_header};

/// The site a FHIR-router path (relative to the network base) addresses, if any.
pub fn asked_site(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/site/")?;
    Some(rest.split('/').next().unwrap_or(rest))
}

fn holder(state: &HolderState, site: &str) -> Option<DataHolder> {
    DataHolder::site(state.config(), state.network(), site)
}

/// `POST [base]/site/{site}/token`.
pub async fn site_token_handler(
    State(state): State<HolderState>,
    Path(site): Path<String>,
    req: Request,
) -> Response {
    let Some(holder) = holder(&state, &site) else {
        return refuse(&state, "token_exchange", TokenError::UnknownDataHolder).await;
    };
    let read = read_form_request(req, MAX_BODY_BYTES).await.and_then(|r| {
        let dpop = single_header(&r.headers, "dpop")?.map(str::to_owned);
        Ok((r.params, dpop))
    });
    let (params, dpop) = match read {
        Ok(r) => r,
        Err(e) => return refuse(&state, "token_exchange", e).await,
    };
    respond(exchange::redeem_at(&state, &holder, &params, dpop.as_deref()).await)
}

/// The site's discovery document: the network's, with the site's own endpoints.
pub fn site_configuration(state: &HolderState, holder: &DataHolder) -> Value {
    let mut doc = crate::discovery::smart_configuration(state);
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("token_endpoint".into(), json!(holder.token_url()));
        obj.insert("grant_types_supported".into(), json!([TOKEN_EXCHANGE]));
        // Record location is the network's operation; a site has only its own records.
        obj.remove(crate::discovery::RECORD_LOCATION_KEY);
    }
    doc
}

/// `GET [base]/site/{site}/.well-known/smart-configuration`.
pub async fn site_configuration_handler(
    State(state): State<HolderState>,
    OriginalUri(uri): OriginalUri,
    Path(site): Path<String>,
) -> Response {
    match holder(&state, &site) {
        Some(h) => Json(site_configuration(&state, &h)).into_response(),
        None => {
            let refused = (
                StatusCode::NOT_FOUND,
                Json(json!({"error": "not_found", "error_description": "No such Data Holder"})),
            )
                .into_response();
            let asked = Asked {
                event: "discovery",
                method: &Method::GET,
                path: uri.path(),
            };
            audited(
                &state,
                &asked,
                None,
                unknown_site(&site).attach(refused),
                || StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            )
            .await
        }
    }
}

/// The refusal of a request for a site base that does not exist (discovery or FHIR; the
/// token endpoint audits through its own refusal path). The site name is the caller's input,
/// so it is cut to a bounded length before it is stored.
pub fn unknown_site(site: &str) -> Refusal {
    let asked: String = site.chars().take(128).collect();
    Refusal::new("data_holder", "not_found", "No such Data Holder")
        .with_details(json!({ "asked": asked }))
}
