//! The single-use keys one request spends (client-assertion `jti`, DPoP proof `jti`), held
//! until the request's final commit puts them, its token and its audit row into one
//! [`WriteSet`] (docs/design/002-durable-writes.md).
//!
//! [`ReplayGuard::spend`] checks the store early (so a replayed assertion still fails at
//! client authentication, in the spec's order) and records the key as pending; the commit's
//! unique constraint is what makes the decision exact under concurrency and across
//! processes. Authenticators reach the guard through `AuthContext`, so any future
//! authenticator spends its assertion the same way.

use std::sync::Mutex;

use tessera_store::durable::{OnceKey, TokenStore};

/// Which refusal a spent key means (each maps to its own protocol error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A client-assertion `jti` (PT-CA-05): `invalid_client`.
    Assertion,
    /// A DPoP proof `jti` (RFC 9449 §11.1): `invalid_dpop_proof`.
    DpopProof,
}

/// Why a key cannot be spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpendError {
    /// Already spent (durably, or earlier in this request).
    Replayed,
    /// The store could not be asked (fail closed).
    Unavailable,
}

/// A request's pending single-use keys.
#[derive(Debug)]
pub struct ReplayGuard<'a> {
    store: &'a dyn TokenStore,
    now: i64,
    pending: Mutex<Vec<(OnceKey, KeyKind)>>,
}

impl<'a> ReplayGuard<'a> {
    /// A guard for a request at `now`.
    pub fn new(store: &'a dyn TokenStore, now: i64) -> ReplayGuard<'a> {
        ReplayGuard {
            store,
            now,
            pending: Mutex::new(Vec::new()),
        }
    }

    /// Marks `(namespace, key)` as spent by this request, remembered until `keep_until`.
    pub fn spend(
        &self,
        namespace: &str,
        key: &str,
        keep_until: i64,
        kind: KeyKind,
    ) -> Result<(), SpendError> {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if pending
            .iter()
            .any(|(k, _)| k.namespace == namespace && k.key == key)
        {
            return Err(SpendError::Replayed);
        }
        match self.store.is_spent(namespace, key, self.now) {
            Ok(true) => return Err(SpendError::Replayed),
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %e, "replay cache unavailable");
                return Err(SpendError::Unavailable);
            }
        }
        pending.push((
            OnceKey {
                namespace: namespace.to_owned(),
                key: key.to_owned(),
                keep_until,
                on_conflict: None,
            },
            kind,
        ));
        Ok(())
    }

    /// The pending keys, in the order they were spent.
    pub fn into_keys(self) -> Vec<(OnceKey, KeyKind)> {
        self.pending.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}
