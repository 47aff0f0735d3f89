//! The embedded SQLite backend of [`ResourceStore`]: persistent, WAL, one writer connection
//! and a pool of read-only connections so searches run in parallel.
//!
//! Dialect specifics stay in this module (a PostgreSQL backend will sit beside it behind
//! the same trait). Schema: `migrations/sqlite/`, summarized in ARCHITECTURE.md.

mod linkage;
mod pool;
pub(crate) use pool::stable_plans;
mod write;

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params_from_iter};
use tessera_access::Filter;
use tessera_fhir::SearchQuery;

use crate::NewResource;
use crate::error::StoreError;
use crate::linkage::{
    Conflict, LinkAssertion, LinkRefusal, LinkageRules, LinkageSummary, LinkageVersion,
    LinkedRecord, PersonOf,
};
use crate::model::{
    PageEntry, ResourceStore, Scope, SearchPage, SiteAddress, SiteProfile, WriteOutcome,
};
use crate::sql::{Dialect, Param, Sql, read_statement, search_statements};
use pool::{Location, Pool, ReadConn};

/// Reader connections for a file database.
const READERS: usize = 4;

/// The SQLite resource store.
pub struct SqliteStore {
    writer: Mutex<Connection>,
    readers: Pool,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating and migrating as needed) a database file.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let writer = pool::open_writer(&Location::File(path.to_owned()))?;
        let readers = pool::open_readers(path, READERS)?;
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            readers: Pool::new(readers),
        })
    }

    /// A private in-memory database (tests, demos): reads share the writer connection.
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        let writer = pool::open_writer(&Location::Memory)?;
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            readers: Pool::new(Vec::new()),
        })
    }

    fn reader(&self) -> Result<ReadConn<'_>, StoreError> {
        if self.readers.is_empty() {
            Ok(ReadConn::Writer(
                self.writer.lock().map_err(|_| StoreError::Poisoned)?,
            ))
        } else {
            Ok(ReadConn::Pooled(self.readers.get()?))
        }
    }
}

impl rusqlite::ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Param::Text(s) => s.to_sql(),
            Param::Int(i) => i.to_sql(),
        }
    }
}

fn params(sql: &Sql) -> rusqlite::ParamsFromIter<std::slice::Iter<'_, Param>> {
    params_from_iter(sql.params.iter())
}

impl SqliteStore {
    /// `EXPLAIN QUERY PLAN` of the statements [`ResourceStore::search`] runs for `query`
    /// under `grant` (count, then page): one `detail` line per plan node, for tests that
    /// check searches stay index-driven.
    pub fn explain_search(
        &self,
        scope: Scope<'_>,
        query: &SearchQuery,
        grant: &Filter,
    ) -> Result<Vec<String>, StoreError> {
        let st = search_statements(Dialect::Sqlite, scope, query, grant)?;
        let guard = self.reader()?;
        let conn = guard.conn()?;
        let mut out = Vec::new();
        for sql in [&st.count, &st.page] {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", sql.text))?;
            let rows = stmt.query_map(params(sql), |r| r.get::<_, String>(3))?;
            for r in rows {
                out.push(r?);
            }
        }
        Ok(out)
    }
}

impl ResourceStore for SqliteStore {
    fn put_site(&self, site: &SiteProfile) -> Result<(), StoreError> {
        let mut conn = self.writer.lock().map_err(|_| StoreError::Poisoned)?;
        write::put_site(&mut conn, site)
    }

    fn put_resources(&self, resources: &[NewResource]) -> Result<Vec<WriteOutcome>, StoreError> {
        let mut conn = self.writer.lock().map_err(|_| StoreError::Poisoned)?;
        write::put_resources(&mut conn, resources)
    }

    fn read(
        &self,
        scope: Scope<'_>,
        rtype: &str,
        id: &str,
        grant: &Filter,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let sql = read_statement(Dialect::Sqlite, scope, rtype, id, grant)?;
        let guard = self.reader()?;
        let conn = guard.conn()?;
        let mut stmt = conn.prepare_cached(&sql.text)?;
        Ok(stmt.query_row(params(&sql), |row| row.get(0)).optional()?)
    }

    fn search(
        &self,
        scope: Scope<'_>,
        query: &SearchQuery,
        grant: &Filter,
    ) -> Result<SearchPage, StoreError> {
        let st = search_statements(Dialect::Sqlite, scope, query, grant)?;
        let guard = self.reader()?;
        let conn = guard.conn()?;
        let total = if query.skip_total && !query.summary_count {
            None
        } else {
            let n: i64 = conn
                .prepare_cached(&st.count.text)?
                .query_row(params(&st.count), |row| row.get(0))?;
            Some(u64::try_from(n).unwrap_or(0))
        };
        let mut page = SearchPage {
            total,
            ..SearchPage::default()
        };
        if query.summary_count {
            return Ok(page);
        }
        let mut stmt = conn.prepare_cached(&st.page.text)?;
        let mut rows = stmt.query(params(&st.page))?;
        let mut last = None;
        while let Some(row) = rows.next()? {
            if page.resources.len() == query.count as usize {
                page.next_cursor = last;
                break;
            }
            last = Some(row.get::<_, i64>(0)?);
            page.resources.push(PageEntry {
                id: row.get(1)?,
                json: row.get(2)?,
            });
        }
        Ok(page)
    }

