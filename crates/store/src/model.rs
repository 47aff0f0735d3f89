//! The storage-neutral types of the resource store and the [`ResourceStore`] trait.
//!
//! The trait is synchronous: backends do blocking I/O. Async callers (the holder's handlers)
//! run an unbounded call (a FHIR search page, an ingest) inside `tokio::task::spawn_blocking`;
//! a bounded, index-driven lookup (the token endpoint's subject resolution, the replay read)
//! may run on the worker, where the hand-off would cost more than the lookup. Every backend
//! must allow that (the PostgreSQL one goes through its `blocking::run`).

use tessera_access::{Filter, ResourceFacts};
use tessera_fhir::{IndexEntry, SearchQuery};

use crate::error::StoreError;
use crate::linkage::{
    Conflict, LinkAssertion, LinkRefusal, LinkageRules, LinkageSummary, LinkageVersion,
    LinkedRecord, PersonOf,
};

/// Which resources a request may see before the Grant is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// The combined network base: every stored resource.
    Network,
    /// A per-site base (`[base]/site/{site-id}`): only resources ingested as that site's.
    Site(&'a str),
}

/// A resource ready to be written: its served bytes and everything indexed about it.
#[derive(Debug, Clone)]
pub struct NewResource {
    /// `resourceType`.
    pub resource_type: String,
    /// Logical id (already rewritten to its server id).
    pub id: String,
    /// The JSON bytes to serve.
    pub json: Vec<u8>,
    /// SHA-256 of the content before ingest stamped `meta.lastUpdated`: decides "unchanged".
    pub content_hash: [u8; 32],
    /// `meta.lastUpdated` as unix seconds.
    pub last_updated: i64,
    /// Access facts (`tessera_access::extract_facts`).
    pub facts: ResourceFacts,
    /// Search index entries (`tessera_fhir::extract_index`).
    pub index: Vec<IndexEntry>,
    /// The site this resource was ingested for, if any.
    pub site: Option<String>,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// A new resource.
    Created,
    /// An existing resource whose content changed.
    Updated,
    /// Same content as stored: nothing rewritten (idempotent re-ingest).
    Unchanged,
}

/// A postal address of a site, reduced to what jurisdiction checks compare.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SiteAddress {
    /// State (USPS code in US data).
    pub state: Option<String>,
    /// Country (ISO-3166 alpha-2 in US data).
    pub country: Option<String>,
}

/// A site's holder profile: who it is, for `data_holder_filter` and per-site bases.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SiteProfile {
    /// Site id as used in `[base]/site/{site-id}` (`[a-z0-9-]{1,64}`).
    pub id: String,
    /// Display name (the site Organization's name).
    pub name: Option<String>,
    /// Organization identifiers, `(system, value)` (e.g. the NPI).
    pub identifiers: Vec<(Option<String>, String)>,
    /// Organization addresses.
    pub addresses: Vec<SiteAddress>,
    /// Server ids of the site's Organization resources.
    pub organization_ids: Vec<String>,
}

/// One resource of a search page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageEntry {
    /// Logical id (for `fullUrl`).
    pub id: String,
    /// Stored JSON bytes, served verbatim.
    pub json: Vec<u8>,
}

/// One page of search results.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchPage {
    /// Matches under the grant across all pages; `None` when the query skipped counting them
    /// (`_total=none`).
    pub total: Option<u64>,
    /// This page's resources, in paging order.
    pub resources: Vec<PageEntry>,
    /// Cursor for the next page, when there is one.
    pub next_cursor: Option<i64>,
}

/// A FHIR resource store. Every read path takes the Grant's [`Filter`], which the backend
/// makes part of its query: nothing outside it is ever loaded, counted or paged over.
pub trait ResourceStore: Send + Sync {
    /// Creates or replaces a site profile.
    fn put_site(&self, site: &SiteProfile) -> Result<(), StoreError>;
    /// Writes resources in one transaction (create, update, or leave unchanged).
    fn put_resources(&self, resources: &[NewResource]) -> Result<Vec<WriteOutcome>, StoreError>;
    /// The stored bytes of `type/id` if it exists in `scope` AND matches `grant`.
    fn read(
        &self,
        scope: Scope<'_>,
        resource_type: &str,
        id: &str,
        grant: &Filter,
    ) -> Result<Option<Vec<u8>>, StoreError>;
    /// A page of `query`'s matches in `scope` that also match `grant`.
    fn search(
        &self,
        scope: Scope<'_>,
        query: &SearchQuery,
        grant: &Filter,
    ) -> Result<SearchPage, StoreError>;
    /// The same reads and searches answered without a blocking thread, where the backend has
    /// them (its reads are network round trips); `None` (the default) means call
    /// [`ResourceStore::read`] and [`ResourceStore::search`] on a blocking thread.
    fn async_reads(&self) -> Option<&dyn crate::async_reads::AsyncReads> {
        None
    }
    /// Every site profile, by id.
    fn sites(&self) -> Result<Vec<SiteProfile>, StoreError>;
    /// Whether the store can serve now: its database answers and its schema is this
    /// binary's (`/readyz`). Cheap: one round trip.
    fn ready(&self) -> Result<(), StoreError>;
    /// The connection pool's use, where the backend has a pool (metrics only).
    fn pool_use(&self) -> Option<crate::PoolUse> {
        None
    }
    /// Resource counts per type (no grant: operator statistics only, never served to clients).
    fn type_counts(&self) -> Result<Vec<(String, u64)>, StoreError>;
    /// After a load that created or changed rows: whatever the backend needs so that the
    /// next searches are planned on the data now stored. A planner that has never seen the
    /// tables' statistics (PostgreSQL before its first ANALYZE) takes the wrong joins; SQLite
    /// needs nothing.
    fn settle_after_load(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Appends an operator linkage assertion; returns its version (`seq`). The caller has
    /// validated it; it takes effect at the next [`ResourceStore::rebuild_linkage`].
    fn add_link_assertion(&self, assertion: &LinkAssertion) -> Result<i64, StoreError>;
    /// Every operator assertion, in version order.
    fn link_assertions(&self) -> Result<Vec<LinkAssertion>, StoreError>;
    /// Recomputes the person linkage from the stored Patients and assertions; a changed
    /// result replaces the one in force and gets a version row naming `cause`.
    fn rebuild_linkage(
        &self,
        rules: &LinkageRules,
        now: i64,
        cause: &str,
    ) -> Result<LinkageSummary, StoreError>;
    /// The person a Patient record belongs to in the linkage in force.
    fn person_of(&self, record: &str) -> Result<PersonOf, StoreError>;
    /// The linkage in force: every record, sorted.
    fn linked_records(&self) -> Result<Vec<LinkedRecord>, StoreError>;
    /// Quarantined records.
    fn link_conflicts(&self) -> Result<Vec<Conflict>, StoreError>;
    /// The latest `limit` linkage versions, newest first.
    fn linkage_versions(&self, limit: usize) -> Result<Vec<LinkageVersion>, StoreError>;
    /// Records a refused operator linkage request.
    fn add_link_refusal(&self, refusal: &LinkRefusal) -> Result<i64, StoreError>;
    /// The latest `limit` refused requests, newest first.
    fn link_refusals(&self, limit: usize) -> Result<Vec<LinkRefusal>, StoreError>;
}
