//! Grant filters and search clauses as boolean SQL expressions over `r`.

use tessera_access::{Filter, Token, TokenDim};
use tessera_fhir::{Clause, ClauseValues, DatePrefix, DateValue, TokenValue};

use super::{Dialect, Sql, fact_dim};
use crate::error::StoreError;

/// Bound on filter nesting.
const MAX_DEPTH: usize = 64;

/// Appends the Grant filter as a boolean SQL expression over `r`.
pub fn push_filter(sql: &mut Sql, f: &Filter) -> Result<(), StoreError> {
    filter_at(sql, f, 0)?;
    sql.check()
}

/// `column` equals `v`, never NULL: a NULL column is FALSE (not unknown), and the plain `=`
/// keeps the comparison indexable on both engines.
fn text_eq(sql: &mut Sql, column: &str, v: &str) {
    sql.push("(")
        .push(column)
        .push(" IS NOT NULL AND ")
        .push(column)
        .push(" = ")
        .bind(v.to_owned())
        .push(")");
}

/// The token's system constraint on `column` with FHIR semantics (`None` any, `""` none).
fn system_constraint(sql: &mut Sql, column: &str, system: Option<&str>) {
    match system {
        None => {}
        Some("") => {
            sql.push(" AND ").push(column).push(" IS NULL");
        }
        Some(s) => {
            sql.push(" AND ")
                .push(column)
                .push(" = ")
                .bind(s.to_owned());
        }
    }
}

fn dim_literal(dim: TokenDim) -> String {
    // A fixed small integer from an enum, not input: inlined so the planner sees it.
    fact_dim(dim).to_string()
}

fn filter_at(sql: &mut Sql, f: &Filter, depth: usize) -> Result<(), StoreError> {
    if depth > MAX_DEPTH {
        return Err(StoreError::TooLarge("filter nested too deeply"));
    }
    match f {
        Filter::All => {
            sql.push("TRUE");
        }
        Filter::Nothing => {
            sql.push("FALSE");
        }
        Filter::And(parts) | Filter::Or(parts) => {
            let (op, empty) = if matches!(f, Filter::And(_)) {
                (" AND ", "TRUE")
            } else {
                (" OR ", "FALSE")
            };
            if parts.is_empty() {
                sql.push(empty);
                return Ok(());
            }
            sql.push("(");
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    sql.push(op);
                }
                filter_at(sql, p, depth + 1)?;
            }
            sql.push(")");
        }
        Filter::Not(inner) => {
            sql.push("(NOT ");
            filter_at(sql, inner, depth + 1)?;
            sql.push(")");
        }
        Filter::PatientIs(id) => text_eq(sql, "r.patient", id),
        Filter::Token { dim, system, code } => {
            sql.push("EXISTS (SELECT 1 FROM fact_token f WHERE f.rid = r.rid AND f.dim = ")
                .push(&dim_literal(*dim))
                .push(" AND f.code = ")
                .bind(code.clone());
            system_constraint(sql, "f.system", system.as_deref());
            sql.push(")");
        }
        Filter::ClinicalDateOverlaps { start, end } => {
            sql.push("(r.date_lo IS NOT NULL AND r.date_hi IS NOT NULL");
            if let Some(s) = start {
                sql.push(" AND r.date_hi >= ").bind(*s);
            }
            if let Some(e) = end {
                sql.push(" AND r.date_lo <= ").bind(*e);
            }
            sql.push(")");
        }
        Filter::EncounterIn(ids) => {
            if ids.is_empty() {
                sql.push("FALSE");
            } else {
                sql.push("EXISTS (SELECT 1 FROM fact_encounter e WHERE e.rid = r.rid AND e.encounter IN (");
                push_list(sql, ids.iter().cloned());
                sql.push("))");
            }
        }
        Filter::CurrentlyRelevant => {
            sql.push("(r.currently_relevant = TRUE)");
        }
        Filter::IdIn(ids) => {
            if ids.is_empty() {
                sql.push("FALSE");
            } else {
                sql.push("(r.id IN (");
                push_list(sql, ids.iter().cloned());
                sql.push("))");
            }
        }
        Filter::SecurityLabelOutside(allowed) => {
            sql.push("EXISTS (SELECT 1 FROM fact_token f WHERE f.rid = r.rid AND f.dim = ")
                .push(&dim_literal(TokenDim::Security));
            for Token { system, code } in allowed {
                // "Not exactly this label": a missing system equals only a missing system.
                sql.push(" AND NOT (");
                match system {
                    None => sql.push("f.system IS NULL"),
                    Some(s) => sql
                        .push("f.system IS NOT NULL AND f.system = ")
                        .bind(s.clone()),
                };
                sql.push(" AND f.code = ").bind(code.clone()).push(")");
            }
            sql.push(")");
        }
    }
    Ok(())
}

