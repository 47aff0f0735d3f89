//! The issuer's durable state in SQLite ([`crate::IssuerStore`]'s embedded backend): one
//! `issuance` row per minted ticket (which is also where revocation bits live) and the
//! client-assertion replay cache.
//!
//! A status list is not stored as a blob: its bits are the revoked rows of that list, so a
//! revocation is one row update and the served list can never disagree with the records.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;

use crate::error::IssueError;
use crate::refusal::RefusalRecord;
use crate::store::{IssuerStore, MintFn};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS issuance (
    jti           TEXT PRIMARY KEY,
    ticket_type   TEXT NOT NULL,
    subject       TEXT NOT NULL,
    requester     TEXT,
    requested_by  TEXT NOT NULL,
    issued_at     INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    kid           TEXT NOT NULL,
    status_list   TEXT NOT NULL,
    status_index  INTEGER NOT NULL,
    status_url    TEXT NOT NULL,
    revoked_at    INTEGER,
    revoked_by    TEXT,
    claims        TEXT NOT NULL,
    UNIQUE (status_list, status_index)
);
CREATE INDEX IF NOT EXISTS issuance_kid ON issuance (kid, expires_at);
CREATE TABLE IF NOT EXISTS assertion_jti (
    client_id   TEXT NOT NULL,
    jti         TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX IF NOT EXISTS assertion_jti_exp ON assertion_jti (expires_at);
CREATE TABLE IF NOT EXISTS refusal (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    at                 INTEGER NOT NULL,
    endpoint           TEXT NOT NULL,
    client_id          TEXT,
    claimed_client_id  TEXT,
    status             INTEGER NOT NULL,
    error              TEXT NOT NULL,
    error_description  TEXT NOT NULL,
    ticket_type        TEXT,
    jti                TEXT
);
CREATE TRIGGER IF NOT EXISTS refusal_append_only_update BEFORE UPDATE ON refusal
BEGIN SELECT RAISE(ABORT, 'refusal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS refusal_append_only_delete BEFORE DELETE ON refusal
BEGIN SELECT RAISE(ABORT, 'refusal is append-only'); END;
";

/// A storage failure (always the issuer's problem, never the caller's), of any backend.
#[derive(Debug, thiserror::Error)]
#[error("issuer database: {0}")]
pub struct DbError(pub String);

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        DbError(e.to_string())
    }
}

/// What the issuer recorded about one ticket (`GET [iss]/tickets/{jti}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssuanceRecord {
    /// Ticket id.
    pub jti: String,
    /// `ticket_type` URI.
    pub ticket_type: String,
    /// Who the ticket is about (name, birth date, identifiers).
    pub subject: String,
    /// The requester, if any (resource type, name, identifiers or authority).
    pub requester: Option<String>,
    /// The authenticated client that asked for the ticket (`demo` in demo mode).
    pub requested_by: String,
    /// `iat`.
    pub issued_at: i64,
    /// `exp`.
    pub expires_at: i64,
    /// Signing key.
    pub kid: String,
    /// Status list name.
    pub status_list: String,
    /// Bit index on that list.
    pub status_index: u64,
    /// The `revocation.url` of the ticket.
    pub status_url: String,
    /// When revoked, if revoked.
    pub revoked_at: Option<i64>,
    /// Who revoked it (a client id, or `operator` for the CLI).
    pub revoked_by: Option<String>,
    /// The signed claims.
    pub claims: Value,
    /// What the minting caller verified before asking (PT-ISS-06; `None` only for tickets
    /// minted before verification records existed).
    pub verification: Option<Value>,
    /// Where the authorizing person can revoke the ticket without the app (PT-ISS-09), when the
    /// issuer is configured with one. Derived from the configuration, not stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_management: Option<String>,
}

/// The database handle. Calls are short and synchronous; async callers use `spawn_blocking`.
pub struct Db {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").finish_non_exhaustive()
    }
}

