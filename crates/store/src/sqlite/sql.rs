//! Compiling a Grant [`Filter`] and a [`SearchQuery`] into one SQLite `WHERE` clause over the
//! resource row `r` and its fact/index tables. Every value is a bound parameter; only fixed
//! SQL fragments are ever concatenated, so no client or ticket string reaches the SQL text.
//!
//! Each fragment is NULL-free (`IS`, `EXISTS`, guarded comparisons), so `NOT` has two-valued
//! logic and agrees with [`Filter::matches`] (checked over the corpus by the test suite).

use rusqlite::types::Value as SqlValue;
use tessera_access::{Filter, Token, TokenDim};
use tessera_fhir::{Clause, ClauseValues, DatePrefix, DateValue, TokenValue};

use crate::error::StoreError;

/// Bound on parameters in one statement (SQLite's default limit is 32,766).
const MAX_BOUND: usize = 20_000;
/// Bound on filter nesting.
const MAX_DEPTH: usize = 64;

/// SQL text under construction plus its positional parameters.
#[derive(Debug, Default)]
pub struct Sql {
    /// The text, with `?` placeholders.
    pub text: String,
    /// Values, in placeholder order.
    pub params: Vec<SqlValue>,
}

impl Sql {
    /// Appends fixed SQL text.
    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends a placeholder bound to `v`.
    pub fn bind(&mut self, v: impl Into<SqlValue>) -> &mut Self {
        self.text.push('?');
        self.params.push(v.into());
        self
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.params.len() > MAX_BOUND {
            Err(StoreError::TooLarge("too many bound values"))
        } else {
            Ok(())
        }
    }
}

fn dim_code(dim: TokenDim) -> i64 {
    match dim {
        TokenDim::Code => 0,
        TokenDim::Category => 1,
        TokenDim::Security => 2,
    }
}

/// Stored dimension code of a fact token (`fact_token.dim`).
pub fn fact_dim(dim: TokenDim) -> i64 {
    dim_code(dim)
}

/// Appends the Grant filter as a boolean SQL expression over `r`.
pub fn push_filter(sql: &mut Sql, f: &Filter) -> Result<(), StoreError> {
    filter_at(sql, f, 0)?;
    sql.check()
}

fn filter_at(sql: &mut Sql, f: &Filter, depth: usize) -> Result<(), StoreError> {
    if depth > MAX_DEPTH {
        return Err(StoreError::TooLarge("filter nested too deeply"));
    }
    match f {
        Filter::All => {
            sql.push("1");
        }
        Filter::Nothing => {
            sql.push("0");
        }
        Filter::And(parts) | Filter::Or(parts) => {
            let (op, empty) = if matches!(f, Filter::And(_)) {
                (" AND ", "1")
            } else {
                (" OR ", "0")
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
        Filter::PatientIs(id) => {
            sql.push("(r.patient IS ").bind(id.clone()).push(")");
        }
        Filter::Token { dim, system, code } => {
            sql.push("EXISTS (SELECT 1 FROM fact_token f WHERE f.rid = r.rid AND f.dim = ")
                .bind(dim_code(*dim))
                .push(" AND f.code = ")
                .bind(code.clone());
            match system.as_deref() {
                None => {}
                Some("") => {
                    sql.push(" AND f.system IS NULL");
                }
                Some(s) => {
                    sql.push(" AND f.system = ").bind(s.to_owned());
                }
            }
            sql.push(")");
        }
        Filter::ClinicalDateOverlaps { start, end } => {
            sql.push("(r.date_lo IS NOT NULL");
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
                sql.push("0");
            } else {
                sql.push("EXISTS (SELECT 1 FROM fact_encounter e WHERE e.rid = r.rid AND e.encounter IN (");
                push_list(sql, ids.iter().cloned());
                sql.push("))");
            }
        }
        Filter::CurrentlyRelevant => {
            sql.push("(r.currently_relevant = 1)");
        }
        Filter::IdIn(ids) => {
            if ids.is_empty() {
                sql.push("0");
            } else {
                sql.push("(r.id IN (");
                push_list(sql, ids.iter().cloned());
                sql.push("))");
            }
        }
        Filter::SecurityLabelOutside(allowed) => {
            sql.push("EXISTS (SELECT 1 FROM fact_token f WHERE f.rid = r.rid AND f.dim = ")
                .bind(dim_code(TokenDim::Security));
            for Token { system, code } in allowed {
                sql.push(" AND NOT (f.system IS ")
                    .bind(system.clone())
                    .push(" AND f.code = ")
                    .bind(code.clone())
                    .push(")");
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

/// Appends one search clause (its alternatives ORed) as a boolean expression over `r`.
pub fn push_clause(sql: &mut Sql, clause: &Clause) -> Result<(), StoreError> {
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
            index_subquery(sql, "idx_token", clause.param, values, push_token);
        }
        ClauseValues::Date(values) => {
            index_subquery(sql, "idx_date", clause.param, values, |sql, v| {
                push_date(sql, "x.lo", "x.hi", v)
            });
        }
        ClauseValues::Reference(values) => {
            index_subquery(sql, "idx_ref", clause.param, values, |sql, v| {
                sql.push("(x.target_id = ").bind(v.target_id.clone());
                if let Some(t) = &v.target_type {
                    sql.push(" AND x.target_type = ").bind(t.clone());
                }
                sql.push(")");
            });
        }
        ClauseValues::String(values) => {
            index_subquery(sql, "idx_string", clause.param, values, |sql, v| {
                // Prefix match as a range so the (param, value) index applies.
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

/// `r.rid IN (SELECT rid FROM table WHERE param = ? AND (alt OR alt ...))`: lets the planner
/// drive from the index when the clause is selective.
fn index_subquery<T>(
    sql: &mut Sql,
    table: &str,
    param: &str,
    values: &[T],
    each: impl Fn(&mut Sql, &T),
) {
    sql.push("r.rid IN (SELECT x.rid FROM ")
        .push(table)
        .push(" x WHERE x.param = ")
        .bind(param.to_owned())
        .push(" AND (");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        each(sql, v);
    }
    sql.push("))");
}

fn push_token(sql: &mut Sql, v: &TokenValue) {
    sql.push("(1");
    if let Some(code) = &v.code {
        sql.push(" AND x.code = ").bind(code.clone());
    }
    match v.system.as_deref() {
        None => {}
        Some("") => {
            sql.push(" AND x.system IS NULL");
        }
        Some(s) => {
            sql.push(" AND x.system = ").bind(s.to_owned());
        }
    }
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
