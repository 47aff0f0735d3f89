//! OpenID Federation 1.0 for Tessera. Pure: no HTTP, no clock (both are passed in).
//!
//! ```text
//! statement::EntityStatement::parse(jwt)      typ entity-statement+jwt, alg allow-list, kid, claims, crit
//! chain::validate(&[jwt], &anchors, &opts)    signatures leaf→anchor, iat/exp, constraints, metadata policy
//! policy::{parse, merge, apply}               value, add, default, one_of, subset_of, superset_of, essential
//! trust_mark::verify                          trust_mark_issuers, signature, exp, sub, trust_mark_owners delegation
//! resolve::Resolver<F: StatementFetcher>      .well-known/openid-federation → authority_hints → fetch endpoint
//! ```
//!
//! Federation keys (`jwks` of statements) only ever verify federation statements and trust
//! marks; protocol keys come from the resolved metadata (PT-TRUST-03).

pub mod chain;
pub mod constraints;
pub mod entity_id;
mod error;
pub mod policy;
pub mod resolve;
pub mod statement;
pub mod trust_mark;

pub use chain::{ChainOptions, TrustAnchor, TrustChain, validate};
pub use error::FederationError;
pub use resolve::{FetchFailure, FetchFuture, Resolver, ResolverLimits, StatementFetcher};
pub use statement::{ENTITY_STATEMENT_TYP, EntityStatement, TrustMarkOwner, TrustMarkRef};
pub use trust_mark::{TRUST_MARK_DELEGATION_TYP, TRUST_MARK_TYP, VerifiedTrustMark};
