//! CRLs for UDAP chains: configured files plus CRLs fetched from the distribution points a
//! chain names, through the bounded [`Fetcher`] (HTTPS, or loopback HTTP when
//! `insecure_allow_loopback_http` is set; no redirects) and cached per HTTP cache headers.
//!
//! A CRL that cannot be fetched or parsed is simply absent from the set: `tessera-udap` then
//! refuses the certificate that needed it (`CrlUnavailable`), so failure is closed.

use tessera_udap::CrlSet;
use url::Url;

use crate::trust::fetch::{Fetcher, Freshness, UrlCache};

/// Most distribution points fetched for one chain.
pub const MAX_DISTRIBUTION_POINTS: usize = 4;

/// Fetched CRL bodies by URL.
#[derive(Debug, Default)]
pub struct CrlCache {
    cache: UrlCache<Vec<u8>>,
}

impl CrlCache {
    /// Configured CRLs plus those at `points`.
    pub async fn crl_set(
        &self,
        fetcher: &Fetcher,
        files: &[Vec<u8>],
        points: &[String],
        now: i64,
    ) -> CrlSet {
        let mut set = CrlSet::new();
        for f in files {
            if let Err(e) = set.add(f) {
                tracing::warn!(error = %e, "configured CRL not usable");
            }
        }
        for p in points.iter().take(MAX_DISTRIBUTION_POINTS) {
            let Ok(url) = Url::parse(p) else { continue };
            let parse = |b: &[u8]| -> Result<Vec<u8>, String> {
                CrlSet::new().add(b).map_err(|e| e.to_string())?;
                Ok(b.to_vec())
            };
            match self
                .cache
                .get_or_fetch(fetcher, &url, now, Freshness::UseCache, parse)
                .await
            {
                Ok(bytes) => {
                    if let Err(e) = set.add(&bytes) {
                        tracing::warn!(url = %p, error = %e, "CRL not usable");
                    }
                }
                Err(e) => tracing::warn!(url = %p, error = %e, "CRL unavailable"),
            }
        }
        set
    }
}
