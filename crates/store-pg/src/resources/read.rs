//! The read paths: reads and searches through the shared compiler, sites, counts, readiness.

use std::collections::HashMap;

use postgres::{Client, Row};
use tessera_access::Filter;
use tessera_fhir::SearchQuery;
use tessera_store::sql::{
    Dialect, Sql, read_statement, search_statements, search_with_total_statement,
};
use tessera_store::{PageEntry, Scope, SearchPage, SiteAddress, SiteProfile};

use crate::async_pool::AsyncClient;
use crate::error::PgError;
use crate::pool::PooledClient;

use super::plan::{explain_custom, explain_generic, read_plan, run, run_async, search_plan};

pub fn read(
    client: &mut PooledClient<'_>,
    scope: Scope<'_>,
    rtype: &str,
    id: &str,
    grant: &Filter,
) -> Result<Option<Vec<u8>>, PgError> {
    let sql = read_statement(Dialect::Postgres, scope, rtype, id, grant)?;
    read_of(run(client, &sql, read_plan())?)
}

/// [`read`] on an asynchronous connection.
pub async fn read_async(
    client: &mut AsyncClient<'_>,
    scope: Scope<'_>,
    rtype: &str,
    id: &str,
    grant: &Filter,
) -> Result<Option<Vec<u8>>, PgError> {
    let sql = read_statement(Dialect::Postgres, scope, rtype, id, grant)?;
    read_of(run_async(client, &sql, read_plan()).await?)
}

fn read_of(rows: Vec<Row>) -> Result<Option<Vec<u8>>, PgError> {
    Ok(rows.into_iter().next().map(|r| r.try_get(0)).transpose()?)
}

pub fn search(
    client: &mut PooledClient<'_>,
    scope: Scope<'_>,
    query: &SearchQuery,
    grant: &Filter,
) -> Result<SearchPage, PgError> {
    let plan = search_plan(query, grant);
    let (sql, step) = first_step(scope, query, grant)?;
    match step.page(run(client, &sql, plan)?, query)? {
        Some(page) => Ok(page),
        None => count_page(run(client, &count_statement(scope, query, grant)?, plan)?),
    }
}

/// [`search`] on an asynchronous connection.
pub async fn search_async(
    client: &mut AsyncClient<'_>,
    scope: Scope<'_>,
    query: &SearchQuery,
    grant: &Filter,
) -> Result<SearchPage, PgError> {
    let plan = search_plan(query, grant);
    let (sql, step) = first_step(scope, query, grant)?;
    match step.page(run_async(client, &sql, plan).await?, query)? {
        Some(page) => Ok(page),
        None => {
            let count = count_statement(scope, query, grant)?;
            count_page(run_async(client, &count, plan).await?)
        }
    }
}

/// What a search's first statement returns. Each is one statement, hence one snapshot and one
/// round trip: the total and the page cannot disagree under a concurrent ingest, and no
/// transaction is opened.
#[derive(Debug, Clone, Copy)]
enum FirstStep {
    /// `_summary=count`: the count alone.
    Count,
    /// `_total=none`: the page alone.
    Page,
    /// The page with the total on every row.
    PageWithTotal,
}

fn first_step(
    scope: Scope<'_>,
    query: &SearchQuery,
    grant: &Filter,
) -> Result<(Sql, FirstStep), PgError> {
    Ok(if query.summary_count {
        (count_statement(scope, query, grant)?, FirstStep::Count)
    } else if query.skip_total {
        (
            search_statements(Dialect::Postgres, scope, query, grant)?.page,
            FirstStep::Page,
        )
    } else {
        (
            search_with_total_statement(scope, query, grant)?,
            FirstStep::PageWithTotal,
        )
    })
}

impl FirstStep {
    /// The page from the first statement's rows, or `None` when the count must run next.
    fn page(self, rows: Vec<Row>, query: &SearchQuery) -> Result<Option<SearchPage>, PgError> {
        let mut page = SearchPage::default();
        match self {
            FirstStep::Count => return count_page(rows).map(Some),
            FirstStep::Page => fill_page(&mut page, rows, 0, query.count)?,
            FirstStep::PageWithTotal => {
                let Some(first) = rows.first() else {
                    // No row to carry the total. Without a cursor an empty page means no
                    // match at all in that snapshot. After a cursor (paged past the end)
                    // count again: an empty page agrees with any total, and each page of a
                    // walk is its own snapshot anyway.
                    if query.cursor.is_none() {
                        page.total = Some(0);
                        return Ok(Some(page));
                    }
                    return Ok(None);
                };
                let total: i64 = first.try_get(0)?;
                page.total = Some(u64::try_from(total).unwrap_or(0));
                fill_page(&mut page, rows, 1, query.count)?;
            }
        }
        Ok(Some(page))
    }
}

/// The count statement of `query`.
fn count_statement(scope: Scope<'_>, query: &SearchQuery, grant: &Filter) -> Result<Sql, PgError> {
    Ok(search_statements(Dialect::Postgres, scope, query, grant)?.count)
}

