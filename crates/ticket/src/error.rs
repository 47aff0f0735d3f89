//! `TicketError`: every way a ticket can fail, grouped by pipeline stage, mapped onto the
//! spec's `error` / `error_description` pairs in exactly one place ([`TicketError::oauth_error`]).
//!
//! Variants keep the internal reason (for logs); the description given to clients is the
//! spec's (spec-digest §7, OP-07) and never more specific than that.

use tessera_jose::JoseError;

/// A ticket failure. Every variant except [`TicketError::Mint`] is attacker-reachable and maps
/// to `invalid_grant`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    /// Step 3: not a well-formed ticket.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// Step 4: signature, algorithm or key lookup failed.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// Step 5: `ticket_type` missing or unsupported.
    #[error(transparent)]
    Type(#[from] TypeError),
    /// Step 8 (times, audience).
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// Step 12: access constraints and kernel fields.
    #[error(transparent)]
    Constraint(#[from] ConstraintError),
    /// Steps 10 and 13: the type's required claims and shapes.
    #[error(transparent)]
    Claims(#[from] ClaimsError),
    /// The Data Holder's own pipeline steps (trust, keys, revocation, binding, evidence,
    /// constraint facts, subject), so every ticket failure maps through one function.
    #[error(transparent)]
    Holder(#[from] HolderError),
    /// Minting misuse (our own caller's fault, never a peer's).
    #[error(transparent)]
    Mint(#[from] MintError),
}

/// Failures of the steps the Data Holder performs itself (spec-digest §7 steps 4, 7, 9-14;
/// descriptions from the spec table and OP-07).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HolderError {
    /// Step 7 (and OP-05 before key fetch): `iss` not trusted for this type.
    #[error("issuer not trusted: {0}")]
    IssuerNotTrusted(String),
    /// Step 4: the issuer's JWKS could not be obtained (PT-VAL-07).
    #[error("issuer keys unavailable")]
    IssuerKeysUnavailable,
    /// Step 9: the status list marks the ticket revoked.
    #[error("revoked")]
    Revoked,
    /// Step 9: status could not be determined (fail closed).
    #[error("revocation status unavailable")]
    RevocationIndeterminate,
    /// Step 10: the authenticated client does not match `presenter_binding`.
    #[error("presenter binding mismatch")]
    BindingMismatch,
    /// Step 11: identity evidence failed (signature, trust, time, audience, consistency).
    #[error("invalid identity evidence")]
    InvalidEvidence,
    /// Step 12: no `data_holder_filter` entry matches this Data Holder.
    #[error("data_holder_filter mismatch")]
    HolderFilterMismatch,
    /// Step 12: a constraint the Data Holder cannot enforce with its facts (e.g.
    /// `claim_linkage` on a ticket it did not issue, unknown encounters).
    #[error("cannot enforce {0}")]
    Unenforceable(&'static str),
    /// Step 13 (quality gap): no coverage/contract relationship to the member (OP-35).
    #[error("requester relationship not established")]
    RelationshipNotEstablished,
    /// Step 14: no local patient matches.
    #[error("subject unresolved")]
    SubjectUnresolved,
    /// Step 14: several local patients match.
    #[error("subject ambiguous")]
    SubjectAmbiguous,
}

/// Step 3 failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Compact JWS structure, encoding, JSON, size or depth.
    #[error("malformed JWS: {0}")]
    Jws(JoseError),
    /// A claim is missing or has the wrong type (the path names it).
    #[error("malformed claim: {0}")]
    Claim(String),
}

/// Step 4 failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// `alg` absent or outside the allow-list (`none`, HMAC, ...).
    #[error("algorithm not allowed: {0:?}")]
    AlgorithmNotAllowed(String),
    /// No issuer key has the header `kid`.
    #[error("unknown kid")]
    UnknownKid,
    /// The key's `kty`/`crv` (or declared `alg`/`use`) does not fit the header `alg`.
    #[error("key does not fit alg")]
    KeyMismatch,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
}

/// Step 5 failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypeError {
    /// No `ticket_type` claim (PT-VAL-08).
    #[error("missing ticket type")]
    Missing,
    /// Unknown, non-string or not enabled here (PT-VAL-09).
    #[error("unsupported ticket type {0:?}")]
    Unsupported(String),
}

/// Step 8 failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// `now >= exp + leeway` (PT-VAL-12; `exp == now` with zero leeway is expired).
    #[error("expired")]
    Expired,
    /// `iat > now + leeway` (PT-VAL-14).
    #[error("issued in the future")]
    IssuedInFuture,
    /// `nbf > now + leeway` (OP-06: it can only narrow).
    #[error("not yet valid")]
    NotYetValid,
    /// `aud` does not name this Data Holder (PT-AUD-01..05).
    #[error("audience mismatch")]
    AudienceMismatch,
}

