//! Permission Ticket model, per-type rules, verification and minting.
//! Pure: no I/O, no async, no clock (time is passed in).
//!
//! Entry points: [`verify`] (one shot, every pure stage in the spec's order) or the stages
//! ([`UnverifiedTicket::parse`] → … → [`VerifiedTicket`]) for a Data Holder that interleaves
//! its own steps; [`mint`] / [`TicketBuilder`] for issuers; [`TicketError::oauth_error`] for the
//! wire; [`danger`] for inspection tools.

mod access_check;
pub mod claims;
pub mod danger;
mod envelope;
mod error;
pub mod evidence;
pub mod explain;
mod legacy;
mod mint;
mod rules;
mod shape;
mod shell;
mod stages;
mod ticket_type;
mod verify;

pub use access_check::AccessOptions;
pub use envelope::{Envelope, ExpectedAudience};
pub use error::{
    ClaimsError, ConstraintError, EnvelopeError, FormatError, HolderError, MintError,
    SignatureError, TicketError, TypeError,
};
pub use legacy::LEGACY_ACCESS_MEMBERS;
pub use mint::{TicketBuilder, check_payload, mint, mint_payload};
pub use rules::{AUTHORITY_CODES, ROLE_CODE_SYSTEM};
pub use shell::Shell;
pub use stages::{
    ConstrainedTicket, CurrentTicket, SignedTicket, TypedTicket, UnverifiedTicket, VerifiedTicket,
};
pub use tessera_jose::{JwkSet, Limits};
pub use ticket_type::TicketType;
pub use verify::{DEFAULT_LEEWAY_SECS, VerifyOptions, verify};
