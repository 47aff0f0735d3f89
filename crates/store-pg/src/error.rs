//! The backend's one error type, converted into the traits' errors at their boundary.

use tessera_store::StoreError;
use tessera_store::token_db::TokenDbError;

/// A PostgreSQL backend failure.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The URL does not parse as a PostgreSQL connection string.
    #[error("bad PostgreSQL URL: {0}")]
    BadUrl(String),
    /// No connection could be made (server down, wrong host or credentials).
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(String),
    /// Every pooled connection stayed busy past the checkout timeout.
    #[error("no PostgreSQL connection free within {0} ms")]
    PoolTimeout(u64),
    /// The database's schema was written by a newer Tessera.
    #[error("database schema version {found} is newer than supported {supported}")]
    SchemaTooNew {
        /// Highest applied migration.
        found: i64,
        /// Highest migration this binary has.
        supported: i64,
    },
    /// The database's schema is older than this binary's (not migrated yet): not ready.
    #[error("database schema version {found} is older than supported {supported}: not migrated")]
    SchemaTooOld {
        /// Highest applied migration.
        found: i64,
        /// Highest migration this binary has.
        supported: i64,
    },
    /// A migration failed (its transaction was rolled back).
    #[error("migration failed: {0}")]
    Migration(String),
    /// A query failed.
    #[error("{}", describe(.0))]
    Query(#[from] postgres::Error),
    /// Stored data did not have the expected shape.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A storage-neutral failure (e.g. the shared SQL compiler's bounds).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The server's own words for a failed statement (`postgres::Error` alone displays only
/// "db error"): severity, SQLSTATE, message and detail, or the cause chain of a client error.
pub(crate) fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut m = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
        if let Some(detail) = db.detail() {
            m.push_str(" (");
            m.push_str(detail);
            m.push(')');
        }
        return m;
    }
    let mut m = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        m.push_str(": ");
        m.push_str(&s.to_string());
        source = s.source();
    }
    m
}

impl From<PgError> for StoreError {
    fn from(e: PgError) -> Self {
        match e {
            PgError::SchemaTooNew { found, supported } => {
                StoreError::SchemaTooNew { found, supported }
            }
            PgError::Store(e) => e,
            other => StoreError::Backend(other.to_string()),
        }
    }
}

impl From<PgError> for TokenDbError {
    fn from(e: PgError) -> Self {
        TokenDbError(e.to_string())
    }
}
