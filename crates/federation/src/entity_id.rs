//! Entity identifiers (§1.2): `https` URLs with a host, no query, no fragment. `http` is
//! accepted only for loopback hosts, so loopback test federations work; whether such an
//! identifier may be *fetched* is the fetcher's policy, not ours.

use url::{Host, Url};

use crate::FederationError;

/// Longest entity identifier accepted.
pub const MAX_ENTITY_ID_LEN: usize = 2048;

/// Parses and checks an entity identifier.
pub fn check(id: &str) -> Result<Url, FederationError> {
    let bad = || FederationError::InvalidEntityId(id.chars().take(128).collect());
    if id.len() > MAX_ENTITY_ID_LEN {
        return Err(bad());
    }
    let url = Url::parse(id).map_err(|_| bad())?;
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => return Err(bad()),
    };
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    if !scheme_ok || url.query().is_some() || url.fragment().is_some() {
        return Err(bad());
    }
    Ok(url)
}

/// `{entity}/.well-known/openid-federation` (§9), respecting a path in the identifier.
pub fn configuration_url(id: &str) -> Result<Url, FederationError> {
    let url = check(id)?;
    let base = url.as_str().trim_end_matches('/');
    Url::parse(&format!("{base}/.well-known/openid-federation"))
        .map_err(|_| FederationError::InvalidEntityId(id.chars().take(128).collect()))
}

/// The fetch endpoint request for `sub` (§8.1.1): `?sub=…` appended to the endpoint.
pub fn fetch_url(endpoint: &str, sub: &str) -> Result<Url, FederationError> {
    let mut url = check_endpoint(endpoint)?;
    url.query_pairs_mut().append_pair("sub", sub);
    Ok(url)
}

fn check_endpoint(endpoint: &str) -> Result<Url, FederationError> {
    let bad = || FederationError::InvalidEntityId(endpoint.chars().take(128).collect());
    let url = Url::parse(endpoint).map_err(|_| bad())?;
    if url.fragment().is_some() || !matches!(url.scheme(), "https" | "http") {
        return Err(bad());
    }
    Ok(url)
}

/// The host of an entity identifier (for naming constraints).
pub fn host(id: &str) -> Option<String> {
    Url::parse(id)
        .ok()
        .and_then(|u| u.host_str().map(|h| h.to_ascii_lowercase()))
}
