//! The issuer's refusal log: every refused request of the minting API (`POST /tickets`,
//! `GET` / `DELETE /tickets/{jti}`, and the authentication or body failures of
//! `POST /tickets/check`) is recorded, durably, before its error is sent, so an operator can
//! see who was turned away and why (`tessera issuer refusals`). Issuance rows already record
//! every ticket granted; this is the other half. What `check` answers about the claims
//! themselves is a dry run's verdict, not a refusal, and is not recorded.

use serde::Serialize;

/// Longest text kept from caller input (a claimed client id, a path `jti`, a ticket type).
pub const MAX_REFUSAL_FIELD: usize = 256;

/// One refused request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusalRecord {
    /// Row id (assigned on insert; 0 before).
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// `mint`, `check`, `record` or `revoke`.
    pub endpoint: String,
    /// The authenticated caller (`demo` in demo mode), when authentication succeeded.
    pub client_id: Option<String>,
    /// The client id an assertion claimed (`iss`) when authentication failed, unverified.
    pub claimed_client_id: Option<String>,
    /// The HTTP status sent.
    pub status: u16,
    /// The `error` code sent.
    pub error: String,
    /// The `error_description` sent.
    pub error_description: String,
    /// The `ticket_type` asked for (mint), or `None`.
    pub ticket_type: Option<String>,
    /// The ticket asked about (record, revoke), or `None`.
    pub jti: Option<String>,
}

/// `s` cut to [`MAX_REFUSAL_FIELD`] characters.
pub fn bounded(s: &str) -> String {
    s.chars().take(MAX_REFUSAL_FIELD).collect()
}
