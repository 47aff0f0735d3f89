//! Dangerous: decoding a ticket WITHOUT verifying it, for inspection tools only
//! (`tessera ticket inspect`). Nothing returned here may inform an authorization decision.

use serde_json::{Map, Value};
use tessera_jose::{b64, json, jws};

use crate::error::{FormatError, TicketError};

/// Header and payload of a compact JWS, decoded but not verified.
#[derive(Debug, Clone, PartialEq)]
pub struct UnverifiedParts {
    /// The JOSE header, whatever its `alg`.
    pub header: Map<String, Value>,
    /// The payload object.
    pub payload: Map<String, Value>,
}

/// Decodes a compact JWS without checking its signature or `alg`. Size and depth bounds
/// still apply.
pub fn decode_unverified(token: &str) -> Result<UnverifiedParts, TicketError> {
    let malformed = |e| TicketError::Format(FormatError::Jws(e));
    if token.len() > jws::DEFAULT_MAX_TOKEN_LEN {
        return Err(malformed(tessera_jose::JoseError::TooLarge));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed(tessera_jose::JoseError::Malformed(
            "expected three segments",
        )));
    };
    let depth = jws::DEFAULT_MAX_JSON_DEPTH;
    let header = json::parse_object(&b64::decode(h).map_err(malformed)?, depth, "header")
        .map_err(malformed)?;
    let payload = json::parse_object(&b64::decode(p).map_err(malformed)?, depth, "payload")
        .map_err(malformed)?;
    Ok(UnverifiedParts { header, payload })
}
