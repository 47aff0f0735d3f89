//! Minting: sign a ticket only if our own verifier's pure checks accept it.
//!
//! Signing goes through [`tessera_jose::Signer`], so an HSM or KMS plugs in the same way as an
//! in-memory key. Times, `jti` and keys are the caller's: this module reads no clock and
//! draws no randomness.

use serde_json::{Map, Value};
use tessera_jose::{Signer, sign_compact};

use crate::TicketType;
use crate::claims::{
    Access, Audience, CodeableConcept, PresenterBinding, Requester, Revocation, Subject,
    TicketClaims,
};
use crate::envelope::Envelope;
use crate::error::{FormatError, MintError, TicketError};
use crate::stages::{SignedTicket, VerifiedTicket};
use crate::verify::VerifyOptions;

/// Checks a payload with every pure verification stage except signature and clock: envelope
/// typing, type, shell, binding required, access, type rules, and `exp > iat`.
pub fn check_payload(
    payload: &Map<String, Value>,
    opts: &VerifyOptions,
) -> Result<VerifiedTicket, TicketError> {
    let envelope = Envelope::from_payload(payload)?;
    if envelope.exp <= envelope.iat {
        return Err(MintError::ExpNotAfterIat.into());
    }
    let alg = opts
        .limits
        .algs
        .first()
        .copied()
        .ok_or(MintError::AlgorithmNotAllowed)?;
    let typed = SignedTicket::unsigned(String::new(), alg, payload.clone())
        .check_type(&opts.supported_types)?;
    let current = typed.check_times(envelope.iat, 0)?;
    current.check_binding_required()?;
    current.check_access(&opts.access)?.check_type_rules()
}

/// Signs a JSON payload as a ticket after [`check_payload`] accepts it. The header is
/// `{"alg", "kid"}` from the signer.
pub fn mint_payload(
    payload: &Map<String, Value>,
    signer: &dyn Signer,
    opts: &VerifyOptions,
) -> Result<String, TicketError> {
    if signer.kid().is_none_or(str::is_empty) {
        return Err(MintError::SignerWithoutKid.into());
    }
    if !opts.limits.algs.contains(&signer.alg()) {
        return Err(MintError::AlgorithmNotAllowed.into());
    }
    check_payload(payload, opts)?;
    let bytes = serde_json::to_vec(payload).map_err(|_| FormatError::Claim("payload".into()))?;
    sign_compact(&Map::new(), &bytes, signer).map_err(|e| MintError::Signing(e).into())
}

/// Signs typed claims (see [`mint_payload`]).
pub fn mint(
    claims: &TicketClaims,
    signer: &dyn Signer,
    opts: &VerifyOptions,
) -> Result<String, TicketError> {
    match serde_json::to_value(claims) {
        Ok(Value::Object(payload)) => mint_payload(&payload, signer, opts),
        _ => Err(FormatError::Claim("payload".into()).into()),
    }
}

/// Builds the claims of a ticket of any type, then mints it.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketBuilder {
    claims: TicketClaims,
}

impl TicketBuilder {
    /// A ticket of `ticket_type` from `iss` to `aud` about `subject`, valid `[iat, exp)`.
    pub fn new(
        ticket_type: TicketType,
        iss: impl Into<String>,
        aud: Audience,
        subject: Subject,
        iat: i64,
        exp: i64,
        jti: impl Into<String>,
    ) -> TicketBuilder {
        TicketBuilder {
            claims: TicketClaims {
                iss: iss.into(),
                aud,
                aud_type: None,
                exp,
                iat,
                nbf: None,
                jti: jti.into(),
                ticket_type: Some(ticket_type.uri().to_owned()),
                presenter_binding: None,
                subject,
                subject_identity_evidence: None,
                requester_identity_evidence: None,
                requester: None,
                access: Access::default(),
                revocation: None,
                continuation: None,
                measure: None,
                reportable_condition: None,
                sensitivity_release_authorized: None,
                must_understand: None,
                context: None,
            },
        }
    }

    /// Sets `presenter_binding`.
    pub fn presenter_binding(mut self, binding: PresenterBinding) -> TicketBuilder {
        self.claims.presenter_binding = Some(binding);
        self
    }

    /// Sets `requester`.
    pub fn requester(mut self, requester: Requester) -> TicketBuilder {
        self.claims.requester = Some(requester);
        self
    }

    /// Sets `access`.
    pub fn access(mut self, access: Access) -> TicketBuilder {
        self.claims.access = access;
        self
    }

    /// Sets `measure`.
    pub fn measure(mut self, measure: CodeableConcept) -> TicketBuilder {
        self.claims.measure = Some(measure);
        self
    }

    /// Sets `reportable_condition`.
    pub fn reportable_condition(mut self, condition: CodeableConcept) -> TicketBuilder {
        self.claims.reportable_condition = Some(condition);
        self
    }

    /// Sets `revocation`.
    pub fn revocation(mut self, revocation: Revocation) -> TicketBuilder {
        self.claims.revocation = Some(revocation);
        self
    }

    /// Any other claim.
    pub fn claims_mut(&mut self) -> &mut TicketClaims {
        &mut self.claims
    }

    /// The claims built so far.
    pub fn claims(&self) -> &TicketClaims {
        &self.claims
    }

    /// Checks and signs.
    pub fn sign(&self, signer: &dyn Signer, opts: &VerifyOptions) -> Result<String, TicketError> {
        mint(&self.claims, signer, opts)
    }
}
