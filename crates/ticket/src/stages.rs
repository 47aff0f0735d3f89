//! The staged verification pipeline. Each stage is a type; each check consumes one stage and
//! yields the next, so the Data Holder can interleave its own steps (trust, audience,
//! revocation, binding, evidence, subject) but cannot skip or reorder ours, and only a
//! [`VerifiedTicket`] reaches access calculation.
//!
//! ```text
//! UnverifiedTicket::parse            step 3   Malformed permission ticket
//!   .verify_signature(&JwkSet)       step 4   Ticket signature verification failed
//! SignedTicket::check_type(types)    step 5   Missing / Unsupported ticket type
//! TypedTicket::check_times(now, lw)  step 8   Ticket expired (audience: Shell::audience_matches)
//! CurrentTicket::check_binding_required   step 10 (type part)
//! CurrentTicket::check_access(opts)  step 12  Unsupported access constraint: {name}
//! ConstrainedTicket::check_type_rules step 13 Ticket missing required claim: {name}
//!   -> VerifiedTicket
//! ```

use serde_json::{Map, Value};
use tessera_jose::{Alg, JwkSet, Limits};

use crate::access_check::{AccessOptions, check_access};
use crate::claims::{Access, TicketClaims};
use crate::envelope::{Envelope, check_times};
use crate::error::{TicketError, TypeError};
use crate::shell::{Shell, type_shell};
use crate::{TicketType, rules};

/// Step 3 output: a well-formed compact JWS whose envelope claims are typed. Not trusted.
#[derive(Debug, Clone)]
pub struct UnverifiedTicket {
    jws: tessera_jose::Jws,
    kid: String,
    envelope: Envelope,
}

impl UnverifiedTicket {
    /// Step 3: parse the compact JWS under `limits` (use [`Limits::ticket`]): segments,
    /// base64url, JSON object header and payload with size/depth bounds, `alg` allow-list,
    /// `kid` present, envelope claims typed (PT-VAL-01/02/05/06/13).
    pub fn parse(token: &str, limits: &Limits) -> Result<UnverifiedTicket, TicketError> {
        let jws = tessera_jose::decode(token, limits)?;
        let kid = match jws.header().kid.as_deref() {
            Some(k) if !k.is_empty() => k.to_owned(),
            _ => return Err(tessera_jose::JoseError::MissingKid.into()),
        };
        let envelope = Envelope::from_payload(jws.claims())?;
        Ok(UnverifiedTicket { jws, kid, envelope })
    }

    /// Unverified `iss`: use it only to choose which keys to fetch (after checking it appears in
    /// some trust policy, OP-05).
    pub fn issuer(&self) -> &str {
        &self.envelope.iss
    }

    /// Header `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Header `alg` (already allow-listed).
    pub fn alg(&self) -> Alg {
        self.jws.header().alg
    }

    /// The typed envelope (unverified).
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// Step 4: verify the signature with the issuer's key named by `kid`.
    pub fn verify_signature(self, keys: &JwkSet) -> Result<SignedTicket, TicketError> {
        self.jws.verify_with_set(keys)?;
        let alg = self.alg();
        Ok(SignedTicket {
            kid: self.kid,
            alg,
            payload: self.jws.into_claims(),
        })
    }
}

/// Step 4 output: authentic payload, type not yet checked.
#[derive(Debug, Clone)]
pub struct SignedTicket {
    kid: String,
    alg: Alg,
    payload: Map<String, Value>,
}

impl SignedTicket {
    /// For minting: the payload we are about to sign goes through the same checks.
    pub(crate) fn unsigned(kid: String, alg: Alg, payload: Map<String, Value>) -> SignedTicket {
        SignedTicket { kid, alg, payload }
    }

    /// The raw `ticket_type` claim, if it is a string.
    pub fn ticket_type_uri(&self) -> Option<&str> {
        self.payload.get("ticket_type").and_then(Value::as_str)
    }

    /// Step 5: `ticket_type` present (PT-VAL-08), one we implement and the caller enables
    /// (PT-VAL-09); then the rest of the shell is typed ("Malformed permission ticket: {claim}").
    pub fn check_type(self, supported: &[TicketType]) -> Result<TypedTicket, TicketError> {
        let ticket_type = match self.payload.get("ticket_type") {
            None | Some(Value::Null) => return Err(TypeError::Missing.into()),
            Some(Value::String(uri)) => TicketType::from_uri(uri)
                .filter(|t| supported.contains(t))
                .ok_or_else(|| TypeError::Unsupported(uri.chars().take(128).collect()))?,
            Some(_) => return Err(TypeError::Unsupported(String::new()).into()),
        };
        let (claims, raw_access) = type_shell(&self.payload)?;
        Ok(TypedTicket {
            shell: Shell {
                ticket_type,
                kid: self.kid,
                alg: self.alg,
                claims,
            },
            raw_access,
        })
    }
}

