//! Outbound trust material: issuer allow-list, key sets (static or fetched), revocation
//! status lists, OIDC discovery for evidence issuers, and the bounded HTTP fetcher they share.

pub mod fetch;
pub mod issuers;
pub mod keys;
pub mod oidc;
pub mod revocation;
pub mod status_list;
