//! Identity evidence: verifying an embedded OIDC ID token's signature and typing the claims
//! the Data Holder's evidence checks need (spec-digest §10). Trust, audience mapping and
//! demographic consistency are the Data Holder's; this is the pure part.

use serde_json::{Map, Value};
use tessera_jose::{JoseError, JwkSet, Limits};

use crate::claims::Audience;

/// Signature-verified ID token claims.
#[derive(Debug, Clone, PartialEq)]
pub struct IdToken {
    /// `iss` (the evidence issuer).
    pub iss: String,
    /// `sub`.
    pub sub: String,
    /// `aud`.
    pub aud: Audience,
    /// `azp`, if present.
    pub azp: Option<String>,
    /// `iat`.
    pub iat: i64,
    /// `exp`.
    pub exp: i64,
    /// Every claim (for `given_name`, `birthdate`, `acr`, ...).
    pub claims: Map<String, Value>,
}

impl IdToken {
    /// Whether the token was valid at instant `t` (e.g. the ticket's `iat`, PT-EVID-03):
    /// `iat - leeway <= t <= exp + leeway`.
    pub fn valid_at(&self, t: i64, leeway: i64) -> bool {
        let leeway = leeway.max(0);
        self.iat.saturating_sub(leeway) <= t && t <= self.exp.saturating_add(leeway)
    }
}

/// Why evidence failed (all map to `invalid_grant` "Invalid identity evidence" at the holder).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// JWS structure, algorithm, key or signature.
    #[error(transparent)]
    Jose(#[from] JoseError),
    /// A required claim is missing or mistyped.
    #[error("ID token claim {0} missing or invalid")]
    Claim(&'static str),
}

/// Verifies an ID token's signature with the evidence issuer's keys (ES256/RS256) and types
/// its registered claims. No clock: check [`IdToken::valid_at`] against the ticket `iat`.
pub fn verify_id_token(token: &str, keys: &JwkSet) -> Result<IdToken, EvidenceError> {
    let jws = tessera_jose::decode(token, &Limits::id_token())?;
    jws.verify_with_set(keys)?;
    let claims = jws.into_claims();
    let string = |name: &'static str| match claims.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(EvidenceError::Claim(name)),
    };
    let int = |name: &'static str| {
        claims
            .get(name)
            .and_then(Value::as_i64)
            .ok_or(EvidenceError::Claim(name))
    };
    let aud = match claims.get("aud") {
        Some(Value::String(s)) if !s.is_empty() => Audience::One(s.clone()),
        Some(Value::Array(a)) if !a.is_empty() => Audience::Many(
            a.iter()
                .map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or(EvidenceError::Claim("aud"))?,
        ),
        _ => return Err(EvidenceError::Claim("aud")),
    };
    let azp = match claims.get("azp") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(EvidenceError::Claim("azp")),
    };
    Ok(IdToken {
        iss: string("iss")?,
        sub: string("sub")?,
        aud,
        azp,
        iat: int("iat")?,
        exp: int("exp")?,
        claims,
    })
}
