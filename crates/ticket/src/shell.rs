//! Typing of the ticket shell (every claim except `access`) right after the type check, and the
//! read-only view the Data Holder uses for its own pipeline steps (trust, audience,
//! revocation, binding, evidence, subject) before the ticket is fully verified.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::TicketType;
use crate::claims::{
    AudType, Audience, CodeableConcept, Continuation, IdentityEvidence, PresenterBinding,
    Requester, Revocation, SensitivityRule, Subject, TicketClaims,
};
use crate::envelope::ExpectedAudience;
use crate::error::FormatError;
use tessera_jose::Alg;

/// The typed, signature-verified claims of a ticket whose `access` has not been checked yet.
/// It deliberately offers no view of `access`: only [`crate::VerifiedTicket`] does.
#[derive(Debug, Clone, PartialEq)]
pub struct Shell {
    pub(crate) ticket_type: TicketType,
    pub(crate) kid: String,
    pub(crate) alg: Alg,
    /// `access` here is an empty placeholder until step 12 fills in the normalized one.
    pub(crate) claims: TicketClaims,
}

impl Shell {
    /// The ticket type.
    pub fn ticket_type(&self) -> TicketType {
        self.ticket_type
    }
    /// Header `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }
    /// Header `alg`.
    pub fn alg(&self) -> Alg {
        self.alg
    }
    /// `iss`.
    pub fn iss(&self) -> &str {
        &self.claims.iss
    }
    /// `aud`.
    pub fn aud(&self) -> &Audience {
        &self.claims.aud
    }
    /// `aud_type`, absent read as `data_holder_url` (PT-AUD-04).
    pub fn aud_type(&self) -> AudType {
        self.claims.aud_type.unwrap_or(AudType::DataHolderUrl)
    }
    /// Whether `aud` names this Data Holder.
    pub fn audience_matches(&self, expected: &ExpectedAudience) -> bool {
        expected.matches(&self.claims.aud, self.claims.aud_type)
    }
    /// `exp`.
    pub fn exp(&self) -> i64 {
        self.claims.exp
    }
    /// `iat`.
    pub fn iat(&self) -> i64 {
        self.claims.iat
    }
    /// `jti`.
    pub fn jti(&self) -> &str {
        &self.claims.jti
    }
    /// `presenter_binding`.
    pub fn presenter_binding(&self) -> Option<&PresenterBinding> {
        self.claims.presenter_binding.as_ref()
    }
    /// `subject`.
    pub fn subject(&self) -> &Subject {
        &self.claims.subject
    }
    /// `requester`.
    pub fn requester(&self) -> Option<&Requester> {
        self.claims.requester.as_ref()
    }
    /// `subject_identity_evidence`.
    pub fn subject_identity_evidence(&self) -> Option<&IdentityEvidence> {
        self.claims.subject_identity_evidence.as_ref()
    }
    /// `requester_identity_evidence`.
    pub fn requester_identity_evidence(&self) -> Option<&IdentityEvidence> {
        self.claims.requester_identity_evidence.as_ref()
    }
    /// `revocation`.
    pub fn revocation(&self) -> Option<&Revocation> {
        self.claims.revocation.as_ref()
    }
    /// `continuation`.
    pub fn continuation(&self) -> Option<&Continuation> {
        self.claims.continuation.as_ref()
    }
    /// `measure` (quality gap).
    pub fn measure(&self) -> Option<&CodeableConcept> {
        self.claims.measure.as_ref()
    }
    /// `reportable_condition` (public health; a J10 `context` value appears only after step 12
    /// with legacy shapes on).
    pub fn reportable_condition(&self) -> Option<&CodeableConcept> {
        self.claims.reportable_condition.as_ref()
    }
    /// `sensitivity_release_authorized` (Proposal 005 fact).
    pub fn sensitivity_release_authorized(&self) -> Option<&SensitivityRule> {
        self.claims.sensitivity_release_authorized.as_ref()
    }
}

