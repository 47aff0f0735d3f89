//! Revocation checking (spec-digest §15, PT-REV): fetch the ticket's status list (or use a
//! copy cached per HTTP cache headers) and read its bit. Fails closed: anything short of a
//! clear bit in a well-formed list within range is a rejection.

use std::sync::Arc;

use url::Url;

use crate::trust::fetch::{CacheError, Fetcher, Freshness, UrlCache};
use crate::trust::status_list::{StatusList, StatusListError};

/// Outcome of a revocation check that did not pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevocationError {
    /// The bit is set.
    #[error("ticket has been revoked")]
    Revoked,
    /// The status could not be determined (fail closed).
    #[error("revocation status could not be determined: {0}")]
    Undeterminable(String),
}

/// Status-list cache and checker.
#[derive(Debug)]
pub struct RevocationChecker {
    fetcher: Fetcher,
    cache: UrlCache<StatusList>,
}

impl RevocationChecker {
    /// A checker over `fetcher`.
    pub fn new(fetcher: Fetcher) -> RevocationChecker {
        RevocationChecker {
            fetcher,
            cache: UrlCache::default(),
        }
    }

    /// Reporting status-list cache lookups to `observer` (metrics).
    pub fn with_cache_observer(
        mut self,
        observer: Arc<dyn crate::trust::fetch::CacheObserver>,
    ) -> RevocationChecker {
        self.cache = UrlCache::observed(observer);
        self
    }

    /// Checks bit `index` of the list at `url`.
    pub async fn check(&self, url: &str, index: u64, now: i64) -> Result<(), RevocationError> {
        let url = Url::parse(url)
            .map_err(|_| RevocationError::Undeterminable("status list URL is not a URL".into()))?;
        self.fetcher
            .check_url(&url)
            .map_err(|e| RevocationError::Undeterminable(e.to_string()))?;
        let list: Arc<StatusList> = self
            .cache
            .get_or_fetch(
                &self.fetcher,
                &url,
                now,
                Freshness::UseCache,
                StatusList::decode,
            )
            .await
            .map_err(|e| match e {
                CacheError::Fetch(f) => RevocationError::Undeterminable(f.to_string()),
                CacheError::Parse(p) => RevocationError::Undeterminable(p.to_string()),
            })?;
        match list.is_revoked(index) {
            Ok(false) => Ok(()),
            Ok(true) => Err(RevocationError::Revoked),
            Err(e @ StatusListError::OutOfRange { .. }) => {
                Err(RevocationError::Undeterminable(e.to_string()))
            }
            Err(e) => Err(RevocationError::Undeterminable(e.to_string())),
        }
    }
}
