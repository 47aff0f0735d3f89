//! Client-assertion `jti` replay cache (RFC 7523 §3, SMART Backend Services; PT-CA-05).
//!
//! A `(client_id, jti)` pair is accepted once. Rows are kept until the assertion could no
//! longer be accepted anyway (its `exp` plus leeway), then purged, so the table stays bounded
//! by the rate of valid assertions times their (≤ 5 min) lifetime.

use crate::durable::{OnceKey, SetOutcome, TokenStore, WriteSet};
use crate::token_db::{TokenDb, TokenDbError};

/// Whether an assertion `jti` was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayOutcome {
    /// First use: recorded.
    Fresh,
    /// Seen before within its lifetime.
    Replayed,
}

impl TokenDb {
    /// Records `(client_id, jti)` on its own (one durable transaction), kept until
    /// `keep_until`; reports a replay if present. The token endpoint spends keys inside its
    /// request's [`WriteSet`] instead, so the key, token and audit row commit together.
    pub fn record_assertion_jti(
        &self,
        client_id: &str,
        jti: &str,
        keep_until: i64,
        now: i64,
    ) -> Result<ReplayOutcome, TokenDbError> {
        let set = WriteSet {
            now,
            once: vec![OnceKey {
                namespace: client_id.to_owned(),
                key: jti.to_owned(),
                keep_until,
                on_conflict: None,
            }],
            ..WriteSet::default()
        };
        Ok(match self.commit_batch(std::slice::from_ref(&set))?[..] {
            [SetOutcome::Committed] => ReplayOutcome::Fresh,
            _ => ReplayOutcome::Replayed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jti_is_accepted_once_per_client_until_purged() {
        let db = TokenDb::open_in_memory().unwrap();
        assert_eq!(
            db.record_assertion_jti("a", "j1", 100, 0).unwrap(),
            ReplayOutcome::Fresh
        );
        assert_eq!(
            db.record_assertion_jti("a", "j1", 100, 50).unwrap(),
            ReplayOutcome::Replayed
        );
        assert_eq!(
            db.record_assertion_jti("b", "j1", 100, 50).unwrap(),
            ReplayOutcome::Fresh
        );
        // Past keep_until the row is purged: the assertion itself would be expired by then.
        assert_eq!(
            db.record_assertion_jti("a", "j1", 300, 101).unwrap(),
            ReplayOutcome::Fresh
        );
    }
}
