//! The envelope: claims typed at step 3 (PT-VAL-13) and checked at step 8 (times, audience).

use serde_json::{Map, Value};

use crate::claims::{AudType, Audience};
use crate::error::{EnvelopeError, FormatError};

/// Envelope claims, typed before the signature is checked so the Data Holder can pick keys by
/// `iss` and `kid`. Nothing here is trustworthy until `verify_signature` succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// `iss`: non-empty string.
    pub iss: String,
    /// `aud`: non-empty string or non-empty array of non-empty strings (PT-AUD-06).
    pub aud: Audience,
    /// `exp`: integer NumericDate.
    pub exp: i64,
    /// `iat`: integer NumericDate.
    pub iat: i64,
    /// `nbf`, if present: integer NumericDate.
    pub nbf: Option<i64>,
    /// `jti`: non-empty string.
    pub jti: String,
}

impl Envelope {
    /// Types the envelope claims of a payload object; also requires `subject.patient` and
    /// `access` to be objects (PT-VAL-13).
    pub(crate) fn from_payload(p: &Map<String, Value>) -> Result<Envelope, FormatError> {
        let bad = |path: &str| FormatError::Claim(path.to_owned());
        let string = |name: &str| match p.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(bad(name)),
        };
        let int = |name: &str| p.get(name).and_then(Value::as_i64).ok_or_else(|| bad(name));
        let iss = string("iss")?;
        let aud = match p.get("aud") {
            Some(Value::String(s)) if !s.is_empty() => Audience::One(s.clone()),
            Some(Value::Array(items)) if !items.is_empty() => Audience::Many(
                items
                    .iter()
                    .map(|v| match v {
                        Value::String(s) if !s.is_empty() => Ok(s.clone()),
                        _ => Err(bad("aud")),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            _ => return Err(bad("aud")),
        };
        let exp = int("exp")?;
        let iat = int("iat")?;
        let nbf = match p.get("nbf") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_i64().ok_or_else(|| bad("nbf"))?),
        };
        let jti = string("jti")?;
        match p.get("subject") {
            Some(Value::Object(s)) if matches!(s.get("patient"), Some(Value::Object(_))) => {}
            _ => return Err(bad("subject.patient")),
        }
        if !matches!(p.get("access"), Some(Value::Object(_))) {
            return Err(bad("access"));
        }
        Ok(Envelope {
            iss,
            aud,
            exp,
            iat,
            nbf,
            jti,
        })
    }

    /// Step 8, time part (OP-06): expired when `now >= exp + leeway` (so `exp == now` is
    /// expired with zero leeway); `iat` or `nbf` beyond `now + leeway` are rejected.
    pub fn check_times(&self, now: i64, leeway: i64) -> Result<(), EnvelopeError> {
        check_times(self.exp, self.iat, self.nbf, now, leeway)
    }
}

/// The time rules of [`Envelope::check_times`] on bare values.
pub(crate) fn check_times(
    exp: i64,
    iat: i64,
    nbf: Option<i64>,
    now: i64,
    leeway: i64,
) -> Result<(), EnvelopeError> {
    let leeway = leeway.max(0);
    if now >= exp.saturating_add(leeway) {
        return Err(EnvelopeError::Expired);
    }
    if iat > now.saturating_add(leeway) {
        return Err(EnvelopeError::IssuedInFuture);
    }
    if nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(EnvelopeError::NotYetValid);
    }
    Ok(())
}

/// Who this Data Holder is, for the audience check (spec-digest §14, OP-03).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExpectedAudience {
    /// Own FHIR base URLs, compared as exact strings (PT-AUD-07).
    pub data_holder_urls: Vec<String>,
    /// Trust frameworks this Data Holder is a verified member of (PT-AUD-05).
    pub trust_frameworks: Vec<String>,
}

impl ExpectedAudience {
    /// Whether `aud` (read per `aud_type`, absent ⇒ `data_holder_url`) names us.
    pub fn matches(&self, aud: &Audience, aud_type: Option<AudType>) -> bool {
        let own = match aud_type.unwrap_or(AudType::DataHolderUrl) {
            AudType::DataHolderUrl => &self.data_holder_urls,
            AudType::TrustFramework => &self.trust_frameworks,
        };
        aud.entries().iter().any(|a| own.iter().any(|o| o == a))
    }
}
