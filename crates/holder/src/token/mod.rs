//! The token endpoint (`POST [base]/token`) and introspection (`POST [base]/introspect`):
//! thin axum handlers over the plain pipeline functions in [`exchange`] and [`introspect`].

pub mod access_token;
pub mod client_auth;
pub mod dpop;
pub mod error;
pub mod exchange;
pub mod introspect;
pub mod request;
pub mod type_rules;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use crate::state::HolderState;
use crate::token::error::{TokenError, no_store};
use crate::token::request::FormParams;

/// `POST [base]/token`.
pub async fn token_handler(
    State(state): State<HolderState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let params = match FormParams::parse(content_type, &body) {
        Ok(p) => p,
        Err(e) => {
            return exchange::audit_unreadable_request(&state, "token_exchange", e)
                .await
                .into_response();
        }
    };
    let dpop = match single_header(&headers, "dpop") {
        Ok(d) => d,
        Err(e) => {
            return exchange::audit_unreadable_request(&state, "token_exchange", e)
                .await
                .into_response();
        }
    };
    match exchange::redeem(&state, &params, dpop).await {
        Ok(resp) => {
            let mut r = Json(resp).into_response();
            no_store(&mut r);
            r
        }
        Err(e) => e.into_response(),
    }
}

/// `POST [base]/introspect`.
pub async fn introspect_handler(
    State(state): State<HolderState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let params = match FormParams::parse(content_type, &body) {
        Ok(p) => p,
        Err(e) => {
            return exchange::audit_unreadable_request(&state, "introspection", e)
                .await
                .into_response();
        }
    };
    match introspect::introspect(&state, &params).await {
        Ok(v) => {
            let mut r = Json(v).into_response();
            no_store(&mut r);
            r
        }
        Err(e) => e.into_response(),
    }
}

/// A header that may appear at most once (RFC 9449 §4.3: one DPoP proof).
fn single_header<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, TokenError> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(TokenError::InvalidDpop("more than one DPoP header"));
    }
    first
        .map(|v| {
            v.to_str()
                .map_err(|_| TokenError::InvalidDpop("non-ASCII DPoP header"))
        })
        .transpose()
}
