//! The issuer's storage contract: issuance records (which carry the revocation bits of the
//! status lists), the client-assertion replay cache and the refusal log. [`crate::Db`] is the SQLite backend;
//! the PostgreSQL one is `tessera_store_pg::issuer::PgIssuerStore`, which depends on this
//! crate (the binary wires it up), so the issuer never depends on a database driver it does
//! not use.
//!
//! Every backend keeps the same promises: a write (a refusal too) returns only once durable; an index is
//! never handed out twice on a list, even by two issuer processes on one database; a failed
//! mint stores nothing and consumes no index; a client assertion `jti` is fresh exactly once.

use crate::db::{DbError, IssuanceRecord};
use crate::error::IssueError;
use crate::refusal::RefusalRecord;

/// Signs the ticket for a status-list index, returning the record to store and the token.
/// Runs inside the backend's transaction, after the index is chosen and before it is taken.
pub type MintFn<'a> = Box<dyn FnOnce(u64) -> Result<(IssuanceRecord, String), IssueError> + 'a>;

/// An issuer storage backend. Calls are short and synchronous; async callers use
/// `spawn_blocking`.
pub trait IssuerStore: Send + Sync + std::fmt::Debug {
    /// Runs `mint` inside one transaction with a free index on `list` (capacity `size` bits;
    /// drawn with `random`, so a list reveals neither issuance order nor volume), then stores
    /// the record it returns. Nothing is stored when `mint` fails, and the index is not
    /// consumed. `Ok(None)` when the list is full.
    fn issue(
        &self,
        list: &str,
        size: u64,
        random: &mut dyn FnMut() -> u64,
        mint: MintFn<'_>,
    ) -> Result<Option<(IssuanceRecord, String)>, IssueError>;

    /// The record of a ticket.
    fn get(&self, jti: &str) -> Result<Option<IssuanceRecord>, DbError>;

    /// Sets the revoked mark of a ticket (idempotent: the first revocation's time and author
    /// stay). `false` when there is no such ticket.
    fn revoke(&self, jti: &str, by: &str, now: i64) -> Result<bool, DbError>;

    /// Indexes of the revoked tickets on a list.
    fn revoked_indexes(&self, list: &str) -> Result<Vec<u64>, DbError>;

    /// Whether a ticket signed by `kid` is still unexpired at `now`.
    fn has_unexpired(&self, kid: &str, now: i64) -> Result<bool, DbError>;

    /// Records a client assertion `jti` until `expires_at`; `false` when it was already seen
    /// (decided by the backend's unique constraint, never read-then-write). Expired entries
    /// are purged first, bounding the table.
    fn record_assertion(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, DbError>;

    /// Appends a refused request to the refusal log (durable on return; rows are never
    /// changed or removed by the issuer).
    fn record_refusal(&self, refusal: &RefusalRecord) -> Result<(), DbError>;

    /// The latest `limit` refusals, oldest first.
    fn refusals(&self, limit: usize) -> Result<Vec<RefusalRecord>, DbError>;

    /// Whether the store can take writes now: its database answers and its schema is this
    /// binary's (`GET /readyz`). Cheap: one round trip.
    fn ready(&self) -> Result<(), DbError>;
}

/// Where the issuer keeps its records (`database = "file"` or `store = "sqlite://…" |
/// "postgres://…"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// An SQLite file.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL database URL (opened by the binary through `tessera-store-pg`).
    Postgres(String),
}
