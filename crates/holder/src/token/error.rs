//! `TokenError`: every way a token-endpoint (or introspection) request fails, and the one
//! mapping onto RFC 6749 §5.2 / RFC 8693 / RFC 9449 responses (status, `error`,
//! `error_description`). Where the Permission Tickets spec names a code, it wins (§7).
//!
//! Descriptions are the spec's examples (or OP-07's); internal detail goes to the log and the
//! audit trail, never to the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_access::AccessError;
use tessera_ticket::TicketError;

use crate::token::client_auth::ClientAuthError;

/// A token-endpoint failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Malformed request (form encoding, duplicates, sizes, token type, actor token, ...).
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// A method other than `POST` at an OAuth endpoint (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// `grant_type` is not token exchange (step 0).
    #[error("unsupported grant type")]
    UnsupportedGrantType,
    /// Layer 1 failed (401).
    #[error("client authentication failed: {0}")]
    InvalidClient(ClientAuthError),
    /// `resource` / `audience` names another server (OP-11).
    #[error("invalid target")]
    InvalidTarget,
    /// A pure ticket check failed (steps 3, 4, 5, 8, 10, 12, 13).
    #[error("ticket rejected: {0}")]
    Ticket(TicketError),
    /// No trust policy names `iss`, or not for this ticket type (OP-05, step 7).
    #[error("issuer not trusted: {0}")]
    IssuerNotTrusted(String),
    /// The issuer's keys could not be retrieved (step 4).
    #[error("issuer keys unavailable")]
    IssuerKeysUnavailable,
    /// The status-list bit is set (step 9).
    #[error("ticket revoked")]
    Revoked,
    /// Revocation status could not be determined: fail closed (step 9).
    #[error("revocation status undeterminable: {0}")]
    RevocationUndeterminable(String),
    /// `presenter_binding` does not match the authenticated client (step 10).
    #[error("presenter binding mismatch: {0}")]
    BindingMismatch(&'static str),
    /// Unbound B2B ticket, client not registered as acting for the requester (OP-33).
    #[error("client does not act for the requester")]
    NotActingForRequester,
    /// Identity evidence failed a check (step 11); the reason is for logs.
    #[error("invalid identity evidence: {0}")]
    InvalidEvidence(&'static str),
    /// The ticket type's evidence profile requires this slot and the ticket lacks it
    /// (step 11, PT-EVID-13).
    #[error("identity evidence required: {0}")]
    EvidenceRequired(&'static str),
    /// No local patient matches (step 14).
    #[error("subject not resolved")]
    SubjectUnresolved,
    /// Proposal 001: the subject of an otherwise acceptable consumer ticket could not be
    /// resolved; the client may start an interactive launch with this value. (Not displayed:
    /// the launch value is a secret and stays out of logs.)
    #[error("interaction required")]
    InteractionRequired(String),
    /// More than one local patient matches (step 14).
    #[error("subject ambiguous")]
    SubjectAmbiguous,
    /// Quality gap: no coverage/contract relationship between requester and patient (OP-35).
    #[error("requester relationship not established")]
    RelationshipNotEstablished,
    /// `claim_linkage` cannot be enforced (unknown encounter, other patient; PT-CL-02).
    #[error("claim linkage not enforceable: {0}")]
    ClaimLinkage(&'static str),
    /// Access calculation (step 12 checks repeated there, and step 15).
    #[error("access: {0}")]
    Access(AccessError),
    /// A DPoP proof was sent and is not valid (RFC 9449 §5).
    #[error("invalid DPoP proof: {0}")]
    InvalidDpop(&'static str),
    /// A refresh token is unknown, not this client's, revoked, reused or past its bounds
    /// (`token/refresh.rs`); the description says which.
    #[error("refresh refused: {0}")]
    Refresh(&'static str),
    /// A record linked to the resolved person contradicts the ticket subject's demographics
    /// (issue 14: linkage never launders a mismatch); the record is named in the audit row.
    #[error("linked record Patient/{0} contradicts the ticket subject")]
    LinkedRecordContradicts(String),
    /// A per-site Data Holder that does not exist (`[base]/site/{site}`: 404).
    #[error("no such Data Holder")]
    UnknownDataHolder,
    /// Our own failure (storage); logged, reported generically.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<TicketError> for TokenError {
    fn from(e: TicketError) -> Self {
        TokenError::Ticket(e)
    }
}

impl From<AccessError> for TokenError {
    fn from(e: AccessError) -> Self {
        TokenError::Access(e)
    }
}

impl TokenError {
    /// HTTP status, OAuth `error`, `error_description`: the one mapping.
    pub fn oauth(&self) -> (StatusCode, &'static str, String) {
        let bad = StatusCode::BAD_REQUEST;
        let grant = |d: &str| (bad, "invalid_grant", d.to_owned());
        match self {
            TokenError::InvalidRequest(d) => (bad, "invalid_request", (*d).to_owned()),
            TokenError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request",
                "Only POST is accepted".into(),
            ),
            TokenError::UnsupportedGrantType => (
                bad,
                "unsupported_grant_type",
                "Token exchange not supported".into(),
            ),
            TokenError::InvalidClient(e) => {
                (StatusCode::UNAUTHORIZED, "invalid_client", e.to_string())
            }
            TokenError::InvalidTarget => (
                bad,
                "invalid_target",
                "Requested resource or audience is not this server".into(),
            ),
            TokenError::Ticket(e) => {
                let (code, desc) = e.oauth_error();
                let status = if code == "server_error" {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    bad
                };
                (status, code, desc)
            }
            TokenError::IssuerNotTrusted(iss) => (
                bad,
                "invalid_grant",
                format!(
                    "Ticket issuer not trusted: {}",
                    iss.chars()
                        .filter(|c| !c.is_control())
                        .take(128)
                        .collect::<String>()
                ),
            ),
            TokenError::IssuerKeysUnavailable => grant("Unable to retrieve issuer keys"),
            TokenError::Revoked => grant("Ticket has been revoked"),
            TokenError::RevocationUndeterminable(_) => {
                grant("Ticket revocation status could not be determined")
            }
            TokenError::BindingMismatch(_) => grant("Ticket presenter binding mismatch"),
            TokenError::NotActingForRequester => {
                grant("Client not authorized to act for the ticket requester")
            }
            TokenError::InvalidEvidence(_) => grant("Invalid identity evidence"),
            TokenError::EvidenceRequired(_) => grant("Identity evidence required"),
            TokenError::SubjectUnresolved => grant("Unable to resolve ticket subject"),
            TokenError::SubjectAmbiguous => grant("Ambiguous ticket subject match"),
            TokenError::InteractionRequired(_) => (
                bad,
                "interaction_required",
                "Patient selection requires user interaction".into(),
            ),
            TokenError::RelationshipNotEstablished => {
                grant("Requester relationship not established")
            }
            TokenError::ClaimLinkage(_) => grant("Cannot enforce access constraint: claim_linkage"),
            TokenError::Access(e) => {
                let (code, desc) = e.oauth();
                (bad, code.as_str(), desc)
            }
            TokenError::InvalidDpop(_) => (bad, "invalid_dpop_proof", "Invalid DPoP proof".into()),
            TokenError::Refresh(d) => grant(d),
            TokenError::LinkedRecordContradicts(_) => {
                grant("Linked patient record contradicts the ticket subject")
            }
            TokenError::UnknownDataHolder => (
                StatusCode::NOT_FOUND,
                "invalid_request",
                "No such Data Holder".into(),
            ),
            TokenError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "The server could not process the request".into(),
            ),
        }
    }
}

/// An RFC 6749 error response with the no-store headers.
pub fn oauth_error_response(status: StatusCode, error: &str, description: &str) -> Response {
    with_members(status, error, description, serde_json::Map::new())
}

fn with_members(
    status: StatusCode,
    error: &str,
    description: &str,
    mut body: serde_json::Map<String, serde_json::Value>,
) -> Response {
    body.insert("error".into(), error.into());
    body.insert("error_description".into(), description.into());
    let mut resp = (status, Json(body)).into_response();
    no_store(&mut resp);
    resp
}

/// Adds `Cache-Control: no-store` and `Pragma: no-cache`.
pub fn no_store(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let (status, error, description) = self.oauth();
        let mut extra = serde_json::Map::new();
        if let TokenError::InteractionRequired(launch) = self {
            // Proposal 001: `{"error":"interaction_required","launch":"<id>"}`.
            extra.insert("launch".into(), launch.into());
        }
        with_members(status, error, &description, extra)
    }
}
