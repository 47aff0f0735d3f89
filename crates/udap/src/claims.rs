//! Claim checks of x5c-signed JWTs once their chain and signature are verified: who the
//! signer claims to be (`iss`/`sub` against the leaf's URI subjectAltNames, or against a
//! registered client id), `aud`, lifetime and `jti`. Software statements and UDAP client
//! assertions both live at most [`MAX_LIFETIME`] seconds (UDAP DCR §4, JWT client auth §4).

use serde_json::{Map, Value};

use crate::UdapError;
use crate::x5c::VerifiedX5c;

/// Longest lifetime (`exp` − `iat`) of a software statement or client assertion, seconds.
pub const MAX_LIFETIME: i64 = 300;
/// Longest accepted `jti`.
pub const MAX_JTI_LEN: usize = 256;

/// Who the JWT must come from.
#[derive(Debug, Clone, Copy)]
pub enum Signer<'a> {
    /// A software statement: `iss` is a URI SAN of the leaf.
    San,
    /// A client assertion of a registered client: `iss` = `sub` = `client_id`, and the leaf
    /// still carries the SAN the client registered with.
    Client {
        /// The registered client id.
        client_id: &'a str,
        /// The URI SAN recorded at registration.
        san: &'a str,
    },
}

/// What the claims must satisfy.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// Accepted `aud` values (any one matches).
    pub audiences: &'a [String],
    /// Now, unix seconds.
    pub now: i64,
    /// Clock leeway, seconds.
    pub leeway: i64,
    /// Longest lifetime.
    pub max_lifetime: i64,
}

/// The checked registered claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// `iss`.
    pub iss: String,
    /// `jti`.
    pub jti: String,
    /// `exp`.
    pub exp: i64,
    /// `iat`.
    pub iat: i64,
}

/// Checks `iss`, `sub`, `aud`, `exp`, `iat`, `jti` of a verified x5c JWT.
pub fn check(v: &VerifiedX5c, signer: Signer<'_>, rules: Rules<'_>) -> Result<Checked, UdapError> {
    let c = &v.claims;
    let iss = string_claim(c, "iss")?;
    let sans = v.chain.uri_sans();
    match signer {
        Signer::San => {
            if sans.is_empty() {
                return Err(UdapError::NoUriSan);
            }
            if !sans.iter().any(|s| s == iss) {
                return Err(UdapError::IssNotSan);
            }
        }
        Signer::Client { client_id, san } => {
            if iss != client_id {
                return Err(UdapError::Claim("iss"));
            }
            if !sans.iter().any(|s| s == san) {
                return Err(UdapError::IssNotSan);
            }
        }
    }
    if string_claim(c, "sub")? != iss {
        return Err(UdapError::SubNotIss);
    }
    let aud_ok = match c.get("aud") {
        Some(Value::String(a)) => rules.audiences.iter().any(|x| x == a),
        Some(Value::Array(list)) => list.iter().any(|a| {
            a.as_str()
                .is_some_and(|a| rules.audiences.iter().any(|x| x == a))
        }),
        _ => false,
    };
    if !aud_ok {
        return Err(UdapError::Audience(
            rules.audiences.first().cloned().unwrap_or_default(),
        ));
    }
    let (exp, iat) = check_times(c, rules)?;
    let jti = string_claim(c, "jti")?;
    if jti.is_empty() || jti.len() > MAX_JTI_LEN {
        return Err(UdapError::Claim("jti"));
    }
    Ok(Checked {
        iss: iss.to_owned(),
        jti: jti.to_owned(),
        exp,
        iat,
    })
}

pub(crate) fn string_claim<'a>(
    c: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, UdapError> {
    c.get(name)
        .and_then(Value::as_str)
        .ok_or(UdapError::Claim(name))
}

/// `exp` not passed, `iat` not ahead, `exp` − `iat` within the lifetime; returns both.
pub(crate) fn check_times(
    c: &Map<String, Value>,
    rules: Rules<'_>,
) -> Result<(i64, i64), UdapError> {
    let exp = int(c, "exp")?;
    let iat = int(c, "iat")?;
    if exp <= rules.now - rules.leeway {
        return Err(UdapError::Expired);
    }
    if iat > rules.now + rules.leeway || exp - iat > rules.max_lifetime || exp <= iat {
        return Err(UdapError::Lifetime(rules.max_lifetime));
    }
    Ok((exp, iat))
}

fn int(c: &Map<String, Value>, name: &'static str) -> Result<i64, UdapError> {
    c.get(name)
        .and_then(Value::as_i64)
        .ok_or(UdapError::Claim(name))
}