fn push_list(sql: &mut Sql, values: impl Iterator<Item = String>) {
    for (i, v) in values.enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(v);
    }
}

/// How a clause on an index table (`idx_token`, `idx_date`, `idx_ref`, `idx_string`) meets
/// the resource rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// `r.rid IN (SELECT x.rid FROM idx … WHERE param AND value)`: the clause's own index
    /// can drive the search, which is what a selective clause over the whole store needs.
    /// SQLite evaluates the subquery whole (every matching index row of the store), so this
    /// form costs as much as the clause matches network-wide.
    FromIndex,
    /// `EXISTS (SELECT 1 FROM idx … x WHERE x.rid = r.rid AND param AND value)`: each
    /// candidate row is probed by its `rid` (the `(rid, param, …)` indexes), so the cost is
    /// bounded by the rows the rest of the WHERE clause selects. For a grant pinned to a
    /// patient's compartment, that is the patient's own records, whatever the store's size.
    FromResource,
}

/// The probe for a search under `grant`: [`Probe::FromResource`] when the grant confines every
/// match to named patients (their compartment is found by the `(patient, type)` index and is
/// small), else [`Probe::FromIndex`]. PostgreSQL plans both forms as the same semi-join and
/// picks the order by cost, except that a probe by row is fenced (see `index_subquery`);
/// SQLite keeps the order the form states.
pub fn probe_for(grant: &Filter) -> Probe {
    if pins_patient(grant) {
        Probe::FromResource
    } else {
        Probe::FromIndex
    }
}

/// Whether every row `grant` admits belongs to a patient it names.
fn pins_patient(grant: &Filter) -> bool {
    match grant {
        Filter::PatientIs(_) => true,
        Filter::And(parts) => parts.iter().any(pins_patient),
        Filter::Or(parts) => !parts.is_empty() && parts.iter().all(pins_patient),
        _ => false,
    }
}

/// Appends one search clause (its alternatives ORed) as a boolean expression over `r`.
pub fn push_clause(sql: &mut Sql, clause: &Clause, probe: Probe) -> Result<(), StoreError> {
    match &clause.values {
        ClauseValues::Id(ids) => {
            sql.push("r.id IN (");
            push_list(sql, ids.iter().cloned());
            sql.push(")");
        }
        ClauseValues::LastUpdated(values) => {
            sql.push("(");
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    sql.push(" OR ");
                }
                push_date(sql, "r.last_updated", "r.last_updated", v);
            }
            sql.push(")");
        }
        ClauseValues::Token(values) => {
            index_subquery(sql, probe, "idx_token", clause.param, values, push_token);
        }
        ClauseValues::Date(values) => {
            index_subquery(sql, probe, "idx_date", clause.param, values, |sql, v| {
                push_date(sql, "x.lo", "x.hi", v)
            });
        }
        ClauseValues::Reference(values) => {
            index_subquery(sql, probe, "idx_ref", clause.param, values, |sql, v| {
                sql.push("(x.target_id = ").bind(v.target_id.clone());
                if let Some(t) = &v.target_type {
                    sql.push(" AND x.target_type = ").bind(t.clone());
                }
                sql.push(")");
            });
        }
        ClauseValues::String(values) => {
            index_subquery(sql, probe, "idx_string", clause.param, values, |sql, v| {
                // Prefix match as a range so the (param, value) index applies (byte order:
                // SQLite's BINARY collation, PostgreSQL's "C" on the column).
                let upper = format!("{v}\u{10FFFF}");
                sql.push("(x.value >= ")
                    .bind(v.clone())
                    .push(" AND x.value < ")
                    .bind(upper)
                    .push(")");
            });
        }
    }
    sql.check()
}

