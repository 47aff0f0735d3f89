//! The one error enum of the JOSE boundary.
//!
//! Callers (ticket verification, client assertions, DPoP, ID tokens) map these variants onto
//! their own protocol errors; the split between "the token is malformed" and "the signature
//! does not check out" is what they need to choose the right code.

/// Every way JOSE processing can fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoseError {
    /// The compact serialization is not `header.payload.signature` with strict base64url.
    #[error("malformed compact JWS: {0}")]
    Malformed(&'static str),
    /// The token (or a JSON document) exceeds the configured size bound.
    #[error("token too large")]
    TooLarge,
    /// JSON nested deeper than the configured bound (checked before any JSON parsing).
    #[error("JSON nesting too deep")]
    TooDeep,
    /// The header or payload is not the JSON object it must be.
    #[error("invalid JSON in {0}")]
    InvalidJson(&'static str),
    /// The header carries a `crit` member; we understand no JWS extensions.
    #[error("unsupported critical header parameters")]
    CriticalHeader,
    /// `alg` is missing or not in the allow-list for this context (`none` and HMAC never are).
    #[error("algorithm not allowed: {0}")]
    AlgorithmNotAllowed(String),
    /// The header has no `kid` but the context requires one.
    #[error("missing kid")]
    MissingKid,
    /// No key in the set carries the requested `kid`.
    #[error("unknown kid")]
    UnknownKid,
    /// The key cannot be used with the algorithm (`kty`/`crv` mismatch, JWK `alg`/`use` conflict).
    #[error("key does not fit algorithm {0}")]
    KeyAlgorithmMismatch(&'static str),
    /// The signature does not verify.
    #[error("invalid signature")]
    BadSignature,
    /// A JWK or JWK Set is malformed or unsupported.
    #[error("invalid JWK: {0}")]
    InvalidKey(&'static str),
    /// The underlying crypto library refused an operation (key generation, signing).
    #[error("crypto failure: {0}")]
    Crypto(&'static str),
}