    fn sites(&self) -> Result<Vec<SiteProfile>, StoreError> {
        let guard = self.reader()?;
        let conn = guard.conn()?;
        let mut sites: Vec<SiteProfile> = conn
            .prepare_cached("SELECT site_id, name FROM site ORDER BY site_id")?
            .query_map([], |r| {
                Ok(SiteProfile {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    ..SiteProfile::default()
                })
            })?
            .collect::<Result<_, _>>()?;
        for site in &mut sites {
            site.identifiers = conn
                .prepare_cached(
                    "SELECT system, value FROM site_identifier WHERE site_id = ?1 ORDER BY rowid",
                )?
                .query_map([&site.id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            site.addresses = conn
                .prepare_cached(
                    "SELECT state, country FROM site_address WHERE site_id = ?1 ORDER BY rowid",
                )?
                .query_map([&site.id], |r| {
                    Ok(SiteAddress {
                        state: r.get(0)?,
                        country: r.get(1)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            site.organization_ids = conn
                .prepare_cached("SELECT organization_id FROM site_organization WHERE site_id = ?1 ORDER BY rowid")?
                .query_map([&site.id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
        }
        Ok(sites)
    }

    fn ready(&self) -> Result<(), StoreError> {
        let guard = self.reader()?;
        guard.conn()?.query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    fn type_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let guard = self.reader()?;
        let conn = guard.conn()?;
        let mut stmt =
            conn.prepare_cached("SELECT type, COUNT(*) FROM resource GROUP BY type ORDER BY type")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        rows.map(|r| {
            r.map(|(t, n)| (t, u64::try_from(n).unwrap_or(0)))
                .map_err(StoreError::from)
        })
        .collect()
    }

    fn add_link_assertion(&self, assertion: &LinkAssertion) -> Result<i64, StoreError> {
        let mut conn = self.writer.lock().map_err(|_| StoreError::Poisoned)?;
        durably(&mut conn, |c| linkage::append_assertion(c, assertion))
    }

    fn link_assertions(&self) -> Result<Vec<LinkAssertion>, StoreError> {
        let guard = self.reader()?;
        linkage::assertions(guard.conn()?)
    }

    fn rebuild_linkage(
        &self,
        rules: &LinkageRules,
        now: i64,
        cause: &str,
    ) -> Result<LinkageSummary, StoreError> {
        let mut conn = self.writer.lock().map_err(|_| StoreError::Poisoned)?;
        durably(&mut conn, |c| linkage::rebuild(c, rules, now, cause))
    }

    fn person_of(&self, record: &str) -> Result<PersonOf, StoreError> {
        let guard = self.reader()?;
        linkage::person_of(guard.conn()?, record)
    }

    fn linked_records(&self) -> Result<Vec<LinkedRecord>, StoreError> {
        let guard = self.reader()?;
        linkage::records(guard.conn()?)
    }

    fn link_conflicts(&self) -> Result<Vec<Conflict>, StoreError> {
        let guard = self.reader()?;
        linkage::conflicts(guard.conn()?)
    }

    fn linkage_versions(&self, limit: usize) -> Result<Vec<LinkageVersion>, StoreError> {
        let guard = self.reader()?;
        linkage::versions(guard.conn()?, limit)
    }

    fn add_link_refusal(&self, refusal: &LinkRefusal) -> Result<i64, StoreError> {
        let conn = self.writer.lock().map_err(|_| StoreError::Poisoned)?;
        linkage::append_refusal(&conn, refusal)
    }

    fn link_refusals(&self, limit: usize) -> Result<Vec<LinkRefusal>, StoreError> {
        let guard = self.reader()?;
        linkage::refusals(guard.conn()?, limit)
    }
}

/// Runs `f` with `synchronous=FULL`. The writer runs `NORMAL` (WAL: a crash can lose the
/// newest transactions, never corrupt the file), which suits ingest — idempotent, re-run after
/// a crash, one commit per file — but an operator's link assertion or a linkage version is
/// acknowledged to someone and must survive power loss once acknowledged.
fn durably<T>(
    conn: &mut rusqlite::Connection,
    f: impl FnOnce(&mut rusqlite::Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.pragma_update(None, "synchronous", "FULL")?;
    let result = f(conn);
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    result
}
