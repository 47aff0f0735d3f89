//! The Data Holder's own durable tables (redemption audit, client-assertion replay cache,
//! issued access tokens, refresh tokens) in one SQLite database with its own connection.
//!
//! Kept apart from the resource store so the token endpoint never contends with FHIR reads
//! for a connection. Writes go through one mutex-guarded connection, in batches committed by
//! one `BEGIN IMMEDIATE` transaction ([`crate::durable::TokenStore::commit_batch`]): that, plus
//! primary keys, is what makes the replay cache correct under concurrency (and across
//! processes sharing the file, where SQLite's own locking serializes). Reads use a second
//! connection, so a lookup never waits behind an fsync. The database runs in WAL mode with
//! `synchronous=FULL`, so a committed row survives power loss.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;

/// A failure of the token database.
#[derive(Debug, Clone, thiserror::Error)]
#[error("token database: {0}")]
pub struct TokenDbError(pub String);

impl From<rusqlite::Error> for TokenDbError {
    fn from(e: rusqlite::Error) -> Self {
        TokenDbError(e.to_string())
    }
}

/// Handle to the audit, replay and token tables.
#[derive(Debug)]
pub struct TokenDb {
    conn: Mutex<Connection>,
    /// Read-only connection of a file database (`None` in memory: one connection only).
    reader: Option<Mutex<Connection>>,
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS redemption_audit (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    at                INTEGER NOT NULL,
    event             TEXT NOT NULL,
    outcome           TEXT NOT NULL,
    step              TEXT,
    error             TEXT,
    error_description TEXT,
    jti               TEXT,
    iss               TEXT,
    ticket_type       TEXT,
    client_id         TEXT,
    requester         TEXT,
    binding           TEXT,
    patient           TEXT,
    scopes            TEXT,
    details           TEXT NOT NULL DEFAULT '{}',
    -- The hash chain (crate::audit_chain): position, encoding version, links.
    chain_seq         INTEGER,
    chain_version     INTEGER,
    prev_hash         BLOB,
    chain_hash        BLOB
);
CREATE INDEX IF NOT EXISTS redemption_audit_jti ON redemption_audit (jti);

CREATE TABLE IF NOT EXISTS assertion_jti (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    keep_until INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS assertion_jti_keep ON assertion_jti (keep_until);

CREATE TABLE IF NOT EXISTS access_token (
    token_hash  BLOB PRIMARY KEY,
    client_id   TEXT NOT NULL,
    grant_json  TEXT NOT NULL,
    ticket_jti  TEXT NOT NULL,
    ticket_iss  TEXT NOT NULL,
    ticket_type TEXT NOT NULL,
    patient     TEXT NOT NULL,
    scope       TEXT NOT NULL,
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    cnf_jkt     TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS access_token_exp ON access_token (expires_at);
"#;

/// Frames in the WAL before the writer checkpoints (see [`TokenDb::open`]): 32 MiB of WAL at
/// SQLite's 4 KiB pages.
pub const WAL_AUTOCHECKPOINT_PAGES: i64 = 8192;

impl TokenDb {
    /// Opens (creating if needed) the database file and its tables.
    pub fn open(path: &Path) -> Result<TokenDb, TokenDbError> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| TokenDbError(format!("cannot create {}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // The hot pages (audit tail, token and replay leaves) are rewritten by every batch;
        // a checkpoint copies each page once however often the WAL holds it, so checkpointing
        // less often than SQLite's default 1,000 frames copies fewer pages per redemption.
        // Durability is unchanged: a commit is durable in the WAL.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
        let mut db = TokenDb::init(conn)?;
        let reader = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        reader.busy_timeout(std::time::Duration::from_secs(5))?;
        crate::sqlite::stable_plans(&reader)?;
        db.reader = Some(Mutex::new(reader));
        Ok(db)
    }

    /// A private in-memory database (tests, demos).
    pub fn open_in_memory() -> Result<TokenDb, TokenDbError> {
        TokenDb::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<TokenDb, TokenDbError> {
        crate::sqlite::stable_plans(&conn)?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(crate::registrations::SCHEMA)?;
        conn.execute_batch(crate::refresh::SCHEMA)?;
        crate::audit_chain_sqlite::migrate(&mut conn)?;
        Ok(TokenDb {
            conn: Mutex::new(conn),
            reader: None,
        })
    }

    /// The connection; a poisoned lock is recovered because every write is one statement or
    /// one transaction, so a panic elsewhere cannot leave it half-applied.
    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        lock(&self.conn)
    }

    /// A connection for reads: the reader of a file database, else the one connection.
    pub(crate) fn read_conn(&self) -> MutexGuard<'_, Connection> {
        match &self.reader {
            Some(r) => lock(r),
            None => lock(&self.conn),
        }
    }
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}
