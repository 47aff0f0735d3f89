//! Key material for issuers, clients and identity providers: a static JWK Set, or a
//! `jwks_uri` fetched through the bounded [`Fetcher`] and cached per HTTP cache headers, with
//! one rate-limited refetch when a `kid` is unknown (key rotation, PT-TRUST-05).

use std::sync::Arc;

use tessera_jose::{Jwk, JwkSet, Jws};
use url::Url;

use crate::config::{KeySourceConfig, TrustFrameworkConfig, TrustFrameworkKind};
use crate::federation::{OidfFramework, OidfFrameworks};
use crate::trust::fetch::{CacheError, Fetcher, Freshness, UrlCache};
use crate::udap::Communities;
use crate::udap::issuer_keys::MetadataCache;

/// Seconds between forced refetches of one JWKS URL on an unknown `kid`.
pub const UNKNOWN_KID_REFETCH_INTERVAL: i64 = 5;

/// Where a party's keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// Known at start-up.
    Static(Arc<JwkSet>),
    /// Fetched and cached.
    Remote(Url),
    /// Through a configured trust framework, for one entity (an issuer's `iss`).
    Framework {
        /// The `[[trust_framework]]` id.
        trust_framework: String,
        /// The entity whose keys these are.
        entity: String,
        /// oidf: trust marks the entity must carry.
        required_trust_marks: Vec<String>,
    },
}

impl KeySource {
    /// Builds a source from validated configuration (parsing static sets now, so a bad key
    /// fails at start-up).
    pub fn from_config(cfg: &KeySourceConfig) -> Result<KeySource, String> {
        match cfg {
            KeySourceConfig::Static(v) => {
                let bytes = serde_json::to_vec(v).map_err(|e| e.to_string())?;
                let set = JwkSet::from_json(&bytes).map_err(|e| e.to_string())?;
                if set.keys.is_empty() {
                    return Err("no usable key (EC, RSA or OKP) in the JWK Set".into());
                }
                Ok(KeySource::Static(Arc::new(set)))
            }
            KeySourceConfig::Remote(u) => Ok(KeySource::Remote(u.clone())),
            KeySourceConfig::Framework {
                trust_framework, ..
            } => Err(format!(
                "keys through trust framework {trust_framework} need an entity (issuers only)"
            )),
        }
    }

    /// As [`KeySource::from_config`], for the keys of `entity` (a framework resolves them
    /// for that entity).
    pub fn for_entity(cfg: &KeySourceConfig, entity: &str) -> Result<KeySource, String> {
        match cfg {
            KeySourceConfig::Framework {
                trust_framework,
                required_trust_marks,
            } => Ok(KeySource::Framework {
                trust_framework: trust_framework.clone(),
                entity: entity.to_owned(),
                required_trust_marks: required_trust_marks.clone(),
            }),
            other => KeySource::from_config(other),
        }
    }
}

/// Why keys could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Retrieval failed or the document is not a JWK Set.
    #[error("keys unavailable: {0}")]
    Unavailable(String),
}

/// Resolves key sets, sharing one cache across every remote source.
#[derive(Debug)]
pub struct KeyResolver {
    fetcher: Fetcher,
    cache: UrlCache<JwkSet>,
    frameworks: Vec<TrustFrameworkConfig>,
    udap: Arc<Communities>,
    udap_metadata: MetadataCache,
    oidf: Arc<OidfFrameworks>,
}

impl KeyResolver {
    /// A resolver over `fetcher`.
    pub fn new(fetcher: Fetcher) -> KeyResolver {
        KeyResolver {
            fetcher,
            cache: UrlCache::default(),
            frameworks: Vec::new(),
            udap: Arc::new(Communities::default()),
            udap_metadata: MetadataCache::default(),
            oidf: Arc::default(),
        }
    }

    /// Reporting JWKS cache lookups to `observer` (metrics).
    pub fn with_cache_observer(
        mut self,
        observer: Arc<dyn crate::trust::fetch::CacheObserver>,
    ) -> KeyResolver {
        self.cache = UrlCache::observed(observer);
        self
    }

    /// With the configured trust frameworks (issuer keys through a framework).
    pub fn with_frameworks(
        mut self,
        frameworks: &[TrustFrameworkConfig],
        udap: Arc<Communities>,
    ) -> KeyResolver {
        self.frameworks = frameworks.to_vec();
        self.udap = udap;
        self
    }

