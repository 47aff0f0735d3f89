//! The statements of a read and of a search, shared by the backends: `FROM resource r WHERE
//! type AND scope AND grant AND clauses`, with keyset paging on `rid`.

use tessera_access::Filter;
use tessera_fhir::SearchQuery;

use super::{Dialect, Param, Sql, push_clause, push_filter};
use crate::error::StoreError;
use crate::model::Scope;

fn base_query(
    dialect: Dialect,
    select: &str,
    scope: Scope<'_>,
    rtype: &str,
    grant: &Filter,
) -> Result<Sql, StoreError> {
    let mut sql = Sql::new(dialect);
    sql.push(select)
        .push(" FROM resource r WHERE r.type = ")
        .bind(rtype.to_owned());
    if let Scope::Site(site) = scope {
        sql.push(" AND EXISTS (SELECT 1 FROM resource_site s WHERE s.rid = r.rid AND s.site_id = ")
            .bind(site.to_owned())
            .push(")");
    }
    sql.push(" AND ");
    push_filter(&mut sql, grant)?;
    Ok(sql)
}

/// `SELECT r.json` of `type/id` in `scope` under `grant` (one row or none).
pub fn read_statement(
    dialect: Dialect,
    scope: Scope<'_>,
    rtype: &str,
    id: &str,
    grant: &Filter,
) -> Result<Sql, StoreError> {
    let mut sql = base_query(dialect, "SELECT r.json", scope, rtype, grant)?;
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

/// The total and the page statements of `query` in `scope` under `grant`.
pub fn search_statements(
    dialect: Dialect,
    scope: Scope<'_>,
    query: &SearchQuery,
    grant: &Filter,
) -> Result<SearchStatements, StoreError> {
    let mut count = base_query(
        dialect,
        "SELECT COUNT(*)",
        scope,
        query.resource_type,
        grant,
    )?;
    let mut page = base_query(
        dialect,
        "SELECT r.rid, r.id, r.json",
        scope,
        query.resource_type,
        grant,
    )?;
    for clause in &query.clauses {
        for sql in [&mut count, &mut page] {
            sql.push(" AND ");
            push_clause(sql, clause)?;
        }
    }
    if let Some(cursor) = query.cursor {
        page.push(" AND r.rid > ").bind(cursor);
    }
    page.push(" ORDER BY r.rid LIMIT ")
        .bind(Param::Int(i64::from(query.count) + 1));
    Ok(SearchStatements { count, page })
}
