//! The token endpoint (`POST [base]/token`: token exchange, and refresh for `continuation`
//! tickets) and introspection (`POST [base]/introspect`): thin axum handlers over the plain
//! pipeline functions in [`exchange`], [`refresh`] and [`introspect`]; the body is read and
//! refused (audited, OAuth-shaped) by [`oauth_http`].

pub mod access_token;
pub mod claimed;
pub mod client_auth;
pub mod commit;
pub mod dpop;
pub mod error;
pub mod exchange;
pub mod introspect;
pub mod launch;
pub mod oauth_http;
pub mod refresh;
pub mod replay_guard;
pub mod request;
pub mod supporting;
pub mod type_rules;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use crate::state::HolderState;
use crate::token::error::{TokenError, no_store};
use crate::token::oauth_http::{read_form_request, refuse};
use crate::token::request::MAX_BODY_BYTES;

/// `POST [base]/token`.
pub async fn token_handler(State(state): State<HolderState>, req: Request) -> Response {
    let read = read_form_request(req, MAX_BODY_BYTES).await.and_then(|r| {
        let dpop = single_header(&r.headers, "dpop")?.map(str::to_owned);
        Ok((r.params, dpop))
    });
    let (params, dpop) = match read {
        Ok(r) => r,
        Err(e) => return refuse(&state, "token_exchange", e).await,
    };
    if params.get("grant_type") == Some(refresh::REFRESH_TOKEN) {
        return respond(refresh::refresh(&state, &params, dpop.as_deref()).await);
    }
    respond(exchange::redeem(&state, &params, dpop.as_deref()).await)
}

/// `POST [base]/introspect`.
pub async fn introspect_handler(State(state): State<HolderState>, req: Request) -> Response {
    let params = match read_form_request(req, MAX_BODY_BYTES).await {
        Ok(r) => r.params,
        Err(e) => return refuse(&state, "introspection", e).await,
    };
    respond(introspect::introspect(&state, &params).await)
}

pub(crate) fn respond<T: serde::Serialize>(result: Result<T, TokenError>) -> Response {
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
pub(crate) fn single_header<'h>(
    headers: &'h HeaderMap,
    name: &str,
) -> Result<Option<&'h str>, TokenError> {
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