/// Step 12 failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConstraintError {
    /// An `access` member we do not recognize and enforce (PT-FIELD-02/03/05).
    #[error("unsupported access constraint {0:?}")]
    Unsupported(String),
    /// A recognized member whose content we cannot enforce (legacy operations, ...).
    #[error("cannot enforce access constraint {0:?}")]
    Unenforceable(String),
    /// A constraint value with the wrong shape (the path names it).
    #[error("malformed constraint {path}: {reason}")]
    Malformed {
        /// `access.<member>`.
        path: String,
        /// Internal detail, logged only.
        reason: &'static str,
    },
    /// A kernel field we cannot honor (`must_understand`, `continuation` without `revocation`).
    #[error("cannot enforce kernel field {0}")]
    KernelField(&'static str),
}

/// Steps 10 and 13 failures (per-type rules).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    /// A claim the type requires is absent (PT-TYPE-01).
    #[error("missing required claim {0}")]
    Missing(&'static str),
    /// Self and delegated access must be presenter-bound (PT-BIND-04).
    #[error("presenter binding required")]
    BindingRequired,
    /// Self access carries a `requester` (PT-TYPE-02).
    #[error("requester not allowed")]
    RequesterNotAllowed,
    /// The `requester` resource type does not fit the ticket type (PT-TYPE-04/08/12/18).
    #[error("wrong requester type")]
    InvalidRequester,
    /// Delegated authority: not exactly one coding from the closed v3-RoleCode set
    /// (PT-TYPE-05/06).
    #[error("invalid requester authority")]
    InvalidAuthority,
    /// A constraint the type forbids (`data_period` on payer claims; `claim_linkage` outside
    /// payer claims; OP-16).
    #[error("constraint {0} not allowed for this ticket type")]
    ConstraintNotAllowed(&'static str),
    /// A profile claim present but empty (`measure`, `reportable_condition`).
    #[error("malformed claim {0}")]
    Malformed(&'static str),
}

/// Minting misuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MintError {
    /// The signer has no key id; tickets require `kid`.
    #[error("signer has no kid")]
    SignerWithoutKid,
    /// The signer's algorithm is not allowed for tickets.
    #[error("signer algorithm not allowed for tickets")]
    AlgorithmNotAllowed,
    /// `exp` must be after `iat`.
    #[error("exp must be after iat")]
    ExpNotAfterIat,
    /// The claims could not be serialized, or signing failed.
    #[error("signing failed: {0}")]
    Signing(JoseError),
}

/// Longest attacker-chosen name echoed in a description.
const MAX_ECHO: usize = 64;

/// Attacker-chosen member names are echoed in descriptions: keep them short and printable so
/// a description is always one line.
fn echo(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_control())
        .take(MAX_ECHO)
        .collect()
}

