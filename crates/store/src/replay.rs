//! Client-assertion `jti` replay cache (RFC 7523 §3, SMART Backend Services; PT-CA-05).
//!
//! A `(client_id, jti)` pair is accepted once. Rows are kept until the assertion could no
//! longer be accepted anyway (its `exp` plus leeway), then purged, so the table stays bounded
//! by the rate of valid assertions times their (≤ 5 min) lifetime.

use rusqlite::params;

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
    /// Records `(client_id, jti)`, kept until `keep_until`; reports a replay if present.
    pub fn record_assertion_jti(
        &self,
        client_id: &str,
        jti: &str,
        keep_until: i64,
        now: i64,
    ) -> Result<ReplayOutcome, TokenDbError> {
        let conn = self.conn();
        conn.execute(
            "DELETE FROM assertion_jti WHERE keep_until < ?1",
            params![now],
        )?;
        let inserted = conn.execute(
            "INSERT OR IGNORE INTO assertion_jti (client_id, jti, keep_until) VALUES (?1, ?2, ?3)",
            params![client_id, jti, keep_until],
        )?;
        Ok(if inserted == 1 {
            ReplayOutcome::Fresh
        } else {
            ReplayOutcome::Replayed
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
