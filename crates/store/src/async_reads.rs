//! Reads and searches a backend answers on the caller's task, without a blocking thread.
//!
//! The store traits are synchronous, and the Data Holder runs each FHIR read or search on a
//! blocking thread. Where a read is a network round trip (PostgreSQL), that hand-off and back
//! is a measurable share of the request (BENCHMARKS.md): such a backend also offers the two
//! calls here, which send the statement and let the runtime do other work until the answer
//! comes. Same contract as [`ResourceStore::read`], [`ResourceStore::search`] and
//! [`ResourceStore::person_of`]: the backend suite checks both paths give the same answers.

use std::future::Future;
use std::pin::Pin;

use tessera_access::Filter;
use tessera_fhir::SearchQuery;

use crate::error::StoreError;
use crate::linkage::PersonOf;
#[cfg(doc)]
use crate::model::ResourceStore;
use crate::model::{Scope, SearchPage};

/// What an asynchronous read returns.
pub type ReadFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A backend's asynchronous reads ([`ResourceStore::async_reads`]). They must be awaited on a
/// tokio runtime.
pub trait AsyncReads: Send + Sync {
    /// As [`ResourceStore::read`].
    fn read<'a>(
        &'a self,
        scope: Scope<'a>,
        resource_type: &'a str,
        id: &'a str,
        grant: &'a Filter,
    ) -> ReadFuture<'a, Option<Vec<u8>>>;

    /// As [`ResourceStore::search`].
    fn search<'a>(
        &'a self,
        scope: Scope<'a>,
        query: &'a SearchQuery,
        grant: &'a Filter,
    ) -> ReadFuture<'a, SearchPage>;

    /// As [`ResourceStore::person_of`] (the token endpoint's subject step).
    fn person_of<'a>(&'a self, record: &'a str) -> ReadFuture<'a, PersonOf>;
}
