//! Storage errors. None of these carry client input back out; the holder maps them all to
//! a generic 500 OperationOutcome and logs the detail.

use thiserror::Error;

/// A storage failure.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The store URL is not one we can open.
    #[error("unsupported store URL: {0}")]
    BadUrl(String),
    /// The database reported an error.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// Another backend's database reported an error (PostgreSQL: `tessera-store-pg`), or the
    /// database could not be reached.
    #[error("database error: {0}")]
    Backend(String),
    /// The schema on disk is newer than this program.
    #[error("database schema version {found} is newer than supported {supported}")]
    SchemaTooNew {
        /// Version on disk.
        found: i64,
        /// Newest version we know.
        supported: i64,
    },
    /// A filter or query exceeded a backend bound (e.g. too many bound values).
    #[error("query too large: {0}")]
    TooLarge(&'static str),
    /// A pool connection was poisoned by a panicking thread.
    #[error("connection pool poisoned")]
    Poisoned,
}
