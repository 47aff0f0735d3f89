//! How a read or search statement is planned: once per connection, or for every execution's
//! values.
//!
//! Planning is about a third of PostgreSQL's CPU per search (BENCHMARKS.md). A plan can be
//! kept only where the best plan cannot depend on the values: a generic plan does not know
//! that a date range, a code or a name prefix is selective, and for `date=ge…` it was measured
//! scanning `idx_date` whole where a custom plan walks the index from the bound. Reads by id
//! and searches without such clauses drive from the same index whatever the values (the
//! `(type, id)` key, the patient index, the `(type, rid)` order), so they are kept.

use postgres::types::{ToSql, Type};
use tessera_fhir::{ClauseValues, SearchQuery};
use tessera_store::sql::{Param, Sql};

use crate::error::PgError;
use crate::pool::PooledClient;

/// How a statement's plan is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// A named statement prepared once per connection: after its first executions
    /// PostgreSQL (`plan_cache_mode = auto`) keeps a generic plan when that costs no more than
    /// the custom ones did.
    Reused,
    /// The unnamed statement, parsed and planned for its values at every execution (one
    /// round trip all the same).
    PerExecution,
}

/// The plan of a read by id: the `(type, id)` key decides it whatever the values.
pub fn read_plan() -> Plan {
    Plan::Reused
}

/// The plan of `query`'s statements. The grant never decides it: of the grant's clauses only
/// the patient and the ids are indexed, both by equality, so its values cannot change which
/// index is best.
pub fn search_plan(query: &SearchQuery) -> Plan {
    let value_selective = query.clauses.iter().any(|c| {
        matches!(
            c.values,
            ClauseValues::Token(_)
                | ClauseValues::Date(_)
                | ClauseValues::String(_)
                | ClauseValues::LastUpdated(_)
        )
    });
    if value_selective {
        Plan::PerExecution
    } else {
        Plan::Reused
    }
}

/// Runs `sql` as `plan` says.
pub fn run(
    client: &mut PooledClient<'_>,
    sql: &Sql,
    plan: Plan,
) -> Result<Vec<postgres::Row>, PgError> {
    match plan {
        Plan::Reused => {
            let types: Vec<Type> = sql.params.iter().map(param_type).collect();
            let st = client.prepared(&sql.text, &types)?;
            let values: Vec<&(dyn ToSql + Sync)> = sql.params.iter().map(param_value).collect();
            Ok(client.query(&st, &values)?)
        }
        Plan::PerExecution => Ok(client.query_typed(&sql.text, &typed(sql))?),
    }
}

fn param_type(p: &Param) -> Type {
    match p {
        Param::Text(_) => Type::TEXT,
        Param::Int(_) => Type::INT8,
    }
}

fn param_value(p: &Param) -> &(dyn ToSql + Sync) {
    match p {
        Param::Text(s) => s,
        Param::Int(i) => i,
    }
}

/// The statement's parameters with their types, for `query_typed` (no separate prepare).
pub fn typed(sql: &Sql) -> Vec<(&(dyn ToSql + Sync), Type)> {
    sql.params
        .iter()
        .map(|p| (param_value(p), param_type(p)))
        .collect()
}

/// `EXPLAIN` of `sql` planned for its values.
pub fn explain_custom(client: &mut postgres::Client, sql: &Sql) -> Result<Vec<String>, PgError> {
    let mut out = Vec::new();
    for row in client.query_typed(&format!("EXPLAIN {}", sql.text), &typed(sql))? {
        out.push(row.try_get(0)?);
    }
    Ok(out)
}

/// `EXPLAIN` of the generic plan of `sql`: the plan a reused statement may settle on, made
/// without looking at any value. The forced setting is local to a transaction that is rolled
/// back; the SQL-level `PREPARE` is not transactional, so callers pass a connection of its
/// own (not a pooled one) that is closed afterwards, and a failure cannot leave the statement
/// behind on a connection others reuse.
pub fn explain_generic(client: &mut postgres::Client, sql: &Sql) -> Result<Vec<String>, PgError> {
    let types: Vec<&str> = sql
        .params
        .iter()
        .map(|p| match p {
            Param::Text(_) => "text",
            Param::Int(_) => "int8",
        })
        .collect();
    // EXECUTE takes no protocol parameters: the values go in as literals. They are only used
    // to name the statement's arguments; a generic plan ignores them.
    let args: Vec<String> = sql.params.iter().map(literal).collect();
    let mut tx = client.transaction()?;
    tx.batch_execute("SET LOCAL plan_cache_mode = force_generic_plan")?;
    tx.batch_execute(&format!(
        "PREPARE tessera_explain ({}) AS {}",
        types.join(", "),
        sql.text
    ))?;
    let mut out = Vec::new();
    let explain = if args.is_empty() {
        "EXPLAIN EXECUTE tessera_explain".to_owned()
    } else {
        format!("EXPLAIN EXECUTE tessera_explain ({})", args.join(", "))
    };
    for row in tx.query(&explain, &[])? {
        out.push(row.try_get(0)?);
    }
    tx.batch_execute("DEALLOCATE tessera_explain")?;
    tx.rollback()?;
    Ok(out)
}

/// `p` as an SQL literal (standard-conforming strings: only `'` needs doubling).
fn literal(p: &Param) -> String {
    match p {
        Param::Text(s) => format!("'{}'::text", s.replace('\'', "''")),
        Param::Int(i) => format!("{i}::int8"),
    }
}

#[cfg(test)]
mod tests {
    use tessera_fhir::parse_search;

    use super::{Param, Plan, literal, search_plan};

    fn plan_of(rtype: &str, pairs: &[(&str, &str)]) -> Plan {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        search_plan(&parse_search(rtype, &pairs).unwrap())
    }

    #[test]
    fn only_shapes_without_value_selective_clauses_keep_a_plan() {
        for reused in [
            vec![],
            vec![("_count", "50")],
            vec![("_cursor", "10"), ("_count", "50")],
            vec![("_id", "a,b")],
            vec![("patient", "p1")],
            vec![("_summary", "count")],
            vec![("_total", "none")],
        ] {
            assert_eq!(plan_of("Observation", &reused), Plan::Reused, "{reused:?}");
        }
        for planned in [
            vec![("code", "4548-4")],
            vec![("category", "laboratory"), ("_count", "50")],
            vec![("date", "ge2020-01-01")],
            vec![("_lastUpdated", "gt2020")],
            vec![("patient", "p1"), ("date", "lt2020")],
        ] {
            assert_eq!(
                plan_of("Observation", &planned),
                Plan::PerExecution,
                "{planned:?}"
            );
        }
        assert_eq!(plan_of("Patient", &[("family", "smi")]), Plan::PerExecution);
    }

    #[test]
    fn literals_cannot_break_out_of_their_quotes() {
        assert_eq!(literal(&Param::Text("a'b".into())), "'a''b'::text");
        assert_eq!(literal(&Param::Int(-3)), "-3::int8");
    }
}