/// Step 5 output: typed shell; times not yet checked.
#[derive(Debug, Clone)]
pub struct TypedTicket {
    shell: Shell,
    raw_access: Map<String, Value>,
}

impl TypedTicket {
    /// Read-only view of the typed claims (no `access`).
    pub fn shell(&self) -> &Shell {
        &self.shell
    }

    /// Step 8 (time part): `exp`, future `iat`, future `nbf`, with `leeway` seconds (default
    /// 30, OP-06). The audience half of step 8 is the caller's ([`Shell::audience_matches`]).
    pub fn check_times(self, now: i64, leeway: i64) -> Result<CurrentTicket, TicketError> {
        let c = &self.shell.claims;
        check_times(c.exp, c.iat, c.nbf, now, leeway)?;
        Ok(CurrentTicket {
            shell: self.shell,
            raw_access: self.raw_access,
        })
    }
}

/// Step 8 output: within its validity window.
#[derive(Debug, Clone)]
pub struct CurrentTicket {
    shell: Shell,
    raw_access: Map<String, Value>,
}

impl CurrentTicket {
    /// Read-only view of the typed claims (no `access`).
    pub fn shell(&self) -> &Shell {
        &self.shell
    }

    /// Step 10 (type part): self and delegated access must carry a binding (PT-BIND-04).
    /// Verifying a present binding against the client is the Data Holder's.
    pub fn check_binding_required(&self) -> Result<(), TicketError> {
        rules::check_binding_required(self.shell.ticket_type, &self.shell.claims)?;
        Ok(())
    }

    /// Step 12: every `access` member recognized and well-formed; kernel fields honorable.
    pub fn check_access(self, opts: &AccessOptions) -> Result<ConstrainedTicket, TicketError> {
        let mut shell = self.shell;
        let (access, legacy) = check_access(&self.raw_access, &mut shell.claims, opts)?;
        shell.claims.access = access;
        Ok(ConstrainedTicket { shell, legacy })
    }
}

/// Step 12 output: `access` normalized; type rules not yet checked.
#[derive(Debug, Clone)]
pub struct ConstrainedTicket {
    shell: Shell,
    legacy: bool,
}

impl ConstrainedTicket {
    /// Read-only view of the typed claims.
    pub fn shell(&self) -> &Shell {
        &self.shell
    }

    /// The checked `access` (legacy shapes already translated). Exposed before step 13 so the
    /// Data Holder can finish step 12 — its own enforceability checks such as the
    /// `data_holder_filter` match (OP-07) — before the type's required claims (PT-VAL-15).
    pub fn access(&self) -> &Access {
        &self.shell.claims.access
    }

    /// Whether a legacy shape was translated (audit it).
    pub fn legacy_translated(&self) -> bool {
        self.legacy
    }

    /// Step 13: the type's required and forbidden claims (PT-TYPE).
    pub fn check_type_rules(self) -> Result<VerifiedTicket, TicketError> {
        let s = &self.shell;
        rules::check_type_rules(s.ticket_type, &s.claims, &s.claims.access)?;
        Ok(VerifiedTicket {
            ticket_type: self.shell.ticket_type,
            kid: self.shell.kid,
            alg: self.shell.alg,
            claims: self.shell.claims,
            legacy_translated: self.legacy,
        })
    }
}

/// A ticket that passed every pure check. The only input access calculation accepts.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedTicket {
    ticket_type: TicketType,
    kid: String,
    alg: Alg,
    claims: TicketClaims,
    legacy_translated: bool,
}

impl VerifiedTicket {
    /// The ticket type.
    pub fn ticket_type(&self) -> TicketType {
        self.ticket_type
    }
    /// The typed claims, with the normalized `access`.
    pub fn claims(&self) -> &TicketClaims {
        &self.claims
    }
    /// The normalized access constraints (legacy shapes already translated).
    pub fn access(&self) -> &Access {
        &self.claims.access
    }
    /// Header `kid` of the key that verified it.
    pub fn kid(&self) -> &str {
        &self.kid
    }
    /// Header `alg`.
    pub fn alg(&self) -> Alg {
        self.alg
    }
    /// Whether a legacy shape was translated (audit it).
    pub fn legacy_translated(&self) -> bool {
        self.legacy_translated
    }
    /// Consumes the ticket, returning its claims.
    pub fn into_claims(self) -> TicketClaims {
        self.claims
    }
}