impl TicketError {
    /// The OAuth `error` code and `error_description` for this failure. Every ticket failure
    /// is `invalid_grant`; minting misuse is a `server_error` (it never reaches a client).
    pub fn oauth_error(&self) -> (&'static str, String) {
        let grant = |d: &str| ("invalid_grant", d.to_owned());
        match self {
            TicketError::Format(FormatError::Jws(_)) => grant("Malformed permission ticket"),
            TicketError::Format(FormatError::Claim(path)) => (
                "invalid_grant",
                format!("Malformed permission ticket: {}", echo(path)),
            ),
            TicketError::Signature(_) => grant("Ticket signature verification failed"),
            TicketError::Type(TypeError::Missing) => grant("Missing ticket type"),
            TicketError::Type(TypeError::Unsupported(_)) => grant("Unsupported ticket type"),
            TicketError::Envelope(e) => grant(match e {
                EnvelopeError::Expired => "Ticket expired",
                EnvelopeError::IssuedInFuture => "Ticket issued in the future",
                EnvelopeError::NotYetValid => "Ticket not yet valid",
                EnvelopeError::AudienceMismatch => "Ticket not valid for this server",
            }),
            TicketError::Constraint(e) => (
                "invalid_grant",
                match e {
                    ConstraintError::Unsupported(name) => {
                        format!("Unsupported access constraint: {}", echo(name))
                    }
                    ConstraintError::Unenforceable(name) => {
                        format!("Cannot enforce access constraint: {}", echo(name))
                    }
                    ConstraintError::Malformed { path, .. } => {
                        format!("Malformed permission ticket: {}", echo(path))
                    }
                    ConstraintError::KernelField(name) => {
                        format!("Cannot enforce kernel field: {name}")
                    }
                },
            ),
            TicketError::Claims(e) => (
                "invalid_grant",
                match e {
                    ClaimsError::Missing(name) => format!("Ticket missing required claim: {name}"),
                    ClaimsError::BindingRequired => "Ticket presenter binding required".into(),
                    ClaimsError::RequesterNotAllowed => {
                        "Ticket requester not allowed for this ticket type".into()
                    }
                    ClaimsError::InvalidRequester => {
                        "Ticket requester type not valid for this ticket type".into()
                    }
                    ClaimsError::InvalidAuthority => "Invalid requester authority".into(),
                    ClaimsError::ConstraintNotAllowed(name) => {
                        format!("Access constraint not allowed for this ticket type: {name}")
                    }
                    ClaimsError::Malformed(name) => format!("Malformed permission ticket: {name}"),
                },
            ),
            TicketError::Holder(e) => (
                "invalid_grant",
                match e {
                    HolderError::IssuerNotTrusted(iss) => {
                        format!("Ticket issuer not trusted: {}", echo(iss))
                    }
                    HolderError::IssuerKeysUnavailable => "Unable to retrieve issuer keys".into(),
                    HolderError::Revoked => "Ticket has been revoked".into(),
                    HolderError::RevocationIndeterminate => {
                        "Unable to determine ticket revocation status".into()
                    }
                    HolderError::BindingMismatch => "Ticket presenter binding mismatch".into(),
                    HolderError::InvalidEvidence => "Invalid identity evidence".into(),
                    HolderError::HolderFilterMismatch => {
                        "Data Holder not within ticket data_holder_filter".into()
                    }
                    HolderError::Unenforceable(name) => {
                        format!("Cannot enforce access constraint: {name}")
                    }
                    HolderError::RelationshipNotEstablished => {
                        "Requester relationship not established".into()
                    }
                    HolderError::SubjectUnresolved => "Unable to resolve ticket subject".into(),
                    HolderError::SubjectAmbiguous => "Ambiguous ticket subject match".into(),
                },
            ),
            TicketError::Mint(e) => ("server_error", format!("Cannot mint ticket: {e}")),
        }
    }
}

impl From<JoseError> for TicketError {
    /// Algorithm refusals are signature failures (the ticket cannot be verified); everything
    /// else the JWS layer reports is a malformed ticket; key lookup and verification results
    /// map onto their own variants.
    fn from(e: JoseError) -> TicketError {
        match e {
            JoseError::AlgorithmNotAllowed(alg) => SignatureError::AlgorithmNotAllowed(alg).into(),
            JoseError::UnknownKid => SignatureError::UnknownKid.into(),
            JoseError::KeyAlgorithmMismatch(_) => SignatureError::KeyMismatch.into(),
            JoseError::BadSignature => SignatureError::BadSignature.into(),
            other => FormatError::Jws(other).into(),
        }
    }
}

#[cfg(test)]
mod tests;
