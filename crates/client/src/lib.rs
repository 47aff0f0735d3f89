//! Client library: private_key_jwt and UDAP (x5c) assertions, DPoP proofs, dynamic client
//! registration, token exchange, FHIR fetch.
//!
//! ```text
//! ClientKey::from_json(jwk)                         the client's private key
//! UdapCredentials::from_pem(chain, key)             a UDAP client's certificate and key
//! Client::new(clock)
//!   .discover_token_endpoint(fhir_base)             [base]/.well-known/smart-configuration
//!   .register(registration_endpoint, &body, iat)    RFC 7591 (jwks) or UDAP DCR
//!   .redeem(token_endpoint, &Redemption{..})        RFC 8693 + private_key_jwt/x5c (+ DPoP)
//!   .fetch(url, Authorization::Bearer(..), opts)    FHIR read/search, bounded paging
//!   .redeem_with_assertion_header(.., trust_chain)  OpenID Federation client (trust_chain header)
//!   .resolve_trust_chain(entity, anchor, marks)     OpenID Federation chain, resolved online
//! jwt::client_assertion / jwt::dpop_proof           the signed JWTs, pure
//! federation::well_known_client_id(entity)          Proposal 006 `well-known:{entity_uri}`
//! ```
//!
//! Time comes from the caller's [`Clock`]; randomness (`jti`) from UUID v4.

mod error;
pub mod federation;
mod fetch;
mod http;
pub mod jwt;
mod locate;
mod redeem;
mod register;
pub mod tap;
pub mod udap;

pub use error::{ClientError, Step};
pub use fetch::{Authorization, DEFAULT_MAX_PAGES, FetchOptions, Fetched};
pub use http::{Client, MAX_FHIR_BODY, MAX_SMALL_BODY};
pub use jwt::ClientKey;
pub use locate::{RESOLVE_RECORD_LOCATIONS, RecordLocation, locations};
pub use redeem::{
    ClientAuth, Redemption, TOKEN_EXCHANGE_GRANT, TokenResponse, smart_configuration_url,
};
pub use register::{Registration, jwks_registration, udap_registration};
pub use udap::{StatementRequest, UdapCredentials};
/// Re-exported so callers name URLs without depending on `url` themselves.
pub use url::Url;

/// The caller's clock: unix seconds. The binary passes the system clock; tests a fixed one.
pub trait Clock: Send + Sync {
    /// Now, in unix seconds.
    fn now(&self) -> i64;
}

impl<F: Fn() -> i64 + Send + Sync> Clock for F {
    fn now(&self) -> i64 {
        self()
    }
}
