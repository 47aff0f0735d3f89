//! The read paths: reads and searches through the shared compiler, sites, counts, readiness.

use std::collections::HashMap;

use postgres::Client;
use postgres::types::{ToSql, Type};
use tessera_access::Filter;
use tessera_fhir::SearchQuery;
use tessera_store::sql::{Dialect, Param, Sql, read_statement, search_statements};
use tessera_store::{PageEntry, Scope, SearchPage, SiteAddress, SiteProfile};

use crate::error::PgError;

/// The statement's parameters with their types, so it runs in one round trip (no separate
/// prepare) and the planner sees the actual values.
fn typed(sql: &Sql) -> Vec<(&(dyn ToSql + Sync), Type)> {
    sql.params
        .iter()
        .map(|p| match p {
            Param::Text(s) => (s as &(dyn ToSql + Sync), Type::TEXT),
            Param::Int(i) => (i as &(dyn ToSql + Sync), Type::INT8),
        })
        .collect()
}

pub fn read(
    client: &mut Client,
    scope: Scope<'_>,
    rtype: &str,
    id: &str,
    grant: &Filter,
) -> Result<Option<Vec<u8>>, PgError> {
    let sql = read_statement(Dialect::Postgres, scope, rtype, id, grant)?;
    let row = client.query_typed_opt(&sql.text, &typed(&sql))?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

pub fn search(
    client: &mut Client,
    scope: Scope<'_>,
    query: &SearchQuery,
    grant: &Filter,
) -> Result<SearchPage, PgError> {
    let st = search_statements(Dialect::Postgres, scope, query, grant)?;
    let mut page = SearchPage::default();
    if query.skip_total && !query.summary_count {
        // One statement is one snapshot: no transaction needed without the count.
        let rows = client.query_typed(&st.page.text, &typed(&st.page))?;
        fill_page(&mut page, rows, query.count)?;
        return Ok(page);
    }
    // One snapshot for the total and the page, so they cannot disagree under a concurrent
    // ingest.
    let mut tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let total: i64 = tx
        .query_typed_one(&st.count.text, &typed(&st.count))?
        .try_get(0)?;
    page.total = Some(u64::try_from(total).unwrap_or(0));
    if !query.summary_count {
        let rows = tx.query_typed(&st.page.text, &typed(&st.page))?;
        fill_page(&mut page, rows, query.count)?;
    }
    tx.commit()?;
    Ok(page)
}

/// The page's resources from the page statement's rows (one more than the page size, so a
/// next cursor is known).
fn fill_page(page: &mut SearchPage, rows: Vec<postgres::Row>, count: u32) -> Result<(), PgError> {
    let mut last = None;
    for row in rows {
        if page.resources.len() == count as usize {
            page.next_cursor = last;
            break;
        }
        last = Some(row.try_get::<_, i64>(0)?);
        page.resources.push(PageEntry {
            id: row.try_get(1)?,
            json: row.try_get(2)?,
        });
    }
    Ok(())
}

pub fn explain_search(
    client: &mut Client,
    scope: Scope<'_>,
    query: &SearchQuery,
    grant: &Filter,
) -> Result<Vec<String>, PgError> {
    let st = search_statements(Dialect::Postgres, scope, query, grant)?;
    let mut out = Vec::new();
    for sql in [&st.count, &st.page] {
        for row in client.query_typed(&format!("EXPLAIN {}", sql.text), &typed(sql))? {
            out.push(row.try_get(0)?);
        }
    }
    Ok(out)
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