/// An empty page carrying the total a count statement returned.
fn count_page(rows: Vec<Row>) -> Result<SearchPage, PgError> {
    let total: i64 = match rows.first() {
        Some(row) => row.try_get(0)?,
        None => return Err(PgError::Corrupt("a count returned no row".into())),
    };
    Ok(SearchPage {
        total: Some(u64::try_from(total).unwrap_or(0)),
        ..SearchPage::default()
    })
}

/// The page's resources from the rows of a page statement whose `rid, id, json` start at
/// column `first` (one more row than the page size, so a next cursor is known).
fn fill_page(
    page: &mut SearchPage,
    rows: Vec<Row>,
    first: usize,
    count: u32,
) -> Result<(), PgError> {
    let mut last = None;
    for row in rows {
        let rid: i64 = row.try_get(first)?;
        if page.resources.len() == count as usize {
            page.next_cursor = last;
            break;
        }
        last = Some(rid);
        page.resources.push(PageEntry {
            id: row.try_get(first + 1)?,
            json: row.try_get(first + 2)?,
        });
    }
    Ok(())
}

/// The statement `search` runs for `query`.
fn search_statement(scope: Scope<'_>, query: &SearchQuery, grant: &Filter) -> Result<Sql, PgError> {
    Ok(first_step(scope, query, grant)?.0)
}

/// `EXPLAIN` of the statement `search` runs for `query`, planned for its values.
pub fn explain_search(
    client: &mut Client,
    scope: Scope<'_>,
    query: &SearchQuery,
    grant: &Filter,
) -> Result<Vec<String>, PgError> {
    explain_custom(client, &search_statement(scope, query, grant)?)
}

/// `EXPLAIN` of the generic plan of the statement `search` runs for `query`: the plan it may
/// settle on when it is [`super::plan::Plan::Reused`].
pub fn explain_search_generic(
    client: &mut Client,
    scope: Scope<'_>,
    query: &SearchQuery,
    grant: &Filter,
) -> Result<Vec<String>, PgError> {
    explain_generic(client, &search_statement(scope, query, grant)?)
}

/// `EXPLAIN` of the generic plan of a read by id.
pub fn explain_read_generic(
    client: &mut Client,
    scope: Scope<'_>,
    rtype: &str,
    id: &str,
    grant: &Filter,
) -> Result<Vec<String>, PgError> {
    explain_generic(
        client,
        &read_statement(Dialect::Postgres, scope, rtype, id, grant)?,
    )
}

pub fn sites(client: &mut Client) -> Result<Vec<SiteProfile>, PgError> {
    let mut sites: Vec<SiteProfile> = Vec::new();
    for r in client.query("SELECT site_id, name FROM site ORDER BY site_id", &[])? {
        sites.push(SiteProfile {
            id: r.try_get(0)?,
            name: r.try_get(1)?,
            ..SiteProfile::default()
        });
    }
    let index: HashMap<String, usize> = sites
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i))
        .collect();
    let find = |id: &str| -> Result<usize, PgError> {
        index
            .get(id)
            .copied()
            .ok_or_else(|| PgError::Corrupt(format!("site row for unknown site {id}")))
    };
    // Three statements for every site at once, rather than three per site.
    for r in client.query(
        "SELECT site_id, system, value FROM site_identifier ORDER BY site_id, seq",
        &[],
    )? {
        let i = find(r.try_get(0)?)?;
        sites[i].identifiers.push((r.try_get(1)?, r.try_get(2)?));
    }
    for r in client.query(
        "SELECT site_id, state, country FROM site_address ORDER BY site_id, seq",
        &[],
    )? {
        let i = find(r.try_get(0)?)?;
        sites[i].addresses.push(SiteAddress {
            state: r.try_get(1)?,
            country: r.try_get(2)?,
        });
    }
    for r in client.query(
        "SELECT site_id, organization_id FROM site_organization ORDER BY site_id, seq",
        &[],
    )? {
        let i = find(r.try_get(0)?)?;
        sites[i].organization_ids.push(r.try_get(1)?);
    }
    Ok(sites)
}

pub fn ready(client: &mut Client) -> Result<(), PgError> {
    let found = crate::migrate::applied_version(client)?;
    let supported = crate::migrate::newest_version();
    if found > supported {
        return Err(PgError::SchemaTooNew { found, supported });
    }
    if found < supported {
        return Err(PgError::SchemaTooOld { found, supported });
    }
    Ok(())
}

pub fn type_counts(client: &mut Client) -> Result<Vec<(String, u64)>, PgError> {
    let rows = client.query(
        "SELECT type, COUNT(*) FROM resource GROUP BY type ORDER BY type",
        &[],
    )?;
    rows.iter()
        .map(|r| {
            let n: i64 = r.try_get(1)?;
            Ok((r.try_get(0)?, u64::try_from(n).unwrap_or(0)))
        })
        .collect()
}
