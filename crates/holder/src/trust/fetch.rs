//! Bounded outbound HTTP for key sets and status lists, with an HTTP-cache-aware TTL cache.
//!
//! Every fetch has a timeout, a body-size cap, no redirects, and a URL policy (HTTPS only;
//! `http://` to loopback hosts only when the operator set `insecure_allow_loopback_http`).
//! Cached copies live for `Cache-Control: max-age` (capped); `no-store`/`no-cache` or no
//! `max-age` means the copy is used only by the request that fetched it. Concurrent misses on
//! one URL share a single fetch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use url::{Host, Url};

use crate::config::HttpLimits;

/// Largest number of distinct URLs kept in one cache.
pub const MAX_CACHED_URLS: usize = 256;

/// Why a fetch failed (all map to "undeterminable" / "unable to retrieve").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The URL is not acceptable under the outbound policy.
    #[error("URL not allowed: {0}")]
    UrlNotAllowed(String),
    /// Connection, timeout or protocol failure.
    #[error("fetch failed: {0}")]
    Transport(String),
    /// Non-2xx status.
    #[error("unexpected HTTP status {0}")]
    Status(u16),
    /// Body larger than the cap.
    #[error("response body too large")]
    TooLarge,
}

/// A fetched body with its cache lifetime in seconds (0 = do not reuse).
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Body bytes.
    pub body: Arc<Vec<u8>>,
    /// Seconds this copy may be reused.
    pub max_age: i64,
}

/// Outbound HTTP client shared by every cache.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    limits: HttpLimits,
    allow_loopback_http: bool,
}

