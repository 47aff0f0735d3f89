//! `FhirError`: every failure of the FHIR API, mapped to a status and an OperationOutcome in
//! one place. Details that could help an attacker (SQL, store errors) go to the log only.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tessera_fhir::SearchError;
use tessera_store::StoreError;

use crate::auth::refusal::Refusal;

/// The FHIR media type of every response body.
pub const FHIR_JSON: &str = "application/fhir+json";

/// A FHIR API failure.
#[derive(Debug, thiserror::Error)]
pub enum FhirError {
    /// No Grant on the request (the auth middleware did not admit it).
    #[error("authentication required")]
    Unauthorized,
    /// The grant does not cover this type/interaction, or an operation was requested.
    #[error("{0}")]
    Forbidden(&'static str),
    /// Unknown type, site or route; or a resource outside the grant (indistinguishable).
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed or asks for something we do not support.
    #[error("{0}")]
    BadRequest(String),
    /// The HTTP method is not supported on this route.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A `_search` body that is not form-encoded.
    #[error("unsupported media type: use application/x-www-form-urlencoded")]
    UnsupportedMediaType,
    /// A `_search` body over the limit (`MAX_BODY_BYTES`).
    #[error("request body too large")]
    PayloadTooLarge,
    /// A storage or runtime failure (logged, never described to the client).
    #[error("internal error")]
    Internal,
}

impl FhirError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            FhirError::Unauthorized => (StatusCode::UNAUTHORIZED, "login"),
            FhirError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            FhirError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found"),
            FhirError::BadRequest(_) => (StatusCode::BAD_REQUEST, "invalid"),
            FhirError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "not-supported"),
            FhirError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "not-supported")
            }
            FhirError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too-costly"),
            FhirError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "exception"),
        }
    }
}

impl From<SearchError> for FhirError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::UnsupportedType(t) => {
                FhirError::NotFound(format!("resource type not supported: {t}"))
            }
            other => FhirError::BadRequest(other.to_string()),
        }
    }
}

impl From<StoreError> for FhirError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::TooLarge(what) => {
                FhirError::BadRequest(format!("request too large: {what}"))
            }
            other => {
                tracing::error!(error = %other, "store failure");
                FhirError::Internal
            }
        }
    }
}

impl IntoResponse for FhirError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let outcome = json!({
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": self.to_string()}]
        });
        let mut resp = (status, outcome.to_string()).into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
        if matches!(self, FhirError::Unauthorized) {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        match self.refusal() {
            Some(why) => why.attach(resp),
            None => resp,
        }
    }
}

impl FhirError {
    /// What the audit row of this refusal records; `None` for an internal error, which is
    /// not a decision (it is logged where it happened).
    fn refusal(&self) -> Option<Refusal> {
        let (_, code) = self.status_and_code();
        let step = match self {
            FhirError::Unauthorized => "access_token",
            FhirError::Forbidden(_) => "grant",
            FhirError::NotFound(_) => "resource",
            FhirError::BadRequest(_)
            | FhirError::MethodNotAllowed
            | FhirError::UnsupportedMediaType
            | FhirError::PayloadTooLarge => "request",
            FhirError::Internal => return None,
        };
        Some(Refusal::new(step, code, self.to_string()))
    }
}

/// A 200 response carrying FHIR JSON bytes.
pub fn fhir_ok(body: Vec<u8>) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    resp
}
