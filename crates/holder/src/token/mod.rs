//! The token endpoint (`POST [base]/token`) and introspection (`POST [base]/introspect`):
//! thin axum handlers over the plain pipeline functions in [`exchange`] and [`introspect`].

pub mod access_token;
pub mod client_auth;
pub mod commit;
pub mod dpop;
pub mod error;
pub mod exchange;
pub mod introspect;
pub mod replay_guard;
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
    let read = read_form(&headers, &body).and_then(|params| {
        let dpop = single_header(&headers, "dpop")?;
        Ok((params, dpop))
    });
    let (params, dpop) = match read {
        Ok(r) => r,
        Err(e) => return refuse_unreadable(&state, "token_exchange", e).await,
    };
    respond(exchange::redeem(&state, &params, dpop).await)
}

/// `POST [base]/introspect`.
pub async fn introspect_handler(
    State(state): State<HolderState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match read_form(&headers, &body) {
        Ok(p) => p,
        Err(e) => return refuse_unreadable(&state, "introspection", e).await,
    };
    respond(introspect::introspect(&state, &params).await)
}

fn read_form(headers: &HeaderMap, body: &[u8]) -> Result<FormParams, TokenError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    FormParams::parse(content_type, body)
}

/// A request refused before the pipeline could read it is still an audited attempt.
async fn refuse_unreadable(state: &HolderState, event: &str, e: TokenError) -> Response {
    exchange::audit_unreadable_request(state, event, e)
        .await
        .into_response()
}

fn respond<T: serde::Serialize>(result: Result<T, TokenError>) -> Response {
    match result {
        Ok(body) => {
            let mut r = Json(body).into_response();
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
