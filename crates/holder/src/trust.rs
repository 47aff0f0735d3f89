//! Outbound trust material: issuer allow-list, key sets (static or fetched), revocation
//! status lists, OIDC discovery for evidence issuers, the bounded HTTP fetcher they share, and
//! our own membership of trust frameworks (the framework-aware audience).

pub mod fetch;
pub mod issuers;
pub mod keys;
pub mod membership;
pub mod oidc;
pub mod revocation;
pub mod status_list;
