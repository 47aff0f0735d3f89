//! [`PgStore`]: the PostgreSQL [`tessera_store::ResourceStore`].
//!
//! Reads and searches compile the Grant with the shared compiler
//! ([`tessera_store::sql`], PostgreSQL dialect) and run as one statement each (a search's
//! total and page together); only shapes whose plan cannot depend on the values keep a
//! plan per connection (`plan.rs`); writes are batched set-based statements inside one transaction (`write.rs`); the person linkage
//! is computed by `tessera_store::linkage` and persisted here as SQLite persists it
//! (`linkage.rs`).

mod linkage;
mod plan;
mod read;
mod write;

use std::sync::Arc;

use tessera_access::Filter;
use tessera_fhir::SearchQuery;
use tessera_store::async_reads::{AsyncReads, ReadFuture};
use tessera_store::linkage::{
    Conflict, LinkAssertion, LinkRefusal, LinkageRules, LinkageSummary, LinkageVersion,
    LinkedRecord, PersonOf,
};
use tessera_store::{
    NewResource, ResourceStore, Scope, SearchPage, SiteProfile, StoreError, WriteOutcome,
};

use crate::error::PgError;
use crate::pool::{Pool, PoolOptions};

/// Key of the transaction-scoped advisory lock every resource write takes: writers on all
/// nodes serialize (as SQLite's single writer does), so two ingests of one resource cannot
/// race between the existence check and the insert.
const WRITE_LOCK: i64 = 0x7465_7373_0072_6573;

/// The PostgreSQL resource store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: Arc<Pool>,
}

/// Connects to `url`, brings the schema up to date (or refuses a newer one) and returns the
/// resource store alone (`tessera ingest`, tools).
pub fn open_resources(url: &str, options: PoolOptions) -> Result<Arc<PgStore>, PgError> {
    let pool = Arc::new(Pool::connect(url, options)?);
    crate::migrate::run(&pool)?;
    Ok(Arc::new(PgStore::new(pool)))
}

impl PgStore {
    /// A store over `pool` (already migrated: [`crate::open`]).
    pub fn new(pool: Arc<Pool>) -> PgStore {
        PgStore { pool }
    }

    /// The pool.
    pub fn pool(&self) -> &Arc<Pool> {
        &self.pool
    }

    /// `EXPLAIN` of the statement [`ResourceStore::search`] runs for `query` under `grant`
    /// (total and page together, unless `_total=none` or `_summary=count`), one line per plan
    /// line, for tests that check searches stay index-driven.
    pub fn explain_search(
        &self,
        scope: Scope<'_>,
        query: &SearchQuery,
        grant: &Filter,
    ) -> Result<Vec<String>, StoreError> {
        let mut client = self.pool.get()?;
        Ok(read::explain_search(&mut client, scope, query, grant)?)
    }

    /// `EXPLAIN` of the generic plan of the statement [`ResourceStore::search`] runs for
    /// `query`: the plan a connection may keep for it when [`PgStore::reuses_plan`] says so.
    pub fn explain_search_generic(
        &self,
        scope: Scope<'_>,
        query: &SearchQuery,
        grant: &Filter,
    ) -> Result<Vec<String>, StoreError> {
        let mut client = self.pool.dedicated()?;
        Ok(read::explain_search_generic(
            &mut client,
            scope,
            query,
            grant,
        )?)
    }

    /// `EXPLAIN` of the generic plan of a read of `rtype/id` (reads always keep their plan).
    pub fn explain_read_generic(
        &self,
        scope: Scope<'_>,
        rtype: &str,
        id: &str,
        grant: &Filter,
    ) -> Result<Vec<String>, StoreError> {
        let mut client = self.pool.dedicated()?;
        Ok(read::explain_read_generic(
            &mut client,
            scope,
            rtype,
            id,
            grant,
        )?)
    }

    /// Whether a connection keeps one plan for `query`'s statement under `grant` (see
    /// `resources/plan.rs`) rather than planning it for every execution's values.
    pub fn reuses_plan(query: &SearchQuery, grant: &Filter) -> bool {
        plan::search_plan(query, grant) == plan::Plan::Reused
    }
}

/// FHIR reads and searches on the pool's asynchronous connections: the same statements as
/// [`ResourceStore::read`] and [`ResourceStore::search`], without a blocking thread.
impl AsyncReads for PgStore {
    fn read<'a>(
        &'a self,
        scope: Scope<'a>,
        rtype: &'a str,
        id: &'a str,
        grant: &'a Filter,
    ) -> ReadFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let mut client = self.pool.reads().get().await?;
            Ok(read::read_async(&mut client, scope, rtype, id, grant).await?)
        })
    }

    fn search<'a>(
        &'a self,
        scope: Scope<'a>,
        query: &'a SearchQuery,
        grant: &'a Filter,
    ) -> ReadFuture<'a, SearchPage> {
        Box::pin(async move {
            let mut client = self.pool.reads().get().await?;
            Ok(read::search_async(&mut client, scope, query, grant).await?)
        })
    }

    fn person_of<'a>(&'a self, record: &'a str) -> ReadFuture<'a, PersonOf> {
        Box::pin(async move {
            let mut client = self.pool.reads().get().await?;
            Ok(linkage::person_of_async(&mut client, record).await?)
        })
    }
}

