//! Storage for the Data Holder: the [`ResourceStore`] trait, the embedded SQLite backend, and
//! ingest of FHIR R4 Bundles.
//!
//! Architecture invariant: every read path takes the Grant's [`tessera_access::Filter`] and
//! the backend compiles it into its query, so searches, totals and paging only ever see
//! released resources. One Filter → SQL compiler ([`sql`]) serves every SQL backend in its dialect; the SQLite
//! backend lives in `sqlite`, the PostgreSQL one in the `tessera-store-pg` crate.

// Token-endpoint tables (owned by the token engineer): audit, assertion replay, access tokens,
// and the durable write contract with its group-commit writer.
pub mod async_reads;
pub mod audit;
pub mod audit_chain;
mod audit_chain_sqlite;
pub mod durable;
mod error;
pub mod group_commit;
mod ingest;
pub mod linkage;
mod model;
mod pool_use;
pub mod refresh;
pub mod registrations;
pub mod replay;
pub mod sql;
mod sqlite;
mod token_commit;
pub mod token_db;
pub mod tokens;

use std::path::Path;
use std::sync::Arc;

pub use error::StoreError;
pub use ingest::{
    IngestError, IngestOptions, IngestPlan, IngestProgress, IngestReport, MAX_FILE_BYTES, SiteMode,
    ingest_path, ingest_plan, ingest_value, plan_path, site_code, site_id_from,
};
pub use model::{
    NewResource, PageEntry, ResourceStore, Scope, SearchPage, SiteAddress, SiteProfile,
    WriteOutcome,
};
pub use pool_use::PoolUse;
pub use sqlite::SqliteStore;

/// Opens a store from a URL: `sqlite:///abs/path/file.db`, `sqlite://relative/file.db`,
/// `sqlite:relative.db` or `sqlite::memory:`.
pub fn open_url(url: &str) -> Result<Arc<dyn ResourceStore>, StoreError> {
    if url == "sqlite::memory:" {
        return Ok(Arc::new(SqliteStore::open_in_memory()?));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .filter(|p| !p.is_empty() && !p.contains('?'))
        .ok_or_else(|| StoreError::BadUrl(url.chars().take(200).collect()))?;
    Ok(Arc::new(SqliteStore::open(Path::new(path))?))
}
