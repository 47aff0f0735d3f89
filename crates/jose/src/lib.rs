//! JOSE for Tessera: JWK/JWKS, RFC 7638 thumbprints, compact JWS verify/sign with an
//! algorithm allow-list. Pure: no I/O, no clock.
//!
//! Primitives come from aws-lc-rs; the compact JWS parser is hand-written so every check
//! (segment count, strict base64url, JSON depth before parsing, `alg` allow-list, `kid`) is
//! ours and visible. See docs/decisions.md, "JOSE and ticket core".
//!
//! ```text
//! jws::decode(token, &Limits) -> Jws            (no trust yet)
//! Jws::verify_with(&Jwk) / verify_with_set(&JwkSet)
//! jws::sign_compact(&header, payload, &dyn Signer)
//! PrivateJwk::generate(Alg) / ::from_json  ->  .signer()
//! Jwk::thumbprint()                              (RFC 7638)
//! ```

mod alg;
pub mod b64;
mod der;
mod error;
pub mod json;
mod jwk;
pub mod jws;
mod private;
mod sign;

pub use alg::Alg;
pub use error::JoseError;
pub use jwk::{EcCurve, Jwk, JwkSet, MAX_JWKS_BYTES, MAX_JWKS_KEYS, PublicKey};
pub use jws::{Header, Jws, Limits, decode, sign_compact};
pub use private::PrivateJwk;
pub use sign::{JwkSigner, Signer};

#[cfg(test)]
mod tests;
