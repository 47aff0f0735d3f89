//! UDAP `signed_metadata` (UDAP Server Metadata; Security IG §2.3): a JWT signed with the
//! server's community certificate (x5c) whose `iss` = `sub` = the server's base URL, a URI
//! SAN of that certificate, carrying the endpoints of the metadata document. The same shape
//! proves an issuer's keys (issuer trust by UDAP: `{iss}/.well-known/udap`).

use serde_json::{Map, Value};
use tessera_jose::{Alg, Signer};

use crate::chain::{Anchors, CrlSet, Purpose};
use crate::x5c::{VerifiedX5c, X5cJwt, sign_x5c};
use crate::{UdapError, claims};

/// Longest accepted `signed_metadata` lifetime: one year (UDAP Server Metadata).
pub const MAX_METADATA_LIFETIME: i64 = 365 * 24 * 3600;
/// The endpoint members `signed_metadata` repeats from the document.
pub const SIGNED_ENDPOINTS: [&str; 3] = [
    "authorization_endpoint",
    "token_endpoint",
    "registration_endpoint",
];

/// What to sign.
#[derive(Debug, Clone)]
pub struct MetadataClaims<'a> {
    /// The server's base URL (`iss` and `sub`).
    pub base_url: &'a str,
    /// The metadata document (endpoint members are copied from it).
    pub document: &'a Map<String, Value>,
    /// Now.
    pub now: i64,
    /// Lifetime, seconds (≤ [`MAX_METADATA_LIFETIME`]).
    pub lifetime: i64,
    /// A unique `jti`.
    pub jti: &'a str,
}

/// Builds and signs `signed_metadata`.
pub fn sign_metadata(
    m: &MetadataClaims<'_>,
    chain: &[Vec<u8>],
    signer: &dyn Signer,
) -> Result<String, UdapError> {
    let mut c = Map::new();
    c.insert("iss".into(), m.base_url.into());
    c.insert("sub".into(), m.base_url.into());
    c.insert("iat".into(), m.now.into());
    c.insert(
        "exp".into(),
        (m.now + m.lifetime.min(MAX_METADATA_LIFETIME)).into(),
    );
    c.insert("jti".into(), m.jti.into());
    for k in SIGNED_ENDPOINTS {
        if let Some(v) = m.document.get(k) {
            c.insert(k.into(), v.clone());
        }
    }
    sign_x5c(&c, chain, signer)
}

/// Verifies `signed_metadata` of `base_url`: chain to `anchors`, signature, `iss` = `sub` =
/// `base_url` = a URI SAN of the leaf, lifetime, and that the signed endpoints equal the
/// document's (a document endpoint the JWT does not sign is refused too).
pub fn verify_metadata(
    token: &str,
    base_url: &str,
    document: Option<&Map<String, Value>>,
    anchors: &Anchors,
    crls: &CrlSet,
    now: i64,
) -> Result<VerifiedX5c, UdapError> {
    let jwt = X5cJwt::decode(token, Alg::TICKET)?;
    let v = jwt.verify(anchors, crls, now, Purpose::Server)?;
    let c = &v.claims;
    if c.get("iss").and_then(Value::as_str) != Some(base_url) {
        return Err(UdapError::Claim("iss"));
    }
    // `aud` is not part of signed metadata: the SAN + `iss` binding is what is checked.
    let rules = claims::Rules {
        audiences: &[],
        now,
        leeway: 60,
        max_lifetime: MAX_METADATA_LIFETIME,
    };
    let iss = claims::string_claim(c, "iss")?;
    if !v.chain.uri_sans().iter().any(|s| s == iss) {
        return Err(if v.chain.uri_sans().is_empty() {
            UdapError::NoUriSan
        } else {
            UdapError::IssNotSan
        });
    }
    if claims::string_claim(c, "sub")? != iss {
        return Err(UdapError::SubNotIss);
    }
    claims::check_times(c, rules)?;
    if let Some(doc) = document {
        for k in SIGNED_ENDPOINTS {
            if doc.get(k) != c.get(k) {
                return Err(UdapError::MetadataMismatch(k));
            }
        }
    }
    Ok(v)
}
