//! The HTTP edge shared by every OAuth endpoint (`/token`, `/introspect`, and `/register`
//! when it lands): the request body is read here, under our own bound, instead of by an axum
//! extractor, so that *every* refusal — wrong media type, oversized (declared or chunked),
//! unreadable, non-UTF-8, duplicated parameters, a wrong method — is an RFC 6749 §5.2 JSON
//! error with `Cache-Control: no-store`, and is audited like any other decision (issue 9).
//! An extractor's rejection (`413 text/plain`) would reach the client before any of that.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};

use crate::state::HolderState;
use crate::token::error::TokenError;
use crate::token::exchange::audit_unreadable_request;
use crate::token::request::FormParams;

/// A form request that passed the edge checks.
#[derive(Debug)]
pub struct OAuthRequest {
    /// The request headers.
    pub headers: HeaderMap,
    /// The decoded parameters.
    pub params: FormParams,
}

/// Reads a form body of at most `limit` bytes: the declared `Content-Length` is checked before
/// reading, and the stream is cut at `limit` whatever it declares (chunked bodies).
pub async fn read_form_request(req: Request, limit: usize) -> Result<OAuthRequest, TokenError> {
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(TokenError::InvalidRequest("Request too large"));
    }
    let bytes = read_bounded(body, limit).await?;
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let params = FormParams::parse(content_type, &bytes)?;
    Ok(OAuthRequest {
        headers: parts.headers,
        params,
    })
}

async fn read_bounded(body: Body, limit: usize) -> Result<Bytes, TokenError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = e
            .into_inner()
            .downcast_ref::<http_body_util::LengthLimitError>()
            .is_some();
        if too_large {
            TokenError::InvalidRequest("Request too large")
        } else {
            TokenError::InvalidRequest("Request body could not be read")
        }
    })
}

/// Audits a refusal that happened before the endpoint's own logic, and shapes it.
pub async fn refuse(state: &HolderState, event: &str, e: TokenError) -> Response {
    audit_unreadable_request(state, event, e)
        .await
        .into_response()
}

/// `POST` routed to `handler`; any other method is refused as an audited OAuth error (405,
/// `invalid_request`, `Allow: POST`). `event` names the audit rows.
pub fn oauth_post<H, T>(handler: H, event: &'static str) -> MethodRouter<HolderState>
where
    H: Handler<T, HolderState>,
    T: 'static,
{
    post(handler).fallback(move |State(state): State<HolderState>| async move {
        let mut resp = refuse(&state, event, TokenError::MethodNotAllowed).await;
        if resp.status() == axum::http::StatusCode::METHOD_NOT_ALLOWED {
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        resp
    })
}