/// The clause's rows of `table` (`param = ? AND (alt OR alt ...)`), met as `probe` says.
fn index_subquery<T>(
    sql: &mut Sql,
    probe: Probe,
    table: &str,
    param: &str,
    values: &[T],
    each: impl Fn(&mut Sql, &T),
) {
    match probe {
        Probe::FromIndex => sql
            .push("r.rid IN (SELECT x.rid FROM ")
            .push(table)
            .push(" x WHERE"),
        Probe::FromResource => sql
            .push("EXISTS (SELECT 1 FROM ")
            .push(table)
            .push(" x WHERE x.rid = r.rid AND"),
    };
    sql.push(" x.param = ")
        .bind(param.to_owned())
        .push(" AND (");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        each(sql, v);
    }
    sql.push(")");
    if probe == Probe::FromResource && sql.dialect == Dialect::Postgres {
        // PostgreSQL turns an `EXISTS` into a semi-join and may drive it from the clause's
        // index across the whole store; `OFFSET 0` keeps it a probe of each candidate row
        // (its planner never pulls up a subquery with an OFFSET). So the compartment always
        // drives, whatever the values, and the statement's plan can be kept
        // (store-pg `resources/plan.rs`). SQLite already probes an `EXISTS` per row.
        sql.push(" OFFSET 0");
    }
    sql.push(")");
}

fn push_token(sql: &mut Sql, v: &TokenValue) {
    sql.push("(TRUE");
    if let Some(code) = &v.code {
        sql.push(" AND x.code = ").bind(code.clone());
    }
    system_constraint(sql, "x.system", v.system.as_deref());
    sql.push(")");
}

/// The inequalities of [`DatePrefix::matches`], over columns `lo`/`hi`.
fn push_date(sql: &mut Sql, lo: &str, hi: &str, v: &DateValue) {
    let (slo, shi) = (v.range.lo, v.range.hi);
    let eq = |sql: &mut Sql| {
        sql.push("(")
            .push(lo)
            .push(" >= ")
            .bind(slo)
            .push(" AND ")
            .push(hi)
            .push(" <= ")
            .bind(shi)
            .push(")");
    };
    sql.push("(");
    match v.prefix {
        DatePrefix::Eq => eq(sql),
        DatePrefix::Ne => {
            sql.push("NOT ");
            eq(sql);
        }
        DatePrefix::Gt => {
            sql.push(hi).push(" > ").bind(shi);
        }
        DatePrefix::Lt => {
            sql.push(lo).push(" < ").bind(slo);
        }
        DatePrefix::Ge => {
            sql.push(hi).push(" > ").bind(shi).push(" OR ");
            eq(sql);
        }
        DatePrefix::Le => {
            sql.push(lo).push(" < ").bind(slo).push(" OR ");
            eq(sql);
        }
        DatePrefix::Sa => {
            sql.push(lo).push(" > ").bind(shi);
        }
        DatePrefix::Eb => {
            sql.push(hi).push(" < ").bind(slo);
        }
        DatePrefix::Ap => {
            let w = v.range.approximate();
            sql.push(hi)
                .push(" >= ")
                .bind(w.lo)
                .push(" AND ")
                .push(lo)
                .push(" <= ")
                .bind(w.hi);
        }
    }
    sql.push(")");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patient(id: &str) -> Filter {
        Filter::PatientIs(id.into())
    }

    #[test]
    fn a_search_is_driven_by_the_compartment_only_when_the_grant_confines_it() {
        let label = Filter::Token {
            dim: TokenDim::Security,
            system: None,
            code: "R".into(),
        };
        let pinned = [
            patient("a"),
            Filter::And(vec![Filter::Not(Box::new(label.clone())), patient("a")]),
            Filter::Or(vec![patient("a"), patient("b")]),
            Filter::And(vec![
                Filter::All,
                Filter::Or(vec![
                    patient("a"),
                    Filter::And(vec![patient("b"), label.clone()]),
                ]),
            ]),
        ];
        for g in &pinned {
            assert_eq!(probe_for(g), Probe::FromResource, "{g:?}");
        }
        let open = [
            Filter::All,
            Filter::Nothing,
            Filter::Not(Box::new(patient("a"))),
            Filter::Or(vec![patient("a"), Filter::All]),
            Filter::Or(vec![]),
            Filter::And(vec![]),
            Filter::And(vec![label]),
        ];
        for g in &open {
            assert_eq!(probe_for(g), Probe::FromIndex, "{g:?}");
        }
    }
}
