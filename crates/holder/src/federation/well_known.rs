//! Well-known clients (Proposal 006; spec-digest §4, §9; PT-CA-09, PT-BIND-07): a client whose
//! id is `well-known:{entity_uri}` proves itself with a `private_key_jwt` assertion verified by
//! `{entity_uri}/.well-known/jwks.json`.
//!
//! Control of the domain is the whole proof, so the entity must first be *recognized* by a
//! configured `framework_type = "well-known"` framework (its `entities` list, or the entity
//! list of its `framework_document_uri` document). An unrecognized entity is refused before
//! anything is fetched from it: a `well-known:` id never makes us contact a host no
//! configured framework names. The JWKS comes through the shared [`KeyResolver`] (bounded
//! fetcher: HTTPS or loopback-when-allowed, size cap, timeout, no redirects; cached per HTTP
//! cache headers; one rate-limited refetch on an unknown `kid`).
//!
//! Framework document (`application/json`, our shape; docs/decisions.md):
//! `{"framework": "<the framework id>", "entities": ["https://app.example.org", …]}`;
//! `framework`, when present, must equal the configured id (a document of another framework
//! recognizes nobody here).

use std::sync::Arc;

use serde::Deserialize;
use tessera_jose::JwkSet;
use url::Url;

use crate::config::{FrameworkIdentityConfig, TrustFrameworkConfig, TrustFrameworkKind};
use crate::trust::fetch::{CacheError, Fetcher, Freshness, UrlCache};
use crate::trust::keys::{KeyResolver, KeySource};

/// The client-id prefix of Proposal 006.
pub const WELL_KNOWN_PREFIX: &str = "well-known:";
/// Longest accepted entity URI.
pub const MAX_ENTITY_URI_LEN: usize = 512;
/// Most entities a framework document may list.
pub const MAX_DOCUMENT_ENTITIES: usize = 10_000;

/// Why a well-known client was not recognized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WellKnownError {
    /// The part after `well-known:` is not an acceptable entity URI.
    #[error("entity URI not acceptable: {0}")]
    BadEntity(&'static str),
    /// No configured well-known framework lists the entity (nothing was fetched from it).
    #[error("entity not recognized by any well-known trust framework")]
    NotRecognized,
    /// A framework document could not be had (the framework named).
    #[error("framework document of {framework} unavailable: {reason}")]
    Document {
        /// The framework id.
        framework: String,
        /// What failed.
        reason: String,
    },
    /// The entity's JWKS could not be had (too large, slow, redirected, not a JWK Set…).
    #[error("JWKS unavailable: {0}")]
    Jwks(String),
}

/// A recognized well-known client: its JWKS and its verified identity.
#[derive(Debug, Clone)]
pub struct WellKnownClient {
    /// `{entity_uri}/.well-known/jwks.json`.
    pub keys: Arc<JwkSet>,
    /// `trust_framework` = the recognizing framework, `framework_type` = `well-known`.
    pub identity: FrameworkIdentityConfig,
}

/// The framework document's shape.
#[derive(Debug, Deserialize)]
struct FrameworkDocument {
    #[serde(default)]
    framework: Option<String>,
    entities: Vec<String>,
}

/// A parsed framework document: its framework id (if stated) and entities.
#[derive(Debug)]
struct Listed {
    framework: Option<String>,
    entities: Vec<Url>,
}

fn parse_document(bytes: &[u8]) -> Result<Listed, String> {
    let doc: FrameworkDocument = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if doc.entities.len() > MAX_DOCUMENT_ENTITIES {
        return Err(format!("more than {MAX_DOCUMENT_ENTITIES} entities"));
    }
    // An entry that is not a URL can never match; it is skipped rather than voiding the list.
    let entities = doc
        .entities
        .iter()
        .filter_map(|e| Url::parse(e).ok())
        .collect();
    Ok(Listed {
        framework: doc.framework,
        entities,
    })
}

#[derive(Debug)]
struct Framework {
    id: String,
    entities: Vec<Url>,
    document: Option<Url>,
}

/// Every configured well-known framework.
#[derive(Debug, Default)]
pub struct WellKnownFrameworks {
    frameworks: Vec<Framework>,
    fetcher: Option<Fetcher>,
    documents: UrlCache<Listed>,
}

impl WellKnownFrameworks {
    /// The `framework_type = "well-known"` entries of `list`, in id order (the first that
    /// recognizes an entity names its identity).
    pub fn from_config(list: &[TrustFrameworkConfig], fetcher: &Fetcher) -> WellKnownFrameworks {
        let mut frameworks: Vec<Framework> = list
            .iter()
            .filter_map(|tf| match &tf.kind {
                TrustFrameworkKind::WellKnown(w) => Some(Framework {
                    id: tf.id.clone(),
                    entities: w.entities.clone(),
                    document: w.framework_document_uri.clone(),
                }),
                _ => None,
            })
            .collect();
        frameworks.sort_by(|a, b| a.id.cmp(&b.id));
        WellKnownFrameworks {
            frameworks,
            fetcher: Some(fetcher.clone()),
            documents: UrlCache::default(),
        }
    }

    /// Whether any well-known framework is configured.
    pub fn is_empty(&self) -> bool {
        self.frameworks.is_empty()
    }

