//! JWTs that carry their signer's certificate chain in the `x5c` header (RFC 7515 §4.1.6):
//! software statements, UDAP client assertions, signed metadata. Decoding reads the chain;
//! [`X5cJwt::verify`] validates it to the anchors and checks the signature with the leaf key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};
use tessera_jose::{Alg, Jws, Limits, Signer, decode, sign_compact};

use crate::chain::{Anchors, CrlSet, Purpose, ValidatedChain, distribution_points, validate};
use crate::{MAX_CHAIN_LEN, UdapError};

/// Largest accepted x5c JWT (a chain of a few certificates, base64).
pub const MAX_X5C_JWT_LEN: usize = 48 * 1024;

/// A decoded, not yet trusted, x5c-signed JWT.
#[derive(Debug, Clone)]
pub struct X5cJwt {
    jws: Jws,
    chain: Vec<Vec<u8>>,
}

/// An x5c JWT whose chain validated and whose signature verified.
#[derive(Debug, Clone)]
pub struct VerifiedX5c {
    /// The claims.
    pub claims: Map<String, Value>,
    /// The validated chain.
    pub chain: ValidatedChain,
    /// The signing algorithm.
    pub alg: Alg,
}

impl X5cJwt {
    /// Decodes `token`, allowing `algs`, and reads its `x5c` chain.
    pub fn decode(token: &str, algs: &[Alg]) -> Result<X5cJwt, UdapError> {
        let limits = Limits {
            max_token_len: MAX_X5C_JWT_LEN,
            algs: algs.to_vec(),
            require_kid: false,
            ..Limits::client()
        };
        let jws = decode(token, &limits).map_err(|e| UdapError::MalformedJwt(e.to_string()))?;
        let list = match jws.header().raw.get("x5c") {
            Some(Value::Array(list)) if !list.is_empty() => list,
            Some(_) => return Err(UdapError::X5c("not a non-empty array")),
            None => return Err(UdapError::X5c("missing")),
        };
        if list.len() > MAX_CHAIN_LEN {
            return Err(UdapError::ChainTooLong(MAX_CHAIN_LEN));
        }
        let chain = list
            .iter()
            .map(|v| {
                v.as_str()
                    .and_then(|s| STANDARD.decode(s).ok())
                    .ok_or(UdapError::X5c("entries must be base64 DER certificates"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(X5cJwt { jws, chain })
    }

    /// The chain, leaf first (DER).
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// The unverified claims (for audit of refusals and for choosing a community).
    pub fn unverified_claims(&self) -> &Map<String, Value> {
        self.jws.claims()
    }

    /// CRL distribution points the chain names (to fetch before [`X5cJwt::verify`]).
    pub fn distribution_points(&self) -> Result<Vec<String>, UdapError> {
        distribution_points(&self.chain)
    }

    /// Validates the chain and the signature.
    pub fn verify(
        self,
        anchors: &Anchors,
        crls: &CrlSet,
        now: i64,
        purpose: Purpose,
    ) -> Result<VerifiedX5c, UdapError> {
        let chain = validate(&self.chain, anchors, crls, now, purpose)?;
        let alg = self.jws.header().alg;
        chain
            .leaf_key
            .check_alg(alg)
            .map_err(|_| UdapError::KeyAlgorithm(alg.as_str().to_owned()))?;
        self.jws
            .verify_with(&chain.leaf_key)
            .map_err(|_| UdapError::BadSignature)?;
        Ok(VerifiedX5c {
            claims: self.jws.into_claims(),
            chain,
            alg,
        })
    }
}

/// Signs `claims` with `signer`, putting `chain` (leaf first, DER) into `x5c`.
pub fn sign_x5c(
    claims: &Map<String, Value>,
    chain: &[Vec<u8>],
    signer: &dyn Signer,
) -> Result<String, UdapError> {
    let mut header = Map::new();
    header.insert(
        "x5c".into(),
        Value::Array(chain.iter().map(|c| STANDARD.encode(c).into()).collect()),
    );
    let payload = serde_json::to_vec(claims).map_err(|e| UdapError::Signing(e.to_string()))?;
    sign_compact(&header, &payload, signer).map_err(|e| UdapError::Signing(e.to_string()))
}