/// The tables a resource write touches.
const RESOURCE_TABLES: [&str; 8] = [
    "resource",
    "resource_site",
    "fact_token",
    "fact_encounter",
    "idx_token",
    "idx_date",
    "idx_ref",
    "idx_string",
];

// Every method through `blocking::run`: the holder calls some of them from async code (start-up
// linkage, handlers), where the blocking client may not start its runtime.
impl ResourceStore for PgStore {
    fn put_site(&self, site: &SiteProfile) -> Result<(), StoreError> {
        crate::blocking::run(|| {
            let mut client = self.pool.get()?;
            Ok(write::put_site(&mut client, site)?)
        })
    }

    fn put_resources(&self, resources: &[NewResource]) -> Result<Vec<WriteOutcome>, StoreError> {
        crate::blocking::run(|| {
            let mut client = self.pool.get()?;
            Ok(write::put_resources(&mut client, resources)?)
        })
    }

    fn read(
        &self,
        scope: Scope<'_>,
        rtype: &str,
        id: &str,
        grant: &Filter,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        crate::blocking::run(|| {
            let mut client = self.pool.get()?;
            Ok(read::read(&mut client, scope, rtype, id, grant)?)
        })
    }

    fn search(
        &self,
        scope: Scope<'_>,
        query: &SearchQuery,
        grant: &Filter,
    ) -> Result<SearchPage, StoreError> {
        crate::blocking::run(|| {
            let mut client = self.pool.get()?;
            Ok(read::search(&mut client, scope, query, grant)?)
        })
    }

    fn async_reads(&self) -> Option<&dyn AsyncReads> {
        Some(self)
    }

    fn sites(&self) -> Result<Vec<SiteProfile>, StoreError> {
        crate::blocking::run(|| {
            let mut client = self.pool.get()?;
            Ok(read::sites(&mut client)?)
        })
    }

    fn pool_use(&self) -> Option<tessera_store::PoolUse> {
        Some(self.pool.usage())
    }

    fn ready(&self) -> Result<(), StoreError> {
        crate::blocking::run(|| {
            let mut client = self.pool.get()?;
            Ok(read::ready(&mut client)?)
        })
    }

    fn type_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        crate::blocking::run(|| {
            let mut client = self.pool.get()?;
            Ok(read::type_counts(&mut client)?)
        })
    }

    /// `VACUUM (ANALYZE)` of the resource tables: fresh statistics, and a visibility map that
    /// lets counts read indexes alone. Without it, the searches after a load plan on no
    /// statistics at all (a 1-row estimate for a 31-row patient page chose a nested loop over
    /// `idx_date_hi` that cost 9 ms instead of 1: BENCHMARKS.md) until autovacuum comes by.
    fn settle_after_load(&self) -> Result<(), StoreError> {
        crate::blocking::run(|| {
            let mut client = self.pool.get()?;
            // VACUUM cannot run inside a transaction block: one statement per call.
            for table in RESOURCE_TABLES {
                client
                    .batch_execute(&format!("VACUUM (ANALYZE) {table}"))
                    .map_err(PgError::from)?;
            }
            Ok(())
        })
    }

    fn add_link_assertion(&self, assertion: &LinkAssertion) -> Result<i64, StoreError> {
        crate::blocking::run(|| {
            let mut client = self.pool.get()?;
            Ok(linkage::append_assertion(&mut client, assertion)?)
        })
    }

    fn link_assertions(&self) -> Result<Vec<LinkAssertion>, StoreError> {
        crate::blocking::run(|| {
            let mut client = self.pool.get()?;
            Ok(linkage::assertions(&mut *client)?)
        })
    }

    fn rebuild_linkage(
        &self,
        rules: &LinkageRules,
        now: i64,
        cause: &str,
    ) -> Result<LinkageSummary, StoreError> {
        crate::blocking::run(|| {
            let mut client = self.pool.get()?;
            Ok(linkage::rebuild(&mut client, rules, now, cause)?)
        })
    }

    fn person_of(&self, record: &str) -> Result<PersonOf, StoreError> {
        crate::blocking::run(|| {
            let mut client = self.pool.get()?;
            Ok(linkage::person_of(&mut client, record)?)
        })
    }

    fn linked_records(&self) -> Result<Vec<LinkedRecord>, StoreError> {
        crate::blocking::run(|| {
            let mut client = self.pool.get()?;
            Ok(linkage::records(&mut *client)?)
        })
    }

    fn link_conflicts(&self) -> Result<Vec<Conflict>, StoreError> {
        crate::blocking::run(|| {
            let mut client = self.pool.get()?;
            Ok(linkage::conflicts(&mut *client)?)
        })
    }

    fn linkage_versions(&self, limit: usize) -> Result<Vec<LinkageVersion>, StoreError> {
        crate::blocking::run(|| {
            let mut client = self.pool.get()?;
            Ok(linkage::versions(&mut client, limit)?)
        })
    }

    fn add_link_refusal(&self, refusal: &LinkRefusal) -> Result<i64, StoreError> {
        crate::blocking::run(|| {
            let mut client = self.pool.get()?;
            Ok(linkage::append_refusal(&mut client, refusal)?)
        })
    }

    fn link_refusals(&self, limit: usize) -> Result<Vec<LinkRefusal>, StoreError> {
        crate::blocking::run(|| {
            let mut client = self.pool.get()?;
            Ok(linkage::refusals(&mut client, limit)?)
        })
    }
}
