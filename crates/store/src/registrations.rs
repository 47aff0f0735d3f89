//! Dynamically registered clients (RFC 7591 / UDAP DCR): the [`RegistrationStore`] trait the
//! Data Holder programs against, and its SQLite implementation on [`TokenDb`].
//!
//! A UDAP registration is keyed by `(trust_framework, san)` as well as by `client_id`: a new
//! registration with the same software statement `iss` in the same community supersedes the
//! old one (same `client_id`, new metadata). The registration endpoint writes through its
//! request's [`crate::durable::WriteSet`] (with the statement `jti` and the audit row, one
//! `synchronous=FULL` transaction), so a `201 Created` is only sent for a durable row.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::token_db::{TokenDb, TokenDbError};

/// Table of registered clients (created with the other token tables).
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS client_registration (
    client_id        TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    trust_framework  TEXT,
    san              TEXT,
    metadata         TEXT NOT NULL,
    token_hash       BLOB,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS client_registration_san
    ON client_registration (trust_framework, san) WHERE san IS NOT NULL;
"#;

/// One registered client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRegistration {
    /// The issued client id.
    pub client_id: String,
    /// `udap` (certificate-authenticated) or `jwks` (RFC 7591 `private_key_jwt`).
    pub kind: String,
    /// udap: the community (`[[trust_framework]]` id).
    pub trust_framework: Option<String>,
    /// udap: the software statement `iss` (a URI SAN of the client certificate).
    pub san: Option<String>,
    /// The registered client metadata (JSON object text).
    pub metadata: String,
    /// SHA-256 of the RFC 7592 registration access token, if one was issued.
    pub token_hash: Option<Vec<u8>>,
    /// First registration, unix seconds.
    pub created_at: i64,
    /// Last change, unix seconds.
    pub updated_at: i64,
}

/// Durable storage of registered clients. Backends implement it; the Data Holder never
/// knows which one it talks to.
pub trait RegistrationStore: Send + Sync + std::fmt::Debug {
    /// Inserts or replaces the registration with this `client_id` (a UDAP registration
    /// replaces any other row of the same `(trust_framework, san)`).
    fn put_registration(&self, r: &ClientRegistration) -> Result<(), TokenDbError>;
    /// The registration of `client_id`.
    fn registration(&self, client_id: &str) -> Result<Option<ClientRegistration>, TokenDbError>;
    /// The UDAP registration of `san` in `trust_framework`.
    fn registration_by_san(
        &self,
        trust_framework: &str,
        san: &str,
    ) -> Result<Option<ClientRegistration>, TokenDbError>;
    /// Deletes `client_id`'s registration; whether one existed.
    fn delete_registration(&self, client_id: &str) -> Result<bool, TokenDbError>;
}

const COLUMNS: &str =
    "client_id, kind, trust_framework, san, metadata, token_hash, created_at, updated_at";

fn row(r: &Row<'_>) -> rusqlite::Result<ClientRegistration> {
    Ok(ClientRegistration {
        client_id: r.get(0)?,
        kind: r.get(1)?,
        trust_framework: r.get(2)?,
        san: r.get(3)?,
        metadata: r.get(4)?,
        token_hash: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

impl RegistrationStore for TokenDb {
    fn put_registration(&self, r: &ClientRegistration) -> Result<(), TokenDbError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        put_registration_row(&tx, r)?;
        tx.commit()?;
        Ok(())
    }

    fn registration(&self, client_id: &str) -> Result<Option<ClientRegistration>, TokenDbError> {
        // The reader: client authentication never waits behind a batch's fsync.
        let conn = self.read_conn();
        Ok(conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM client_registration WHERE client_id = ?1"),
                params![client_id],
                row,
            )
            .optional()?)
    }

    fn registration_by_san(
        &self,
        trust_framework: &str,
        san: &str,
    ) -> Result<Option<ClientRegistration>, TokenDbError> {
        let conn = self.read_conn();
        Ok(conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM client_registration \
                     WHERE trust_framework = ?1 AND san = ?2"
                ),
                params![trust_framework, san],
                row,
            )
            .optional()?)
    }

    fn delete_registration(&self, client_id: &str) -> Result<bool, TokenDbError> {
        Ok(delete_registration_row(&self.conn(), client_id)?)
    }
}

/// Inserts or replaces `r` on `conn` (inside the caller's transaction): a UDAP registration
/// first drops any other row of the same `(trust_framework, san)`.
pub(crate) fn put_registration_row(
    conn: &Connection,
    r: &ClientRegistration,
) -> rusqlite::Result<()> {
    if let (Some(tf), Some(san)) = (&r.trust_framework, &r.san) {
        conn.prepare_cached(
            "DELETE FROM client_registration WHERE trust_framework = ?1 AND san = ?2 \
             AND client_id <> ?3",
        )?
        .execute(params![tf, san, r.client_id])?;
    }
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO client_registration ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    ))?
    .execute(params![
        r.client_id,
        r.kind,
        r.trust_framework,
        r.san,
        r.metadata,
        r.token_hash,
        r.created_at,
        r.updated_at
    ])?;
    Ok(())
}

/// Deletes `client_id`'s registration on `conn`; whether one existed.
pub(crate) fn delete_registration_row(
    conn: &Connection,
    client_id: &str,
) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached("DELETE FROM client_registration WHERE client_id = ?1")?
        .execute(params![client_id])?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(id: &str, san: &str, meta: &str) -> ClientRegistration {
        ClientRegistration {
            client_id: id.into(),
            kind: "udap".into(),
            trust_framework: Some("https://tf".into()),
            san: Some(san.into()),
            metadata: meta.into(),
            token_hash: None,
            created_at: 1,
            updated_at: 1,
        }
    }

    #[test]
    fn put_get_supersede_delete_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        {
            let db = TokenDb::open(&path).unwrap();
            db.put_registration(&reg("a", "https://x", "{}")).unwrap();
            // A new id for the same SAN supersedes: the old id is gone.
            db.put_registration(&reg("b", "https://x", r#"{"v":2}"#))
                .unwrap();
            assert!(db.registration("a").unwrap().is_none());
            assert_eq!(
                db.registration_by_san("https://tf", "https://x")
                    .unwrap()
                    .unwrap()
                    .client_id,
                "b"
            );
        }
        let db = TokenDb::open(&path).unwrap();
        assert_eq!(
            db.registration("b").unwrap().unwrap().metadata,
            r#"{"v":2}"#
        );
        assert!(db.delete_registration("b").unwrap());
        assert!(!db.delete_registration("b").unwrap());
        assert!(db.registration("b").unwrap().is_none());
    }
}
