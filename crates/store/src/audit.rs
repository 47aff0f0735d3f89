//! The redemption audit trail (spec-digest §17, PT-AUDIT): one row per token-endpoint decision,
//! written before the response leaves, queryable by ticket `jti`.
//!
//! Rows never hold a whole token; `details` carries structured extras (requester, profile
//! claims, binding outcome, claim control number) as JSON text.

use rusqlite::{Connection, Row, params};
use serde::{Deserialize, Serialize};

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

impl TokenDb {
    /// Appends a record on its own (autocommit, durable); returns its row id. The token
    /// endpoint writes through [`crate::durable::TokenStore::commit_batch`] instead.
    pub fn append_audit(&self, r: &AuditRecord) -> Result<i64, TokenDbError> {
        let conn = self.conn();
        insert_audit(&conn, r)?;
        Ok(conn.last_insert_rowid())
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
            "SELECT id, at, event, outcome, step, error, error_description, jti, iss, ticket_type, \
             client_id, requester, binding, patient, scopes, details FROM redemption_audit {filter} \
             ORDER BY id DESC LIMIT {MAX_AUDIT_ROWS}"
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

/// Inserts one audit row on `conn` (inside the caller's transaction, if any).
pub(crate) fn insert_audit(conn: &Connection, r: &AuditRecord) -> rusqlite::Result<()> {
    let details = if r.details.is_empty() {
        "{}"
    } else {
        r.details.as_str()
    };
    let mut stmt = conn.prepare_cached(
        "INSERT INTO redemption_audit (at, event, outcome, step, error, error_description, jti, iss, \
         ticket_type, client_id, requester, binding, patient, scopes, details) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?;
    stmt.execute(params![
        r.at,
        r.event,
        r.outcome,
        r.step,
        r.error,
        r.error_description,
        r.jti,
        r.iss,
        r.ticket_type,
        r.client_id,
        r.requester,
        r.binding,
        r.patient,
        r.scopes,
        details
    ])?;
    Ok(())
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<AuditRecord> {
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