impl Db {
    /// Opens (creating if needed) the database file. Issuance records are the issuer's
    /// accountability trail, so every commit is synced (`synchronous = FULL`).
    pub fn open(path: &Path) -> Result<Db, DbError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Db::init(conn)
    }

    /// An in-memory database (tests, embedding experiments).
    pub fn open_in_memory() -> Result<Db, DbError> {
        Db::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Db, DbError> {
        conn.execute_batch(SCHEMA)?;
        add_verification_column(&conn)?;
        Ok(Db {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions roll
        // back on drop), so a poisoned lock is still usable.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl IssuerStore for Db {
    fn ready(&self) -> Result<(), DbError> {
        self.conn()
            .query_row("SELECT 1", [], |_| Ok(()))
            .map_err(|e| DbError(e.to_string()))
    }

    fn issue(
        &self,
        list: &str,
        size: u64,
        random: &mut dyn FnMut() -> u64,
        mint: MintFn<'_>,
    ) -> Result<Option<(IssuanceRecord, String)>, IssueError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(DbError::from)?;
        let Some(index) = free_index(&tx, list, size, random)? else {
            return Ok(None);
        };
        let (record, token) = mint(index)?;
        tx.execute(
            "INSERT INTO issuance (jti, ticket_type, subject, requester, requested_by, issued_at,
                expires_at, kid, status_list, status_index, status_url, claims, verification)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                record.jti,
                record.ticket_type,
                record.subject,
                record.requester,
                record.requested_by,
                record.issued_at,
                record.expires_at,
                record.kid,
                record.status_list,
                to_sql_index(record.status_index),
                record.status_url,
                record.claims.to_string(),
                record.verification.as_ref().map(Value::to_string),
            ],
        )
        .map_err(DbError::from)?;
        tx.commit().map_err(DbError::from)?;
        Ok(Some((record, token)))
    }

    fn get(&self, jti: &str) -> Result<Option<IssuanceRecord>, DbError> {
        let conn = self.conn();
        let record = conn
            .query_row(
                "SELECT jti, ticket_type, subject, requester, requested_by, issued_at, expires_at,
                    kid, status_list, status_index, status_url, revoked_at, revoked_by, claims,
                    verification
                 FROM issuance WHERE jti = ?1",
                [jti],
                |r| {
                    let claims: String = r.get(13)?;
                    let verification: Option<String> = r.get(14)?;
                    let index: i64 = r.get(9)?;
                    Ok(IssuanceRecord {
                        jti: r.get(0)?,
                        ticket_type: r.get(1)?,
                        subject: r.get(2)?,
                        requester: r.get(3)?,
                        requested_by: r.get(4)?,
                        issued_at: r.get(5)?,
                        expires_at: r.get(6)?,
                        kid: r.get(7)?,
                        status_list: r.get(8)?,
                        status_index: u64::try_from(index).unwrap_or_default(),
                        status_url: r.get(10)?,
                        revoked_at: r.get(11)?,
                        revoked_by: r.get(12)?,
                        claims: serde_json::from_str(&claims).unwrap_or(Value::Null),
                        verification: verification.and_then(|v| serde_json::from_str(&v).ok()),
                        revocation_management: None,
                    })
                },
            )
            .optional()?;
        Ok(record)
    }

    fn revoke(&self, jti: &str, by: &str, now: i64) -> Result<bool, DbError> {
        let conn = self.conn();
        let exists = conn
            .query_row("SELECT 1 FROM issuance WHERE jti = ?1", [jti], |_| Ok(()))
            .optional()?
            .is_some();
        if exists {
            conn.execute(
                "UPDATE issuance SET revoked_at = ?2, revoked_by = ?3
                 WHERE jti = ?1 AND revoked_at IS NULL",
                params![jti, now, by],
            )?;
        }
        Ok(exists)
    }

    fn revoked_indexes(&self, list: &str) -> Result<Vec<u64>, DbError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT status_index FROM issuance WHERE status_list = ?1 AND revoked_at IS NOT NULL",
        )?;
        let rows = stmt.query_map([list], |r| r.get::<_, i64>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.extend(u64::try_from(row?).ok());
        }
        Ok(out)
    }

    fn has_unexpired(&self, kid: &str, now: i64) -> Result<bool, DbError> {
        let conn = self.conn();
        let found = conn
            .query_row(
                "SELECT 1 FROM issuance WHERE kid = ?1 AND expires_at > ?2 LIMIT 1",
                params![kid, now],
                |_| Ok(()),
            )
            .optional()?;
        Ok(found.is_some())
    }

    fn record_assertion(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, DbError> {
        let conn = self.conn();
        conn.execute("DELETE FROM assertion_jti WHERE expires_at <= ?1", [now])?;
        let inserted = conn.execute(
            "INSERT OR IGNORE INTO assertion_jti (client_id, jti, expires_at) VALUES (?1, ?2, ?3)",
            params![client_id, jti, expires_at],
        )?;
        Ok(inserted == 1)
    }

    fn record_refusal(&self, r: &RefusalRecord) -> Result<(), DbError> {
        self.conn().execute(
            "INSERT INTO refusal (at, endpoint, client_id, claimed_client_id, status, error,
                error_description, ticket_type, jti)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                r.at,
                r.endpoint,
                r.client_id,
                r.claimed_client_id,
                r.status,
                r.error,
                r.error_description,
                r.ticket_type,
                r.jti,
            ],
        )?;
        Ok(())
    }

    fn refusals(&self, limit: usize) -> Result<Vec<RefusalRecord>, DbError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, at, endpoint, client_id, claimed_client_id, status, error,
                error_description, ticket_type, jti
             FROM (SELECT * FROM refusal ORDER BY id DESC LIMIT ?1) ORDER BY id",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map([limit], |r| {
            Ok(RefusalRecord {
                id: r.get(0)?,
                at: r.get(1)?,
                endpoint: r.get(2)?,
                client_id: r.get(3)?,
                claimed_client_id: r.get(4)?,
                status: r.get(5)?,
                error: r.get(6)?,
                error_description: r.get(7)?,
                ticket_type: r.get(8)?,
                jti: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Databases created before verification records get the column (kept by `jti` with the
/// rest of the issuance record); their old rows read as `verification: null`.
fn add_verification_column(conn: &Connection) -> Result<(), DbError> {
    let has = conn
        .prepare("SELECT 1 FROM pragma_table_info('issuance') WHERE name = 'verification'")?
        .exists([])?;
    if !has {
        conn.execute_batch("ALTER TABLE issuance ADD COLUMN verification TEXT")?;
    }
    Ok(())
}

fn to_sql_index(index: u64) -> i64 {
    // Indexes are below the largest list size (2^24), far inside i64.
    i64::try_from(index).unwrap_or(i64::MAX)
}

/// A random unused index on `list`: a few random probes (random indexes keep a list from
/// revealing issuance order or volume), then a scan for the first gap once the list is so full
/// that probes keep colliding. `None` when every index is taken.
fn free_index(
    tx: &rusqlite::Transaction<'_>,
    list: &str,
    size: u64,
    random: &mut dyn FnMut() -> u64,
) -> Result<Option<u64>, DbError> {
    let used: i64 = tx.query_row(
        "SELECT COUNT(*) FROM issuance WHERE status_list = ?1",
        [list],
        |r| r.get(0),
    )?;
    if u64::try_from(used).unwrap_or(u64::MAX) >= size {
        return Ok(None);
    }
    let taken = |index: u64| -> Result<bool, DbError> {
        Ok(tx
            .query_row(
                "SELECT 1 FROM issuance WHERE status_list = ?1 AND status_index = ?2",
                params![list, to_sql_index(index)],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    };
    for _ in 0..32 {
        let candidate = random() % size;
        if !taken(candidate)? {
            return Ok(Some(candidate));
        }
    }
    let mut stmt = tx.prepare(
        "SELECT status_index FROM issuance WHERE status_list = ?1 ORDER BY status_index",
    )?;
    let mut expected = 0u64;
    for row in stmt.query_map([list], |r| r.get::<_, i64>(0))? {
        let index = u64::try_from(row?).unwrap_or(u64::MAX);
        if index != expected {
            break;
        }
        expected += 1;
    }
    Ok((expected < size).then_some(expected))
}
