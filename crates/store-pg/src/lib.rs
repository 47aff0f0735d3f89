//! The PostgreSQL backend of Tessera's storage traits, selected by
//! `store = "postgres://user@host/db"`.
//!
//! Everything a Data Holder node keeps lives in the database, so nodes are stateless and any
//! number of them can share one database (docs/deployment.md):
//! - [`PgStore`] implements [`tessera_store::ResourceStore`] (resources, access facts, search
//!   indexes, sites, person linkage); its Filter → SQL compiler is the PostgreSQL dialect of
//!   the SQLite one and is checked against `Filter::matches` by the same suite.
//! - [`PgTokenStore`] implements [`tessera_store::durable::TokenStore`] (single-use keys,
//!   tokens, refresh families, registrations, the audit trail): a batch is one transaction
//!   of a fixed number of statements (all keys, all tokens, all audit rows at once), its
//!   sets decided in order, single-use keys decided by the primary key.
//! - [`issuer::PgIssuerStore`] implements `tessera_issuer::IssuerStore` (issuance records,
//!   status-list bits, the minting API's assertion replay cache): this crate depends on the
//!   issuer for the trait, never the reverse.
//!
//! Synchronous like the traits (the postgres crate's blocking client): callers already run
//! store calls on blocking threads, and the group-commit writer is a thread of its own. FHIR
//! reads and searches also have an asynchronous path (`tessera_store::async_reads`, on
//! [`async_pool::AsyncPool`]), which spares each its hand-off to a blocking thread.

pub mod async_pool;
pub mod blocking;
pub mod error;
pub mod issuer;
pub mod migrate;
pub mod pool;
mod resources;
pub mod roles;
pub mod testing;
mod tokens;

use std::sync::Arc;

pub use error::PgError;
pub use pool::{Pool, PoolOptions};
pub use resources::{PgStore, open_resources};
pub use tokens::PgTokenStore;

/// Whether `url` names a PostgreSQL database (`postgres://` or `postgresql://`).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Checks that `url` parses as a PostgreSQL connection string (without connecting).
pub fn check_url(url: &str) -> Result<(), PgError> {
    url.parse::<postgres::Config>()
        .map(|_| ())
        .map_err(|e| PgError::BadUrl(error::describe(&e)))
}

/// Connects to `url`, refuses a server that would acknowledge commits before they are durable,
/// brings the schema up to date (or refuses a newer one) and returns both stores over one pool.
pub fn open(url: &str, options: PoolOptions) -> Result<(Arc<PgStore>, Arc<PgTokenStore>), PgError> {
    let pool = Arc::new(Pool::connect(url, options)?);
    // Before migrating: a node that may not serve should not change the schema either.
    let tokens = PgTokenStore::open(pool.clone())?;
    migrate::run(&pool)?;
    tokens.prepare_chain()?;
    Ok((Arc::new(PgStore::new(pool)), Arc::new(tokens)))
}
