//! Why a grant could not be computed, and the one mapping to OAuth error codes.

/// The OAuth `error` code a token endpoint returns for an [`AccessError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthCode {
    /// `invalid_scope`: the requested scope is malformed or nothing can be granted.
    InvalidScope,
    /// `invalid_grant`: the ticket's constraints cannot be honoured here.
    InvalidGrant,
}

impl OAuthCode {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthCode::InvalidScope => "invalid_scope",
            OAuthCode::InvalidGrant => "invalid_grant",
        }
    }
}

/// A grant computation failure. Descriptions never reveal whether withheld data exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// The `scope` parameter is not SMART scope grammar we accept (PT-ACC-06).
    #[error("Malformed scope")]
    MalformedScope,
    /// The intersection is empty (PT-ACC-04).
    #[error("No authorized scopes")]
    NoAuthorizedScopes,
    /// A ticket member is malformed; names its path (OP-07).
    #[error("Malformed permission ticket: {0}")]
    MalformedTicket(&'static str),
    /// A ticket constraint that this Data Holder cannot enforce (OP-14, PT-CL-02, PT-DHF-09).
    #[error("Cannot enforce access constraint: {0}")]
    Unenforceable(&'static str),
    /// A constraint this Data Holder does not implement (rule 1; PT-SENS-01).
    #[error("Unsupported access constraint: {0}")]
    Unsupported(&'static str),
    /// A member the ticket type requires is absent.
    #[error("Ticket missing required claim: {0}")]
    MissingClaim(&'static str),
    /// `data_holder_filter` names other Data Holders (PT-DHF-02).
    #[error("Data Holder not within ticket data_holder_filter")]
    HolderNotInFilter,
    /// A public-health ticket names a `reportable_condition` no local disclosure policy
    /// covers (PT-TYPE-18).
    #[error("No local disclosure policy for reportable_condition")]
    NoDisclosurePolicy,
}

impl AccessError {
    /// The OAuth error code and `error_description`.
    pub fn oauth(&self) -> (OAuthCode, String) {
        let code = match self {
            AccessError::MalformedScope | AccessError::NoAuthorizedScopes => {
                OAuthCode::InvalidScope
            }
            AccessError::MalformedTicket(_)
            | AccessError::Unenforceable(_)
            | AccessError::Unsupported(_)
            | AccessError::MissingClaim(_)
            | AccessError::HolderNotInFilter
            | AccessError::NoDisclosurePolicy => OAuthCode::InvalidGrant,
        };
        (code, self.to_string())
    }
}
