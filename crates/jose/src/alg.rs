//! The signature algorithms Tessera accepts: an allow-list, never a deny-list.
//!
//! `none` and every HMAC algorithm are absent by construction: a name that does not parse into
//! [`Alg`] can never reach signature verification.

use std::fmt;

use crate::JoseError;

/// An allowed JWS signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    /// ECDSA P-256 with SHA-256 (RFC 7518 §3.4); the spec's RECOMMENDED ticket algorithm.
    Es256,
    /// ECDSA P-384 with SHA-384; client assertions only, where a framework needs it.
    Es384,
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048–8192-bit keys.
    Rs256,
}

impl Alg {
    /// The algorithms accepted for Permission Tickets, ID tokens and our own tokens (OP-04).
    pub const TICKET: &'static [Alg] = &[Alg::Es256, Alg::Rs256];
    /// The algorithms accepted for client assertions and DPoP proofs.
    pub const CLIENT: &'static [Alg] = &[Alg::Es256, Alg::Es384, Alg::Rs256];

    /// The JOSE name (`"ES256"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
            Alg::Rs256 => "RS256",
        }
    }

    /// Parses a JOSE name; anything outside the set (including `none`, `HS256`) is refused.
    pub fn parse(name: &str) -> Result<Alg, JoseError> {
        match name {
            "ES256" => Ok(Alg::Es256),
            "ES384" => Ok(Alg::Es384),
            "RS256" => Ok(Alg::Rs256),
            other => Err(JoseError::AlgorithmNotAllowed(truncate(other))),
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Attacker-chosen names end up in logs; keep them short.
fn truncate(s: &str) -> String {
    s.chars().take(32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_only() {
        for ok in ["ES256", "ES384", "RS256"] {
            assert_eq!(Alg::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "none", "None", "HS256", "HS512", "PS256", "EdDSA", "es256", "",
        ] {
            assert!(
                matches!(Alg::parse(bad), Err(JoseError::AlgorithmNotAllowed(_))),
                "{bad}"
            );
        }
    }
}
