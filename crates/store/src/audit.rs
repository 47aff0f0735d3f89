//! The redemption audit trail (spec-digest §17, PT-AUDIT): one row per token-endpoint decision,
//! written before the response leaves, queryable by ticket `jti`.
//!
//! Rows never hold a whole token; `details` carries structured extras (requester, profile
//! claims, binding outcome, claim control number) as JSON text.
//!
//! Every row is a link of a hash chain ([`crate::audit_chain`]), appended in the transaction
//! that inserts it; [`AuditChainStore`] is what `tessera audit verify` and `audit head` read.

use std::borrow::Cow;

use rusqlite::{Connection, Row, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use crate::audit_chain::{ChainFault, ChainHead, ChainSummary, Hash};
use crate::token_db::{TokenDb, TokenDbError};

/// Largest number of rows one query returns.
pub const MAX_AUDIT_ROWS: usize = 1000;

/// One audited decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AuditRecord {
    /// Row id (assigned on insert; 0 before).
    pub id: i64,
    /// Unix seconds of the decision.
    pub at: i64,
    /// `token_exchange`, `introspection`, ...
    pub event: String,
    /// `accepted` or `rejected`.
    pub outcome: String,
    /// Pipeline step that rejected (absent when accepted).
    pub step: Option<String>,
    /// OAuth `error` code.
    pub error: Option<String>,
    /// The `error_description` sent.
    pub error_description: Option<String>,
    /// Ticket `jti` (when the ticket parsed far enough).
    pub jti: Option<String>,
    /// Ticket `iss`.
    pub iss: Option<String>,
    /// Ticket `ticket_type`.
    pub ticket_type: Option<String>,
    /// Authenticated (or claimed, if authentication failed) client id.
    pub client_id: Option<String>,
    /// Requester summary (JSON).
    pub requester: Option<String>,
    /// Presenter-binding outcome.
    pub binding: Option<String>,
    /// Resolved local Patient id.
    pub patient: Option<String>,
    /// Granted scopes (space separated).
    pub scopes: Option<String>,
    /// Further structured facts (JSON object text).
    pub details: String,
}

/// What a chain walk found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditChainReport {
    /// The verified chain, or its first fault.
    pub outcome: Result<ChainSummary, ChainFault>,
    /// Rows that predate the chain and were chained when the database was migrated (proven
    /// unchanged since then, not before).
    pub legacy_rows: u64,
}

/// The audit chain's reads, per backend (the append is part of each backend's audit insert).
pub trait AuditChainStore {
    /// The recorded head (`None`: none recorded, which only tampering causes).
    fn audit_head(&self) -> Result<Option<ChainHead>, TokenDbError>;

    /// Walks every row in id order in one snapshot with bounded memory, checking the chain,
    /// the recorded head and, when given, that a row carries the `anchor` hash. `Err` only
    /// when the database cannot be read; a broken chain is [`AuditChainReport::outcome`].
    fn verify_audit_chain(&self, anchor: Option<Hash>) -> Result<AuditChainReport, TokenDbError>;
}

/// The record's columns in the order [`from_row`] reads them.
pub(crate) const RECORD_COLUMNS: &str = "id, at, event, outcome, step, error, error_description, \
     jti, iss, ticket_type, client_id, requester, binding, patient, scopes, details";

/// How many columns [`RECORD_COLUMNS`] names.
pub(crate) const RECORD_COLUMN_COUNT: usize = 16;

impl TokenDb {
    /// Appends a record on its own (its own durable transaction); returns its row id. The
    /// token endpoint writes through [`crate::durable::TokenStore::commit_batch`] instead.
    pub fn append_audit(&self, r: &AuditRecord) -> Result<i64, TokenDbError> {
        let mut conn = self.conn();
        // IMMEDIATE: the chain head is read under the write lock.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = insert_audit(&tx, r)?;
        tx.commit()?;
        Ok(id)
    }

    /// Records for a ticket `jti`, oldest first (at most [`MAX_AUDIT_ROWS`]).
    pub fn audit_by_jti(&self, jti: &str) -> Result<Vec<AuditRecord>, TokenDbError> {
        self.query_audit("WHERE jti = ?1", Some(jti))
    }

    /// The most recent records, oldest first (at most [`MAX_AUDIT_ROWS`]).
    pub fn audit_recent(&self) -> Result<Vec<AuditRecord>, TokenDbError> {
        let mut rows = self.query_audit("", None)?;
        if rows.len() >= MAX_AUDIT_ROWS {
            rows.drain(..rows.len() - MAX_AUDIT_ROWS);
        }
        Ok(rows)
    }

    fn query_audit(
        &self,
        filter: &str,
        jti: Option<&str>,
    ) -> Result<Vec<AuditRecord>, TokenDbError> {
        let conn = self.read_conn();
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM redemption_audit {filter} ORDER BY id DESC \
             LIMIT {MAX_AUDIT_ROWS}"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut out = match jti {
            Some(j) => stmt
                .query_map(params![j], from_row)?
                .collect::<Result<Vec<_>, _>>()?,
            None => stmt
                .query_map([], from_row)?
                .collect::<Result<Vec<_>, _>>()?,
        };
        out.reverse();
        Ok(out)
    }
}

/// Inserts one audit row on `conn` as the chain's next link, inside the caller's write
/// transaction (whose lock serializes appends); returns its row id.
pub(crate) fn insert_audit(conn: &Connection, r: &AuditRecord) -> Result<i64, TokenDbError> {
    // Hashed as stored: an empty `details` is stored (and so hashed) as `{}`.
    let r = if r.details.is_empty() {
        Cow::Owned(AuditRecord {
            details: "{}".into(),
            ..r.clone()
        })
    } else {
        Cow::Borrowed(r)
    };
    crate::audit_chain_sqlite::append(conn, &r)
}

pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<AuditRecord> {
    Ok(AuditRecord {
        id: row.get(0)?,
        at: row.get(1)?,
        event: row.get(2)?,
        outcome: row.get(3)?,
        step: row.get(4)?,
        error: row.get(5)?,
        error_description: row.get(6)?,
        jti: row.get(7)?,
        iss: row.get(8)?,
        ticket_type: row.get(9)?,
        client_id: row.get(10)?,
        requester: row.get(11)?,
        binding: row.get(12)?,
        patient: row.get(13)?,
        scopes: row.get(14)?,
        details: row.get(15)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_are_found_by_jti() {
        let db = TokenDb::open_in_memory().unwrap();
        let rec = AuditRecord {
            at: 10,
            event: "token_exchange".into(),
            outcome: "rejected".into(),
            step: Some("signature".into()),
            error: Some("invalid_grant".into()),
            jti: Some("t1".into()),
            ..AuditRecord::default()
        };
        let id = db.append_audit(&rec).unwrap();
        db.append_audit(&AuditRecord {
            jti: Some("t2".into()),
            ..rec.clone()
        })
        .unwrap();
        let found = db.audit_by_jti("t1").unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0],
            AuditRecord {
                id,
                details: "{}".into(),
                ..rec
            }
        );
        assert_eq!(db.audit_recent().unwrap().len(), 2);
    }
}
