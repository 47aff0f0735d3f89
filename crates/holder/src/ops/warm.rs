//! Start-up cache warming: fetch every configured remote issuer key set (`jwks_uri`) once,
//! so the first redemptions after a node joins the pool do not all pay the fetch. A failed
//! fetch is logged and counted (`tessera_cache_fetch_errors_total`) but does not hold the node
//! out of service: an issuer being down must not take a Data Holder's other issuers with it;
//! the next redemption naming that issuer fetches again.

use crate::state::HolderState;
use crate::trust::keys::KeySource;

/// Runs the warm-up, then marks the node warm (`/readyz`).
pub async fn warm_up(state: &HolderState) {
    let now = state.now();
    let inner = &state.inner;
    for issuer in inner.issuers.all() {
        if let KeySource::Remote(url) = &issuer.keys {
            match inner.keys.key_set(&issuer.keys, None, now).await {
                Ok(set) => tracing::info!(%url, keys = set.keys.len(), "issuer keys cached"),
                Err(e) => tracing::warn!(%url, error = %e, "issuer keys not cached at start-up"),
            }
        }
    }
    state.mark_warm();
}
