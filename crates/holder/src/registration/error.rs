//! [`RegistrationError`]: every way `POST [base]/register` fails, mapped once onto RFC 7591
//! §3.2.2 (and RFC 6750 for the initial access token). Trust failures of a software statement
//! are `unapproved_software_statement`; its defects `invalid_software_statement`; bad client
//! metadata `invalid_client_metadata`. Descriptions name the failed check.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tessera_udap::{ErrorClass, UdapError};

use crate::token::error::no_store;

/// A registration failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    /// RFC 7591 `invalid_client_metadata`.
    #[error("{0}")]
    InvalidClientMetadata(String),
    /// RFC 7591 `invalid_software_statement`.
    #[error("{0}")]
    InvalidSoftwareStatement(String),
    /// RFC 7591 `unapproved_software_statement`.
    #[error("{0}")]
    UnapprovedSoftwareStatement(String),
    /// Initial access token (or RFC 7592 registration access token) missing or wrong.
    #[error("{0}")]
    InvalidToken(&'static str),
    /// RFC 7592: the registration does not exist (or is not the caller's).
    #[error("registration not found")]
    NotFound,
    /// RFC 7592: a method other than `GET` or `DELETE` on a registration.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Storage or audit failure.
    #[error("the server could not process the registration")]
    Internal(String),
}

impl RegistrationError {
    /// `(status, error, error_description)`.
    pub fn oauth(&self) -> (StatusCode, &'static str, String) {
        let bad = StatusCode::BAD_REQUEST;
        match self {
            RegistrationError::InvalidClientMetadata(d) => {
                (bad, "invalid_client_metadata", d.clone())
            }
            RegistrationError::InvalidSoftwareStatement(d) => {
                (bad, "invalid_software_statement", d.clone())
            }
            RegistrationError::UnapprovedSoftwareStatement(d) => {
                (bad, "unapproved_software_statement", d.clone())
            }
            RegistrationError::InvalidToken(d) => {
                (StatusCode::UNAUTHORIZED, "invalid_token", (*d).to_owned())
            }
            RegistrationError::NotFound => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "registration not found".into(),
            ),
            RegistrationError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request",
                "method not allowed (GET reads, DELETE removes a registration)".into(),
            ),
            RegistrationError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "The server could not process the registration".into(),
            ),
        }
    }
}

impl From<UdapError> for RegistrationError {
    fn from(e: UdapError) -> Self {
        let d = format!("software statement: {e}");
        match e.class() {
            ErrorClass::Trust => RegistrationError::UnapprovedSoftwareStatement(d),
            ErrorClass::Token => RegistrationError::InvalidSoftwareStatement(d),
        }
    }
}

impl IntoResponse for RegistrationError {
    fn into_response(self) -> Response {
        let (status, error, description) = self.oauth();
        let body = serde_json::json!({ "error": error, "error_description": description });
        let mut r = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        no_store(&mut r);
        r
    }
}
