//! How a read or search statement is planned: once per connection, or for every execution's
//! values.
//!
//! Planning is about a third of PostgreSQL's CPU per search (BENCHMARKS.md). A plan can be
//! kept only where the best plan cannot depend on the values: a generic plan does not know
//! that a date range, a code or a name prefix is selective, and for `date=ge…` it was measured
//! scanning `idx_date` whole where a custom plan walks the index from the bound. A statement
//! is kept when every key it can drive from is an equality whose best index no value changes
//! (the `(type, id)` key, the patient index, a reference's or a code's index, the `(type,
//! rid)` order) — see [`search_plan`].

use postgres::types::{ToSql, Type};
use tessera_access::Filter;
use tessera_fhir::{ClauseValues, SearchQuery};
use tessera_store::sql::{Param, Probe, Sql, probe_for};

use crate::async_pool::AsyncClient;
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

/// The plan of `query`'s statements under `grant`: kept when each clause meets the rows by a
/// key whose choice no value can change.
/// - `_id` and references (`patient=`): equalities on `(type, id)` and `(param, target_id)`.
/// - Under a grant pinned to patients, every clause: the compartment, an equality on
///   `(patient, type)`, drives, and each token, string and date clause is a probe of each of
///   its rows that the planner may not turn around (`tessera_store::sql::Probe::FromResource`,
///   fenced with `OFFSET 0`). Before the fence, a generic plan drove `date=ge…` from
///   `idx_date` across the whole store, and token clauses had to be planned per execution.
/// - A token with a code, under a grant that does not pin patients: an equality on the
///   `(param, code)` index, the one key such a search (and its total) can drive from.
///
/// Planned for its values every time, under grants that do not pin patients: any string
/// clause (a prefix may or may not be selective), a token without a code, a date range.
pub fn search_plan(query: &SearchQuery, grant: &Filter) -> Plan {
    let pinned = probe_for(grant) == Probe::FromResource;
    let value_independent = query.clauses.iter().all(|c| match &c.values {
        ClauseValues::Id(_) | ClauseValues::Reference(_) => true,
        // Under a pinned grant every index-table clause is a fenced probe of each row of the
        // compartment (`tessera_store::sql::Probe`), so no value can move the drive.
        ClauseValues::Token(_) | ClauseValues::String(_) if pinned => true,
        ClauseValues::Token(values) => values.iter().all(|v| v.code.is_some()),
        ClauseValues::Date(_) | ClauseValues::LastUpdated(_) => pinned,
        ClauseValues::String(_) => false,
    });
    if value_independent {
        Plan::Reused
    } else {
        Plan::PerExecution
    }
}

/// Runs `sql` as `plan` says.
pub fn run(
    client: &mut PooledClient<'_>,
    sql: &Sql,
    plan: Plan,
) -> Result<Vec<postgres::Row>, PgError> {
    match plan {
        Plan::Reused => client.query_kept(&sql.text, &typed(sql)),
        Plan::PerExecution => Ok(client.query_typed(&sql.text, &typed(sql))?),
    }
}

/// [`run`] on an asynchronous connection.
pub async fn run_async(
    client: &mut AsyncClient<'_>,
    sql: &Sql,
    plan: Plan,
) -> Result<Vec<postgres::Row>, PgError> {
    match plan {
        Plan::Reused => client.query_kept(&sql.text, &typed(sql)).await,
        Plan::PerExecution => client.query_typed(&sql.text, &typed(sql)).await,
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
    use tessera_access::Filter;
    use tessera_fhir::parse_search;

    use super::{Param, Plan, literal, search_plan};

    fn plan_of(rtype: &str, pairs: &[(&str, &str)], grant: &Filter) -> Plan {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        search_plan(&parse_search(rtype, &pairs).unwrap(), grant)
    }

    #[test]
    fn a_plan_is_kept_only_where_an_equality_key_or_the_compartment_drives_whatever_the_values() {
        let open = Filter::All;
        let pinned = Filter::And(vec![
            Filter::PatientIs("p1".into()),
            Filter::CurrentlyRelevant,
        ]);
        let obs = "Observation";
        // (query, kept under an open grant, kept under a pinned one)
        type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, bool, bool);
        let cases: Vec<Case<'_>> = vec![
            (obs, vec![], true, true),
            (obs, vec![("_count", "50")], true, true),
            (obs, vec![("_cursor", "10"), ("_count", "50")], true, true),
            (obs, vec![("_id", "a,b")], true, true),
            (obs, vec![("patient", "p1")], true, true),
            (obs, vec![("_summary", "count")], true, true),
            (obs, vec![("_total", "none")], true, true),
            (obs, vec![("code", "4548-4")], true, true),
            (
                obs,
                vec![("code", "http://loinc.org|4548-4,8867-4")],
                true,
                true,
            ),
            (
                obs,
                vec![("category", "laboratory"), ("_count", "50")],
                true,
                true,
            ),
            (obs, vec![("code", "http://loinc.org|")], false, true),
            (obs, vec![("date", "ge2020-01-01")], false, true),
            (obs, vec![("_lastUpdated", "gt2020")], false, true),
            (
                obs,
                vec![("patient", "p1"), ("date", "lt2020")],
                false,
                true,
            ),
            (
                obs,
                vec![("code", "4548-4"), ("date", "lt2020")],
                false,
                true,
            ),
            ("Patient", vec![("family", "smi")], false, true),
        ];
        for (rtype, pairs, kept_open, kept_pinned) in cases {
            let want = |kept| {
                if kept {
                    Plan::Reused
                } else {
                    Plan::PerExecution
                }
            };
            assert_eq!(
                plan_of(rtype, &pairs, &open),
                want(kept_open),
                "{pairs:?} open"
            );
            assert_eq!(
                plan_of(rtype, &pairs, &pinned),
                want(kept_pinned),
                "{pairs:?} pinned"
            );
        }
    }

    #[test]
    fn literals_cannot_break_out_of_their_quotes() {
        assert_eq!(literal(&Param::Text("a'b".into())), "'a''b'::text");
        assert_eq!(literal(&Param::Int(-3)), "-3::int8");
    }
}
