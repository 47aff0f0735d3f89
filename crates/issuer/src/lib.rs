//! The ticket issuer: minting API, JWKS publication, revocation status lists.
//!
//! ```text
//! Config::load(path) / Config::new(iss, db, KeyRing)   validated configuration
//! Issuer::open(config)
//!   .mint(request, now) / .mint_as(caller, ..)         verification record, aud_type, evidence aud;
//!                                                      fill iss/iat/jti/exp/revocation, check, sign, record
//!   .revoke(jti, now) / .record(jti)                   durable revocation, issuance records
//!   .status_list(name) / .jwks(now)                    what is published
//!   .authenticate(assertion, now)                      API callers (private_key_jwt-style)
//! app(AppState) -> Router, serve(config, clock)        the thin HTTP layer
//! ```
//!
//! No wall clock: `now` or a [`Clock`] comes from the caller.

pub mod audience;
mod auth;
pub mod config;
mod db;
mod error;
mod evidence;
mod http;
mod issuer;
pub mod keys;
pub mod lifetimes;
mod mint;
pub mod refusal;
pub mod status;
mod store;
pub mod verification;
mod workbench;

pub use auth::{ASSERTION_LEEWAY, MAX_ASSERTION_LIFETIME};
pub use config::{Config, ConfigError, EXAMPLE_CONFIG, MintingClient, StatusListConfig};
pub use db::{Db, DbError, IssuanceRecord};
pub use error::{AuthError, IssueError};
pub use http::{
    ApiError, AppState, MAX_BODY, ServeError, app, app_with_probes, serve, serve_issuer,
};
pub use issuer::{Caller, Issuer, Minted};
pub use keys::{KeyRing, KeySpec, KeyStatus, RetiredKey};
pub use refusal::RefusalRecord;
pub use store::{IssuerStore, MintFn, StoreLocation};
pub use verification::{EvidenceRef, Fact, VerificationRecord, required_facts};

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
