//! The client side of trust frameworks: resolving an OpenID Federation trust chain (what
//! `tessera federation resolve` prints, and the `trust_chain` an OIDF client sends in its
//! assertion header), and Proposal 006 `well-known:{entity_uri}` client ids.
//!
//! Resolution is [`tessera_federation::Resolver`] over this client's HTTP (no redirects,
//! 30 s timeout, bodies capped at the statement bound).

use serde_json::{Map, Value};
use tessera_federation::{
    FederationError, FetchFailure, FetchFuture, Resolver, ResolverLimits, StatementFetcher,
    TrustAnchor, TrustChain,
};
use url::Url;

use crate::error::Step;
use crate::http::send;
use crate::{Client, ClientError};

/// The client-id prefix of Proposal 006.
pub const WELL_KNOWN_PREFIX: &str = "well-known:";
/// Most statements accepted in a `trust_chain` file.
pub const MAX_TRUST_CHAIN_LEN: usize = 8;

/// `well-known:{entity_uri}` for an http(s) entity URI without query or fragment.
pub fn well_known_client_id(entity_uri: &str) -> Result<String, ClientError> {
    let url = Url::parse(entity_uri)
        .map_err(|e| ClientError::Input(format!("well-known entity URI: {e}")))?;
    if !matches!(url.scheme(), "https" | "http")
        || url.host().is_none()
        || entity_uri.contains(['?', '#'])
    {
        return Err(ClientError::Input(
            "well-known entity URI must be an http(s) URL without query or fragment".into(),
        ));
    }
    Ok(format!("{WELL_KNOWN_PREFIX}{entity_uri}"))
}

/// A `trust_chain` file: a JSON array of compact statements (leaf first), or one statement per
/// line.
pub fn parse_trust_chain(text: &str) -> Result<Vec<String>, ClientError> {
    let text = text.trim();
    let chain: Vec<String> = if text.starts_with('[') {
        serde_json::from_str(text)
            .map_err(|e| ClientError::Input(format!("trust chain: not a JSON string array: {e}")))?
    } else {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    };
    if chain.is_empty() || chain.len() > MAX_TRUST_CHAIN_LEN {
        return Err(ClientError::Input(format!(
            "trust chain: 1 to {MAX_TRUST_CHAIN_LEN} statements expected, found {}",
            chain.len()
        )));
    }
    if chain.iter().any(|s| s.split('.').count() != 3) {
        return Err(ClientError::Input(
            "trust chain: every entry must be a compact JWS".into(),
        ));
    }
    Ok(chain)
}

/// The assertion header members that carry a trust chain.
pub fn trust_chain_header(chain: &[String]) -> Map<String, Value> {
    let mut h = Map::new();
    h.insert(
        "trust_chain".into(),
        Value::Array(chain.iter().cloned().map(Value::String).collect()),
    );
    h
}

/// This client's HTTP as a federation statement fetcher.
struct HttpFetcher(reqwest::Client);

impl StatementFetcher for HttpFetcher {
    fn fetch<'a>(&'a self, url: &'a Url) -> FetchFuture<'a> {
        Box::pin(async move {
            let request = self
                .0
                .get(url.clone())
                .header("accept", "application/entity-statement+jwt");
            let limit = tessera_federation::statement::MAX_STATEMENT_LEN;
            match send(request, Step::Federation, url, limit).await {
                Ok(b) if b.status == 200 => Ok(b.bytes),
                Ok(b) => Err(FetchFailure::Other(format!("HTTP {}", b.status))),
                Err(ClientError::BadResponse { reason, .. })
                    if reason.starts_with("body larger") =>
                {
                    Err(FetchFailure::TooLarge)
                }
                Err(e) => Err(FetchFailure::Other(e.to_string())),
            }
        })
    }
}

impl Client {
    /// Resolves `entity` to `anchor` online (`.well-known/openid-federation`, `authority_hints`,
    /// fetch endpoints), validates the chain and verifies trust marks, requiring `required`.
    pub async fn resolve_trust_chain(
        &self,
        entity: &str,
        anchor: TrustAnchor,
        required_trust_marks: &[String],
    ) -> Result<TrustChain, FederationError> {
        let resolver = Resolver::new(
            HttpFetcher(self.http.clone()),
            vec![anchor],
            ResolverLimits::default(),
        );
        resolver
            .resolve_with_marks(entity, required_trust_marks, self.clock.now())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_ids() {
        assert_eq!(
            well_known_client_id("https://app.example.org").unwrap(),
            "well-known:https://app.example.org"
        );
        assert!(well_known_client_id("app.example.org").is_err());
        assert!(well_known_client_id("https://app.example.org/?q").is_err());
    }

    #[test]
    fn trust_chain_files() {
        assert_eq!(
            parse_trust_chain(r#"["a.b.c","d.e.f"]"#).unwrap(),
            vec!["a.b.c", "d.e.f"]
        );
        assert_eq!(parse_trust_chain("a.b.c\n\nd.e.f\n").unwrap().len(), 2);
        assert!(parse_trust_chain("").is_err());
        assert!(parse_trust_chain(r#"["not-a-jws"]"#).is_err());
        assert!(parse_trust_chain(r#"[1]"#).is_err());
        let h = trust_chain_header(&["a.b.c".to_owned()]);
        assert_eq!(h["trust_chain"], serde_json::json!(["a.b.c"]));
    }
}