    /// Recognizes `client_id` (`well-known:{entity_uri}`) and fetches its keys; `kid` is the
    /// assertion's (an unknown one refetches the JWKS once).
    pub async fn authenticate(
        &self,
        keys: &KeyResolver,
        client_id: &str,
        kid: Option<&str>,
        now: i64,
    ) -> Result<WellKnownClient, WellKnownError> {
        let entity = client_id
            .strip_prefix(WELL_KNOWN_PREFIX)
            .ok_or(WellKnownError::BadEntity("no well-known: prefix"))?;
        let url = entity_url(entity)?;
        let framework = self.recognizing(&url, now).await?;
        let jwks = jwks_url(entity)?;
        let set = keys
            .key_set(&KeySource::Remote(jwks), kid, now)
            .await
            .map_err(|e| WellKnownError::Jwks(e.to_string()))?;
        Ok(WellKnownClient {
            keys: set,
            identity: FrameworkIdentityConfig {
                trust_framework: framework,
                framework_type: "well-known".into(),
                entity_uri: entity.to_owned(),
            },
        })
    }

    /// The id of the first framework (by id) that lists `entity`. A framework whose document
    /// is unavailable recognizes nobody; if none recognizes the entity and a document failed,
    /// that failure is the answer (so an outage is not reported as "not listed").
    async fn recognizing(&self, entity: &Url, now: i64) -> Result<String, WellKnownError> {
        let mut doc_failure = None;
        for f in &self.frameworks {
            if f.entities.iter().any(|e| e == entity) {
                return Ok(f.id.clone());
            }
            let (Some(doc), Some(fetcher)) = (&f.document, &self.fetcher) else {
                continue;
            };
            let got = self
                .documents
                .get_or_fetch(fetcher, doc, now, Freshness::UseCache, parse_document)
                .await;
            match got {
                Ok(listed) => {
                    let same_framework = listed.framework.as_ref().is_none_or(|id| *id == f.id);
                    if same_framework && listed.entities.iter().any(|e| e == entity) {
                        return Ok(f.id.clone());
                    }
                    if !same_framework {
                        doc_failure = Some(WellKnownError::Document {
                            framework: f.id.clone(),
                            reason: "document names another framework".into(),
                        });
                    }
                }
                Err(e) => {
                    doc_failure = Some(WellKnownError::Document {
                        framework: f.id.clone(),
                        reason: match e {
                            CacheError::Fetch(f) => f.to_string(),
                            CacheError::Parse(p) => format!("not a framework document: {p}"),
                        },
                    });
                }
            }
        }
        Err(doc_failure.unwrap_or(WellKnownError::NotRecognized))
    }
}

/// The entity URI as a URL: absolute http(s) with a host, no credentials, query or fragment
/// (it is concatenated with `/.well-known/jwks.json`; the fetch policy later decides whether
/// plain http is allowed at all).
pub fn entity_url(entity: &str) -> Result<Url, WellKnownError> {
    if entity.is_empty() || entity.len() > MAX_ENTITY_URI_LEN {
        return Err(WellKnownError::BadEntity("empty or too long"));
    }
    let url = Url::parse(entity).map_err(|_| WellKnownError::BadEntity("not a URL"))?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return Err(WellKnownError::BadEntity("not an http(s) URL with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(WellKnownError::BadEntity("carries credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() || entity.contains(['?', '#']) {
        return Err(WellKnownError::BadEntity("has a query or fragment"));
    }
    Ok(url)
}

/// `{entity_uri}/.well-known/jwks.json` (Proposal 006), keeping a path in the entity URI.
pub fn jwks_url(entity: &str) -> Result<Url, WellKnownError> {
    Url::parse(&format!(
        "{}/.well-known/jwks.json",
        entity.trim_end_matches('/')
    ))
    .map_err(|_| WellKnownError::BadEntity("not a URL"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwks_url_is_under_the_entity() {
        assert_eq!(
            jwks_url("https://app.example.org").unwrap().as_str(),
            "https://app.example.org/.well-known/jwks.json"
        );
        assert_eq!(
            jwks_url("https://app.example.org/").unwrap().as_str(),
            "https://app.example.org/.well-known/jwks.json"
        );
        assert_eq!(
            jwks_url("https://example.org/tenants/a").unwrap().as_str(),
            "https://example.org/tenants/a/.well-known/jwks.json"
        );
    }

    #[test]
    fn entity_uri_shape_is_strict() {
        assert!(entity_url("https://app.example.org").is_ok());
        for bad in [
            "",
            "app.example.org",
            "ftp://app.example.org",
            "https://user:pw@app.example.org",
            "https://app.example.org/?x=1",
            "https://app.example.org/#f",
            "https://app.example.org/?",
        ] {
            assert!(entity_url(bad).is_err(), "{bad}");
        }
        assert!(entity_url(&format!("https://a.example/{}", "x".repeat(600))).is_err());
    }

    #[test]
    fn framework_document_shape() {
        let l = parse_document(
            br#"{"framework":"https://wk.example","entities":["https://a.example","nope"]}"#,
        )
        .unwrap();
        assert_eq!(l.framework.as_deref(), Some("https://wk.example"));
        assert_eq!(l.entities.len(), 1);
        assert!(parse_document(br#"{"framework":"x"}"#).is_err());
        assert!(parse_document(br#"["https://a.example"]"#).is_err());
    }
}
