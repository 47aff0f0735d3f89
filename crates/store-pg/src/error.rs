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
    /// The server or session would acknowledge commits before they are durable.
    #[error("PostgreSQL is not durable: {0}; refusing to use it")]
    NotDurable(String),
    /// A value does not fit its column.
    #[error("{0} out of range")]
    OutOfRange(&'static str),
    /// Stored data did not have the expected shape.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// An operator-supplied value was refused (a role or schema name, say).
    #[error("{0}")]
    InvalidInput(String),
    /// A storage-neutral failure (e.g. the shared SQL compiler's bounds).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A postgres error with the server's message: the crate's own `Display` says only
/// "db error".
pub fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let code = db.code().code();
            match db.constraint() {
                Some(c) => format!("{db} (SQLSTATE {code}, constraint {c})"),
                None => format!("{db} (SQLSTATE {code})"),
            }
        }
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
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