impl Fetcher {
    /// Builds the client (no redirects, bounded timeout).
    pub fn new(limits: HttpLimits, allow_loopback_http: bool) -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(limits.timeout_ms))
            .connect_timeout(Duration::from_millis(limits.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        Ok(Fetcher {
            client,
            limits,
            allow_loopback_http,
        })
    }

    /// Whether the outbound policy allows this URL.
    pub fn check_url(&self, url: &Url) -> Result<(), FetchError> {
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.allow_loopback_http && is_loopback(url) => Ok(()),
            _ => Err(FetchError::UrlNotAllowed(url.to_string())),
        }
    }

    /// GETs `url` with the configured bounds.
    pub async fn get(&self, url: &Url) -> Result<Fetched, FetchError> {
        self.check_url(url)?;
        let mut resp = self
            .client
            .get(url.clone())
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        let max_age = cache_lifetime(resp.headers(), self.limits.max_cache_seconds);
        let cap = self.limits.max_response_bytes;
        if resp.content_length().is_some_and(|n| n > cap as u64) {
            return Err(FetchError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| FetchError::Transport(e.to_string()))?
        {
            if body.len() + chunk.len() > cap {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            body: Arc::new(body),
            max_age,
        })
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Seconds a response may be reused: `max-age` capped by `cap`; 0 for `no-store`, `no-cache`,
/// `private`-less oddities or no `max-age`. `Expires` is not read (a date needs the clock of
/// the origin; `max-age` is what our issuer sends).
pub fn cache_lifetime(headers: &http::HeaderMap, cap: i64) -> i64 {
    let mut max_age = 0i64;
    for value in headers.get_all(http::header::CACHE_CONTROL) {
        let Ok(text) = value.to_str() else { return 0 };
        for directive in text.split(',') {
            let d = directive.trim().to_ascii_lowercase();
            if d == "no-store" || d == "no-cache" {
                return 0;
            }
            if let Some(n) = d.strip_prefix("max-age=") {
                max_age = n.trim_matches('"').parse::<i64>().unwrap_or(0).max(0);
            }
        }
    }
    max_age.min(cap)
}

/// A parsed, cached value per URL.
#[derive(Debug)]
struct Entry<T> {
    value: Arc<T>,
    fetched_at: i64,
    expires_at: i64,
}

type Slot<T> = Arc<tokio::sync::Mutex<Option<Entry<T>>>>;

/// Sees a cache's lookups (metrics): a usable cached copy, a fetch, a failed fetch.
pub trait CacheObserver: Send + Sync + std::fmt::Debug {
    /// Answered from the cache.
    fn hit(&self);
    /// Not cached (or stale): fetching.
    fn miss(&self);
    /// The fetch or its parse failed.
    fn fetch_error(&self);
}

/// A cache of parsed documents keyed by URL, refreshed per HTTP cache headers.
#[derive(Debug)]
pub struct UrlCache<T> {
    slots: Mutex<HashMap<String, Slot<T>>>,
    observer: Option<Arc<dyn CacheObserver>>,
}

impl<T> Default for UrlCache<T> {
    fn default() -> Self {
        UrlCache {
            slots: Mutex::new(HashMap::new()),
            observer: None,
        }
    }
}

/// How a lookup should treat a cached copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Use a cached copy while it is within its lifetime.
    UseCache,
    /// Fetch again unless the cached copy was fetched less than `min_interval` seconds ago
    /// (unknown `kid`: refetch once, rate limited).
    Refresh {
        /// Seconds between forced refetches.
        min_interval: i64,
    },
}

impl<T> UrlCache<T> {
    /// An empty cache reporting its lookups to `observer`.
    pub fn observed(observer: Arc<dyn CacheObserver>) -> UrlCache<T> {
        UrlCache {
            slots: Mutex::new(HashMap::new()),
            observer: Some(observer),
        }
    }

    fn slot(&self, url: &str) -> Slot<T> {
        let mut slots = match self.slots.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if !slots.contains_key(url) && slots.len() >= MAX_CACHED_URLS {
            // Bounded: drop everything rather than track recency; refills are cheap.
            slots.clear();
        }
        slots.entry(url.to_string()).or_default().clone()
    }

    /// Returns the cached value for `url` or fetches and parses it.
    pub async fn get_or_fetch<E>(
        &self,
        fetcher: &Fetcher,
        url: &Url,
        now: i64,
        freshness: Freshness,
        parse: impl FnOnce(&[u8]) -> Result<T, E>,
    ) -> Result<Arc<T>, CacheError<E>> {
        let slot = self.slot(url.as_str());
        let mut guard = slot.lock().await;
        if let Some(entry) = guard.as_ref() {
            let usable = match freshness {
                Freshness::UseCache => now < entry.expires_at,
                Freshness::Refresh { min_interval } => now < entry.fetched_at + min_interval,
            };
            if usable {
                if let Some(o) = &self.observer {
                    o.hit();
                }
                return Ok(entry.value.clone());
            }
        }
        if let Some(o) = &self.observer {
            o.miss();
        }
        let parsed = match fetcher.get(url).await {
            Ok(fetched) => parse(&fetched.body)
                .map(|v| (v, fetched.max_age))
                .map_err(CacheError::Parse),
            Err(e) => Err(CacheError::Fetch(e)),
        };
        let (value, max_age) = match parsed {
            Ok(ok) => ok,
            Err(e) => {
                if let Some(o) = &self.observer {
                    o.fetch_error();
                }
                return Err(e);
            }
        };
        let value = Arc::new(value);
        *guard = Some(Entry {
            value: value.clone(),
            fetched_at: now,
            expires_at: now + max_age,
        });
        Ok(value)
    }
}

/// A cache lookup failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError<E> {
    /// Retrieval failed.
    #[error("{0}")]
    Fetch(FetchError),
    /// The document did not parse.
    #[error("unparseable document")]
    Parse(E),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(v: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::CACHE_CONTROL, v.parse().unwrap());
        h
    }

    #[test]
    fn cache_control_is_honoured_and_capped() {
        assert_eq!(cache_lifetime(&headers("max-age=60"), 3600), 60);
        assert_eq!(
            cache_lifetime(&headers("public, max-age=99999"), 3600),
            3600
        );
        assert_eq!(cache_lifetime(&headers("no-store, max-age=60"), 3600), 0);
        assert_eq!(cache_lifetime(&headers("max-age=60, no-cache"), 3600), 0);
        assert_eq!(cache_lifetime(&headers("max-age=-5"), 3600), 0);
        assert_eq!(cache_lifetime(&http::HeaderMap::new(), 3600), 0);
    }

    #[test]
    fn url_policy() {
        let limits = HttpLimits {
            timeout_ms: 100,
            max_response_bytes: 10,
            max_cache_seconds: 10,
        };
        let strict = Fetcher::new(limits, false).unwrap();
        let lax = Fetcher::new(limits, true).unwrap();
        let http_loop = Url::parse("http://127.0.0.1:9/x").unwrap();
        let http_remote = Url::parse("http://example.org/x").unwrap();
        assert!(strict.check_url(&http_loop).is_err());
        assert!(lax.check_url(&http_loop).is_ok());
        assert!(lax.check_url(&http_remote).is_err());
        assert!(
            strict
                .check_url(&Url::parse("https://example.org/x").unwrap())
                .is_ok()
        );
        assert!(
            lax.check_url(&Url::parse("file:///etc/passwd").unwrap())
                .is_err()
        );
    }
}
