//! The one-shot verifier: every pure stage in the spec's normative order (spec-digest §7,
//! PT-VAL-15). The Data Holder, which interleaves its own steps, uses the stages directly.

use tessera_jose::{JwkSet, Limits};

use crate::TicketType;
use crate::access_check::AccessOptions;
use crate::envelope::ExpectedAudience;
use crate::error::{EnvelopeError, TicketError};
use crate::stages::{UnverifiedTicket, VerifiedTicket};

/// Default clock leeway in seconds (OP-06).
pub const DEFAULT_LEEWAY_SECS: i64 = 30;

/// Options of [`verify`]. `Default` is the secure configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOptions {
    /// JWS bounds and `alg` allow-list ([`Limits::ticket`]).
    pub limits: Limits,
    /// Clock leeway for `exp`, `iat`, `nbf`.
    pub leeway: i64,
    /// Step-12 switches (legacy shapes, sensitivity profile).
    pub access: AccessOptions,
    /// Types accepted here (the Data Holder's `smart_permission_ticket_types_supported`).
    pub supported_types: Vec<TicketType>,
    /// When set, `aud` must name this Data Holder (step 8); unset skips the audience check.
    pub expected_audience: Option<ExpectedAudience>,
}

impl Default for VerifyOptions {
    fn default() -> VerifyOptions {
        VerifyOptions {
            limits: Limits::ticket(),
            leeway: DEFAULT_LEEWAY_SECS,
            access: AccessOptions::default(),
            supported_types: TicketType::ALL.to_vec(),
            expected_audience: None,
        }
    }
}

/// Verifies a ticket as a pure function of (token, issuer keys, now, options): parse (3),
/// signature (4), type (5), times and audience (8), binding required (10), access (12), type
/// rules (13). Trust, revocation, binding verification, evidence and subject resolution are
/// the Data Holder's and are not done here.
pub fn verify(
    token: &str,
    keys: &JwkSet,
    now: i64,
    opts: &VerifyOptions,
) -> Result<VerifiedTicket, TicketError> {
    let ticket = UnverifiedTicket::parse(token, &opts.limits)?
        .verify_signature(keys)?
        .check_type(&opts.supported_types)?
        .check_times(now, opts.leeway)?;
    if let Some(expected) = &opts.expected_audience
        && !ticket.shell().audience_matches(expected)
    {
        return Err(EnvelopeError::AudienceMismatch.into());
    }
    ticket.check_binding_required()?;
    ticket.check_access(&opts.access)?.check_type_rules()
}
