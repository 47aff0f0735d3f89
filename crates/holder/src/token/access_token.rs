//! Opaque access tokens: 256 random bits, base64url; stored only as their SHA-256 hash with
//! the Grant in the durable `access_token` table, plus a bounded in-process cache in front.
//!
//! Opaque rather than a signed JWT: the Grant can be large (encounter lists, narrowings), the
//! Resource Server is in-process, and revoking or inspecting a token is a table lookup
//! (introspection reads the same row). Lookups hash the presented token first, so neither the
//! index search nor the cache compares secrets directly.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest::{SHA256, digest};
use tessera_access::Grant;
use tessera_store::tokens::TokenRecord;

use crate::state::HolderState;

/// Largest number of tokens kept in the in-process cache.
pub const MAX_CACHED_TOKENS: usize = 10_000;

/// A stored token with its decoded Grant.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    /// The stored row.
    pub record: TokenRecord,
    /// The Grant the FHIR API enforces.
    pub grant: Arc<Grant>,
}

/// In-process cache of token hash → info.
#[derive(Debug, Default)]
pub struct TokenCache {
    map: Mutex<HashMap<Vec<u8>, Arc<TokenInfo>>>,
}

impl TokenCache {
    fn get(&self, hash: &[u8], now: i64) -> Option<Arc<TokenInfo>> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(hash).filter(|i| i.record.expires_at > now).cloned()
    }

    fn put(&self, info: Arc<TokenInfo>, now: i64) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_CACHED_TOKENS {
            map.retain(|_, i| i.record.expires_at > now);
            if map.len() >= MAX_CACHED_TOKENS {
                map.clear();
            }
        }
        map.insert(info.record.token_hash.clone(), info);
    }
}

/// A fresh random token string (43 base64url characters).
pub fn new_token_string() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| "random source failed".to_string())?;
    Ok(tessera_jose::b64::encode(bytes))
}

/// SHA-256 of a token string.
pub fn token_hash(token: &str) -> Vec<u8> {
    digest(&SHA256, token.as_bytes()).as_ref().to_vec()
}

/// Caches a token whose row is already durable (committed with the redemption's audit row).
pub fn cache_token(state: &HolderState, record: TokenRecord, grant: Grant, now: i64) {
    state.inner.tokens.put(
        Arc::new(TokenInfo {
            record,
            grant: Arc::new(grant),
        }),
        now,
    );
}

/// The live token `token` refers to, if any.
pub async fn lookup_token(
    state: &HolderState,
    token: &str,
) -> Result<Option<Arc<TokenInfo>>, String> {
    if token.is_empty() || token.len() > 512 {
        return Ok(None);
    }
    let now = state.now();
    let hash = token_hash(token);
    if let Some(info) = state.inner.tokens.get(&hash, now) {
        return Ok(Some(info));
    }
    let db = state.inner.db.clone();
    let h = hash.clone();
    let found = tokio::task::spawn_blocking(move || db.find_token(&h, now))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let Some(record) = found else { return Ok(None) };
    let grant: Grant = serde_json::from_str(&record.grant_json).map_err(|e| e.to_string())?;
    let info = Arc::new(TokenInfo {
        record,
        grant: Arc::new(grant),
    });
    state.inner.tokens.put(info.clone(), now);
    Ok(Some(info))
}
