//! Authentication of API callers: a `private_key_jwt`-style client assertion (RFC 7523 as
//! SMART Backend Services profiles it) signed by a registered minting client, with `aud` =
//! the mint URL and a `jti` that is never accepted twice.

use serde_json::Value;
use tessera_jose::{JoseError, Limits, decode};

use crate::error::AuthError;
use crate::issuer::{Caller, Issuer};

/// Longest accepted assertion lifetime (`exp - now`), as in SMART Backend Services.
pub const MAX_ASSERTION_LIFETIME: i64 = 300;
/// Clock leeway for assertion times.
pub const ASSERTION_LEEWAY: i64 = 30;
/// Longest accepted `jti`.
pub const MAX_JTI_LEN: usize = 256;

impl Issuer {
    /// Authenticates a client assertion; on success the `jti` is spent.
    pub fn authenticate(&self, assertion: &str, now: i64) -> Result<Caller, AuthError> {
        let jws = decode(assertion, &Limits::client()).map_err(|_| AuthError::Malformed)?;
        let claims = jws.claims();
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        let (Some(iss), Some(sub)) = (text("iss"), text("sub")) else {
            return Err(AuthError::IssSubMismatch);
        };
        if iss != sub || iss.is_empty() {
            return Err(AuthError::IssSubMismatch);
        }
        let client = self
            .config
            .clients
            .iter()
            .find(|c| c.client_id == iss)
            .ok_or(AuthError::UnknownClient)?;
        jws.verify_with_set(&client.jwks).map_err(|e| match e {
            JoseError::UnknownKid
            | JoseError::KeyAlgorithmMismatch(_)
            | JoseError::BadSignature => AuthError::BadSignature,
            _ => AuthError::Malformed,
        })?;
        let audience = self.mint_url();
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => *a == audience,
            Some(Value::Array(items)) => items.iter().any(|a| a.as_str() == Some(&audience)),
            _ => false,
        };
        if !aud_ok {
            return Err(AuthError::WrongAudience(audience));
        }
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or(AuthError::Malformed)?;
        if now >= exp.saturating_add(ASSERTION_LEEWAY) {
            return Err(AuthError::Expired);
        }
        if exp.saturating_sub(now) > MAX_ASSERTION_LIFETIME + ASSERTION_LEEWAY {
            return Err(AuthError::TooLong(MAX_ASSERTION_LIFETIME));
        }
        match claims.get("iat") {
            None => {}
            Some(v) => {
                let iat = v.as_i64().ok_or(AuthError::Malformed)?;
                if iat > now.saturating_add(ASSERTION_LEEWAY) {
                    return Err(AuthError::IssuedInFuture);
                }
            }
        }
        let jti = text("jti")
            .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LEN)
            .ok_or(AuthError::BadJti)?;
        let fresh = self
            .db
            .record_assertion(iss, jti, exp.saturating_add(ASSERTION_LEEWAY), now)
            .map_err(|e| {
                tracing::error!(error = %e, "assertion replay cache unavailable");
                AuthError::Unavailable
            })?;
        if !fresh {
            return Err(AuthError::Replayed);
        }
        Ok(Caller::Client(iss.to_owned()))
    }
}
