//! The issuer's error enums: [`IssueError`] for minting, lookup and revocation, [`AuthError`]
//! for client authentication of the API. `http.rs` maps both onto status codes in one place.

use tessera_ticket::TicketError;

use crate::db::DbError;

/// Why a mint, lookup or revocation failed.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The request is not a usable mint request (not an object, issuer-owned claim supplied,
    /// `exp` out of bounds, ...).
    #[error("invalid mint request: {0}")]
    Request(String),
    /// The claims are ones our own verifier would reject; the rule is named.
    #[error("ticket refused: {}", crate::mint::refusal_description(.0))]
    Refused(TicketError),
    /// The request's verification record is missing or insufficient (PT-ISS-06).
    #[error("verification record refused: {0}")]
    Verification(String),
    /// The authenticated client may not mint this type.
    #[error("client {client:?} may not mint {ticket_type} tickets")]
    TypeNotAllowed {
        /// The client.
        client: String,
        /// The type's URI.
        ticket_type: String,
    },
    /// No such ticket (or not one the caller may see).
    #[error("no ticket {0:?}")]
    NotFound(String),
    /// Every index of the type's status list is taken.
    #[error("status list {0:?} is full")]
    ListFull(String),
    /// Signing failed (key or HSM problem).
    #[error("signing failed: {0}")]
    Signing(TicketError),
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Why a caller of the API was not authenticated. Every variant is a 401 `invalid_client`;
/// the description says which check failed, which helps integrators and tells an attacker
/// nothing the assertion format does not already.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer <assertion>` header.
    #[error("client assertion required (Authorization: Bearer <assertion>)")]
    Missing,
    /// Not a well-formed JWS with an allowed algorithm, or claims of the wrong types.
    #[error("malformed client assertion")]
    Malformed,
    /// `iss` and `sub` differ or are absent.
    #[error("client assertion iss and sub must both be the client id")]
    IssSubMismatch,
    /// `iss` is not a registered minting client.
    #[error("unknown client")]
    UnknownClient,
    /// No registered key verifies the signature.
    #[error("client assertion signature invalid")]
    BadSignature,
    /// `aud` does not name the mint URL.
    #[error("client assertion aud must be {0}")]
    WrongAudience(String),
    /// `exp` missing or passed.
    #[error("client assertion expired")]
    Expired,
    /// `exp` too far ahead (bounds the replay cache).
    #[error("client assertion lifetime exceeds {0} seconds")]
    TooLong(i64),
    /// `iat` in the future.
    #[error("client assertion issued in the future")]
    IssuedInFuture,
    /// `jti` missing, empty or too long.
    #[error("client assertion jti missing or invalid")]
    BadJti,
    /// `jti` seen before.
    #[error("client assertion replayed")]
    Replayed,
    /// The replay cache could not be consulted: fail closed.
    #[error("replay check unavailable")]
    Unavailable,
}