/// Types every claim but `access`, returning the claims (with an empty placeholder `access`)
/// and the raw `access` object for step 12.
pub(crate) fn type_shell(
    payload: &Map<String, Value>,
) -> Result<(TicketClaims, Map<String, Value>), FormatError> {
    let mut map = payload.clone();
    let raw_access = match map.insert("access".into(), Value::Object(Map::new())) {
        Some(Value::Object(a)) => a,
        _ => return Err(claim("access")),
    };
    let claims: TicketClaims = match serde_json::from_value(Value::Object(map)) {
        Ok(c) => c,
        Err(_) => return Err(claim(first_bad_member(payload))),
    };
    check_shell(&claims)?;
    Ok((claims, raw_access))
}

fn claim(path: &str) -> FormatError {
    FormatError::Claim(path.to_owned())
}

fn fits<T: DeserializeOwned>(v: &Value) -> bool {
    v.is_null() || T::deserialize(v).is_ok()
}

/// Whether a claim value deserializes into its type.
type Fits = fn(&Value) -> bool;

/// Names the first shell member that does not deserialize, for the error description.
fn first_bad_member(p: &Map<String, Value>) -> &'static str {
    let checks: [(&'static str, Fits); 13] = [
        ("aud_type", fits::<AudType>),
        ("nbf", fits::<i64>),
        ("ticket_type", fits::<String>),
        ("presenter_binding", fits::<PresenterBinding>),
        ("subject", fits::<Subject>),
        ("subject_identity_evidence", fits::<IdentityEvidence>),
        ("requester_identity_evidence", fits::<IdentityEvidence>),
        ("requester", fits::<Requester>),
        ("revocation", fits::<Revocation>),
        ("continuation", fits::<Continuation>),
        ("measure", fits::<CodeableConcept>),
        ("reportable_condition", fits::<CodeableConcept>),
        ("sensitivity_release_authorized", fits::<SensitivityRule>),
    ];
    checks
        .into_iter()
        .find(|(name, ok)| p.get(*name).is_some_and(|v| !ok(v)))
        .map_or("payload", |(name, _)| name)
}

/// Shape rules serde cannot express.
fn check_shell(c: &TicketClaims) -> Result<(), FormatError> {
    let non_empty = |s: &str| !s.is_empty();
    if c.subject.patient.resource_type != "Patient" {
        return Err(claim("subject.patient"));
    }
    // OP-01: both hint shapes accepted; they must agree when both are present.
    if let Some(rr) = &c.subject.recipient_record {
        if rr.type_.as_deref().is_some_and(|t| t != "Patient") {
            return Err(claim("subject.recipient_record"));
        }
        if let (Some(url), Some(r)) = (&c.subject.patient_reference, &rr.reference)
            && url != r
            && !url.ends_with(&format!("/{r}"))
        {
            return Err(claim("subject.recipient_record"));
        }
    }
    if c.subject
        .patient_reference
        .as_deref()
        .is_some_and(str::is_empty)
    {
        return Err(claim("subject.patient_reference"));
    }
    match &c.presenter_binding {
        Some(PresenterBinding::Jkt { jkt }) if !non_empty(jkt) => {
            return Err(claim("presenter_binding"));
        }
        Some(PresenterBinding::TrustFrameworkClient {
            trust_framework,
            entity_uri,
            ..
        }) if !non_empty(trust_framework) || !non_empty(entity_uri) => {
            return Err(claim("presenter_binding"));
        }
        _ => {}
    }
    // PT-EVID-11: the only evidence form today.
    for (name, ev) in [
        ("subject_identity_evidence", &c.subject_identity_evidence),
        (
            "requester_identity_evidence",
            &c.requester_identity_evidence,
        ),
    ] {
        if let Some(ev) = ev
            && (ev.source != "embedded" || ev.token_type != "id_token" || ev.jwt.is_empty())
        {
            return Err(claim(name));
        }
    }
    if c.revocation.as_ref().is_some_and(|r| r.url.is_empty()) {
        return Err(claim("revocation"));
    }
    Ok(())
}
