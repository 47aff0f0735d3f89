//! Client library: private_key_jwt assertions, DPoP proofs, token exchange, FHIR fetch.
//!
//! ```text
//! ClientKey::from_json(jwk)                         the client's private key
//! Client::new(clock)
//!   .discover_token_endpoint(fhir_base)             [base]/.well-known/smart-configuration
//!   .redeem(token_endpoint, &Redemption{..})        RFC 8693 + private_key_jwt (+ DPoP)
//!   .fetch(url, Authorization::Bearer(..), opts)    FHIR read/search, bounded paging
//! jwt::client_assertion / jwt::dpop_proof           the signed JWTs, pure
//! ```
//!
//! Time comes from the caller's [`Clock`]; randomness (`jti`) from UUID v4.

mod error;
mod fetch;
mod http;
pub mod jwt;
mod locate;
mod redeem;

pub use error::{ClientError, Step};
pub use fetch::{Authorization, DEFAULT_MAX_PAGES, FetchOptions, Fetched};
pub use http::{Client, MAX_FHIR_BODY, MAX_SMALL_BODY};
pub use jwt::ClientKey;
pub use locate::{RESOLVE_RECORD_LOCATIONS, RecordLocation, locations};
pub use redeem::{Redemption, TOKEN_EXCHANGE_GRANT, TokenResponse, smart_configuration_url};
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
