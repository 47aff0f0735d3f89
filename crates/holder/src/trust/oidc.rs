//! OpenID Connect Discovery 1.0 for evidence issuers (spec-digest §8: "keys found via OpenID
//! Connect discovery from the ID token `iss`"): `{iss}/.well-known/openid-configuration` is
//! fetched through the bounded [`Fetcher`] and cached per its HTTP cache headers; its `issuer`
//! must equal the configured `iss` exactly (§4.3, so one provider cannot publish keys for
//! another) and its `jwks_uri` names the key set, which the shared [`KeyResolver`] fetches
//! and caches like any other. Only configured providers are ever looked up.

use std::sync::Arc;

use serde_json::Value;
use url::Url;

use crate::trust::fetch::{CacheError, Fetcher, Freshness, UrlCache};

/// Why discovery failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryError {
    /// The document could not be fetched.
    #[error("discovery document unavailable: {0}")]
    Unavailable(String),
    /// The document is not usable.
    #[error("discovery document invalid: {0}")]
    Invalid(String),
}

/// Discovered `jwks_uri`s, per discovery URL.
#[derive(Debug, Default)]
pub struct OidcDiscovery {
    cache: UrlCache<Url>,
}

impl OidcDiscovery {
    /// The `jwks_uri` that `iss` publishes at `config_url`.
    pub async fn jwks_uri(
        &self,
        fetcher: &Fetcher,
        config_url: &Url,
        iss: &str,
        now: i64,
    ) -> Result<Arc<Url>, DiscoveryError> {
        self.cache
            .get_or_fetch(fetcher, config_url, now, Freshness::UseCache, |body| {
                parse_metadata(body, iss)
            })
            .await
            .map_err(|e| match e {
                CacheError::Fetch(f) => DiscoveryError::Unavailable(f.to_string()),
                CacheError::Parse(p) => DiscoveryError::Invalid(p),
            })
    }
}

/// The `jwks_uri` of a provider metadata document whose `issuer` is `iss`.
pub fn parse_metadata(body: &[u8], iss: &str) -> Result<Url, String> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let obj = doc.as_object().ok_or("not a JSON object")?;
    match obj.get("issuer").and_then(Value::as_str) {
        Some(i) if i == iss => {}
        Some(_) => return Err("issuer differs from the configured iss".into()),
        None => return Err("no issuer".into()),
    }
    let uri = obj
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or("no jwks_uri")?;
    Url::parse(uri).map_err(|e| format!("jwks_uri is not a URL: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_must_match_exactly() {
        let doc = br#"{"issuer":"https://idp.example","jwks_uri":"https://keys.idp.example/jwks"}"#;
        assert_eq!(
            parse_metadata(doc, "https://idp.example").unwrap().as_str(),
            "https://keys.idp.example/jwks"
        );
        assert!(parse_metadata(doc, "https://idp.example/").is_err());
        assert!(parse_metadata(doc, "https://other.example").is_err());
        assert!(
            parse_metadata(
                br#"{"issuer":"https://idp.example"}"#,
                "https://idp.example"
            )
            .is_err()
        );
        assert!(
            parse_metadata(
                br#"{"issuer":"https://idp.example","jwks_uri":"::"}"#,
                "https://idp.example"
            )
            .is_err()
        );
        assert!(parse_metadata(b"[]", "https://idp.example").is_err());
        assert!(parse_metadata(b"<html>", "https://idp.example").is_err());
    }
}