    /// Keys of `entity` through the framework `trust_framework`, per its type.
    async fn framework_keys(
        &self,
        trust_framework: &str,
        entity: &str,
        required_trust_marks: &[String],
        now: i64,
    ) -> Result<Arc<JwkSet>, KeyError> {
        let kind = self
            .frameworks
            .iter()
            .find(|f| f.id == trust_framework)
            .map(|f| &f.kind);
        match kind {
            Some(TrustFrameworkKind::Udap(_)) => crate::udap::issuer_keys::issuer_keys(
                &self.udap,
                &self.udap_metadata,
                &self.fetcher,
                trust_framework,
                entity,
                now,
            )
            .await
            .map(Arc::new)
            .map_err(KeyError::Unavailable),
            Some(TrustFrameworkKind::Oidf(_)) => match self.oidf.get(trust_framework) {
                Some(f) => oidf_key_set(f, entity, required_trust_marks, now).await,
                None => Err(KeyError::Unavailable(format!(
                    "trust framework {trust_framework} cannot supply keys"
                ))),
            },
            Some(other) => Err(KeyError::Unavailable(format!(
                "issuer keys through {} frameworks are not supported",
                other.framework_type()
            ))),
            None => Err(KeyError::Unavailable(format!(
                "no trust framework {trust_framework}"
            ))),
        }
    }

    /// With OpenID Federations that can supply issuer keys.
    pub fn with_oidf(mut self, oidf: Arc<OidfFrameworks>) -> KeyResolver {
        self.oidf = oidf;
        self
    }

    /// The key set of `source`. When `kid` is given and not in a cached remote set, the set
    /// is fetched again (at most once per [`UNKNOWN_KID_REFETCH_INTERVAL`]).
    pub async fn key_set(
        &self,
        source: &KeySource,
        kid: Option<&str>,
        now: i64,
    ) -> Result<Arc<JwkSet>, KeyError> {
        let url = match source {
            KeySource::Static(set) => return Ok(set.clone()),
            KeySource::Remote(url) => url,
            KeySource::Framework {
                trust_framework,
                entity,
                required_trust_marks,
            } => {
                return self
                    .framework_keys(trust_framework, entity, required_trust_marks, now)
                    .await;
            }
        };
        let set = self.fetch(url, now, Freshness::UseCache).await?;
        match kid {
            Some(k) if set.find(k).is_none() => {
                let refresh = Freshness::Refresh {
                    min_interval: UNKNOWN_KID_REFETCH_INTERVAL,
                };
                self.fetch(url, now, refresh).await
            }
            _ => Ok(set),
        }
    }

    async fn fetch(&self, url: &Url, now: i64, f: Freshness) -> Result<Arc<JwkSet>, KeyError> {
        self.cache
            .get_or_fetch(&self.fetcher, url, now, f, JwkSet::from_json)
            .await
            .map_err(|e| match e {
                CacheError::Fetch(f) => KeyError::Unavailable(f.to_string()),
                CacheError::Parse(p) => KeyError::Unavailable(format!("not a JWK Set: {p}")),
            })
    }

    /// The fetcher (shared with status lists).
    pub fn fetcher(&self) -> &Fetcher {
        &self.fetcher
    }
}

/// OIDF: the issuer's resolved `smart_permission_ticket_issuer` keys (PT-TRUST-02/03).
async fn oidf_key_set(
    f: &OidfFramework,
    entity: &str,
    required_trust_marks: &[String],
    now: i64,
) -> Result<Arc<JwkSet>, KeyError> {
    crate::federation::ticket_issuer_keys(f, entity, required_trust_marks, now)
        .await
        .map(Arc::new)
        .map_err(|e| KeyError::Unavailable(format!("OpenID Federation: {e}")))
}

/// Verifies `jws` against `keys` and returns the key that verified it: the header `kid`
/// selects candidates (every key when the context allows a missing `kid`); only keys whose
/// type fits the `alg` are tried.
pub fn verifying_key<'a>(jws: &Jws, keys: &'a JwkSet) -> Result<&'a Jwk, VerifyError> {
    let kid = jws.header().kid.as_deref();
    let candidates: Vec<&Jwk> = keys
        .keys
        .iter()
        .filter(|k| kid.is_none() || k.kid.as_deref() == kid)
        .collect();
    if candidates.is_empty() {
        return Err(VerifyError::UnknownKid);
    }
    let alg = jws.header().alg;
    candidates
        .into_iter()
        .filter(|k| k.check_alg(alg).is_ok())
        .find(|k| jws.verify_with(k).is_ok())
        .ok_or(VerifyError::BadSignature)
}

/// Signature verification outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No key with the header `kid`.
    #[error("no key with the token's kid")]
    UnknownKid,
    /// No candidate key verified the signature.
    #[error("signature does not verify")]
    BadSignature,
}
