//! The statements of a read and of a search, shared by the backends: `FROM resource r WHERE
//! type AND scope AND grant AND clauses`, with keyset paging on `rid`.

use tessera_access::Filter;
use tessera_fhir::SearchQuery;

use super::{Dialect, Param, Sql, probe_for, push_clause, push_filter};
use crate::error::StoreError;
use crate::model::Scope;

/// Appends `select FROM resource r WHERE type AND scope AND grant`.
fn push_base(
    sql: &mut Sql,
    select: &str,
    scope: Scope<'_>,
    rtype: &str,
    grant: &Filter,
) -> Result<(), StoreError> {
    sql.push(select)
        .push(" FROM resource r WHERE r.type = ")
        .bind(rtype.to_owned());
    if let Scope::Site(site) = scope {
        sql.push(" AND EXISTS (SELECT 1 FROM resource_site s WHERE s.rid = r.rid AND s.site_id = ")
            .bind(site.to_owned())
            .push(")");
    }
    sql.push(" AND ");
    push_filter(sql, grant)
}

/// `SELECT r.json` of `type/id` in `scope` under `grant` (one row or none).
pub fn read_statement(
    dialect: Dialect,
    scope: Scope<'_>,
    rtype: &str,
    id: &str,
    grant: &Filter,
) -> Result<Sql, StoreError> {
    let mut sql = Sql::new(dialect);
    push_base(&mut sql, "SELECT r.json", scope, rtype, grant)?;
    sql.push(" AND r.id = ").bind(id.to_owned());
    Ok(sql)
}

/// The two statements of a search.
#[derive(Debug, Clone)]
pub struct SearchStatements {
    /// `SELECT COUNT(*)` of every match (the Bundle's `total`).
    pub count: Sql,
    /// `SELECT r.rid, r.id, r.json` of one page plus one row (to know a next page exists).
    pub page: Sql,
}

/// The page of `query` with the total on every row, as one PostgreSQL statement (one
/// snapshot, one round trip, no transaction): columns `total, rid, id, json`, the page's
/// `count + 1` rows in `rid` order. The count is an uncorrelated subquery, evaluated once;
/// the page keeps its index order (no sort of the ~1 KB rows). An empty page has no row to
/// carry the total: the caller counts separately then.
pub fn search_with_total_statement(
    scope: Scope<'_>,
    query: &SearchQuery,
    grant: &Filter,
) -> Result<Sql, StoreError> {
    let mut sql = Sql::new(Dialect::Postgres);
    sql.push("SELECT (");
    push_matches(&mut sql, "SELECT COUNT(*)", scope, query, grant)?;
    sql.push(") AS total, p.rid, p.id, p.json FROM (");
    push_page(&mut sql, scope, query, grant)?;
    sql.push(") AS p ORDER BY p.rid");
    sql.check()?;
    Ok(sql)
}

/// Appends `select` of every match of `query` (type, scope, grant, clauses).
fn push_matches(
    sql: &mut Sql,
    select: &str,
    scope: Scope<'_>,
    query: &SearchQuery,
    grant: &Filter,
) -> Result<(), StoreError> {
    push_base(sql, select, scope, query.resource_type, grant)?;
    let probe = probe_for(grant);
    for clause in &query.clauses {
        sql.push(" AND ");
        push_clause(sql, clause, probe)?;
    }
    Ok(())
}

/// Appends the page statement: matches after the cursor, `count + 1` rows in `rid` order.
fn push_page(
    sql: &mut Sql,
    scope: Scope<'_>,
    query: &SearchQuery,
    grant: &Filter,
) -> Result<(), StoreError> {
    push_matches(sql, "SELECT r.rid, r.id, r.json", scope, query, grant)?;
    if let Some(cursor) = query.cursor {
        sql.push(" AND r.rid > ").bind(cursor);
    }
    sql.push(" ORDER BY r.rid LIMIT ")
        .bind(Param::Int(i64::from(query.count) + 1));
    Ok(())
}

/// The total and the page statements of `query` in `scope` under `grant`.
pub fn search_statements(
    dialect: Dialect,
    scope: Scope<'_>,
    query: &SearchQuery,
    grant: &Filter,
) -> Result<SearchStatements, StoreError> {
    let mut count = Sql::new(dialect);
    push_matches(&mut count, "SELECT COUNT(*)", scope, query, grant)?;
    let mut page = Sql::new(dialect);
    push_page(&mut page, scope, query, grant)?;
    Ok(SearchStatements { count, page })
}
