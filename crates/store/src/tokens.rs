//! Issued access tokens, stored by SHA-256 hash of the opaque token (never the token itself).
//!
//! A row maps the hash to the serialized Grant and the facts introspection and the audit need.
//! Lookups go through the primary-key index on the hash: what the index comparison could leak
//! by timing is about a hash of the secret, which does not help guess the secret.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use crate::durable::{TokenStore, WriteSet};
use crate::token_db::{TokenDb, TokenDbError};

/// One issued access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// SHA-256 of the token string.
    pub token_hash: Vec<u8>,
    /// Client the token was issued to.
    pub client_id: String,
    /// The Grant, serialized as JSON.
    pub grant_json: String,
    /// Source ticket `jti`.
    pub ticket_jti: String,
    /// Source ticket `iss`.
    pub ticket_iss: String,
    /// Source ticket type.
    pub ticket_type: String,
    /// Resolved local Patient id.
    pub patient: String,
    /// Granted scopes (space separated).
    pub scope: String,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// DPoP key thumbprint when the token is sender-constrained.
    pub cnf_jkt: Option<String>,
}

impl TokenDb {
    /// Stores a token on its own (one durable transaction); purges expired ones first. The
    /// token endpoint writes through [`crate::durable::TokenStore::commit_batch`] instead.
    pub fn insert_token(&self, r: &TokenRecord, now: i64) -> Result<(), TokenDbError> {
        let set = WriteSet {
            now,
            tokens: vec![r.clone()],
            ..WriteSet::default()
        };
        self.commit_batch(std::slice::from_ref(&set))?;
        Ok(())
    }

    /// The token with this hash, if stored and not expired at `now`.
    pub fn find_token(&self, hash: &[u8], now: i64) -> Result<Option<TokenRecord>, TokenDbError> {
        let conn = self.read_conn();
        let mut stmt = conn.prepare_cached(
            "SELECT token_hash, client_id, grant_json, ticket_jti, ticket_iss, ticket_type, \
             patient, scope, issued_at, expires_at, cnf_jkt FROM access_token \
             WHERE token_hash = ?1 AND expires_at > ?2",
        )?;
        let rec = stmt.query_row(params![hash, now], from_row).optional()?;
        Ok(rec)
    }
}

/// Inserts one token row on `conn` (inside the caller's transaction).
pub(crate) fn insert_token_row(conn: &Connection, r: &TokenRecord) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO access_token (token_hash, client_id, grant_json, ticket_jti, ticket_iss, \
         ticket_type, patient, scope, issued_at, expires_at, cnf_jkt) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    stmt.execute(params![
        r.token_hash,
        r.client_id,
        r.grant_json,
        r.ticket_jti,
        r.ticket_iss,
        r.ticket_type,
        r.patient,
        r.scope,
        r.issued_at,
        r.expires_at,
        r.cnf_jkt
    ])?;
    Ok(())
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        token_hash: row.get(0)?,
        client_id: row.get(1)?,
        grant_json: row.get(2)?,
        ticket_jti: row.get(3)?,
        ticket_iss: row.get(4)?,
        ticket_type: row.get(5)?,
        patient: row.get(6)?,
        scope: row.get(7)?,
        issued_at: row.get(8)?,
        expires_at: row.get(9)?,
        cnf_jkt: row.get(10)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_until_expiry() {
        let db = TokenDb::open_in_memory().unwrap();
        let rec = TokenRecord {
            token_hash: vec![1; 32],
            client_id: "c".into(),
            grant_json: "{}".into(),
            ticket_jti: "j".into(),
            ticket_iss: "i".into(),
            ticket_type: "t".into(),
            patient: "p".into(),
            scope: "patient/Observation.rs".into(),
            issued_at: 0,
            expires_at: 300,
            cnf_jkt: None,
        };
        db.insert_token(&rec, 0).unwrap();
        assert_eq!(db.find_token(&[1; 32], 10).unwrap(), Some(rec));
        assert_eq!(db.find_token(&[2; 32], 10).unwrap(), None);
        assert_eq!(db.find_token(&[1; 32], 300).unwrap(), None);
    }
}
