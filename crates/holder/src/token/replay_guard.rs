//! The single-use keys one request spends (client-assertion `jti`, DPoP proof `jti`), held
//! until the request's final commit puts them, its token and its audit row into one
//! [`tessera_store::durable::WriteSet`] (docs/design/002-durable-writes.md).
//!
//! [`ReplayGuard::spend`] only records the key as pending (and refuses the same key twice in
//! one request); the commit's unique constraint decides, exactly, under concurrency and across
//! processes and nodes. Every request commits its keys, refused or not, and a key already
//! spent turns the whole answer into that key's replay refusal with its own audit row
//! (`token/commit.rs`): so a replayed assertion is still answered `invalid_client` at client
//! authentication whatever a later step found, the spec's order, without a store read before
//! the pipeline (it was one round trip per redemption on PostgreSQL; docs/decisions.md).
//! Authenticators reach the guard through `AuthContext`, so any future authenticator spends
//! its assertion the same way.

use std::sync::Mutex;

use tessera_store::durable::OnceKey;

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
    /// Already spent earlier in this request (a durable earlier spend is found by the
    /// commit).
    Replayed,
}

/// A request's pending single-use keys.
#[derive(Debug, Default)]
pub struct ReplayGuard {
    pending: Mutex<Vec<(OnceKey, KeyKind)>>,
}

impl ReplayGuard {
    /// A guard with nothing spent yet.
    pub fn new() -> ReplayGuard {
        ReplayGuard::default()
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
