//! The one Filter → SQL compiler, for every SQL backend: a Grant [`Filter`] and a
//! [`SearchQuery`] become one `WHERE` clause over the resource row `r` and its fact/index
//! tables, in the [`Dialect`] of the backend that runs it.
//!
//! Every value is a bound [`Param`]; only fixed SQL fragments (and the fixed small integers
//! of token dimensions) are ever concatenated, so no client or ticket string reaches the SQL
//! text. Each fragment is NULL-free (`IS NULL` guards, `EXISTS`), so `NOT` has two-valued
//! logic and agrees with [`Filter::matches`] on both backends (checked over the synthetic
//! data by each backend's suite).
//!
//! The dialects differ only in placeholders (`?N` / `$N`); the fragments are written in the
//! SQL both engines accept (`TRUE`/`FALSE`, `IS NOT NULL AND … = …` instead of SQLite's
//! null-safe `IS`), so one compiler serves both and neither can drift from the other.

mod filter;
mod search;

pub use filter::{Probe, probe_for, push_clause, push_filter};
pub use search::{
    SearchStatements, read_statement, search_statements, search_with_total_statement,
};

use tessera_access::TokenDim;

use crate::error::StoreError;

/// Bound on parameters in one statement (SQLite's default limit is 32,766; PostgreSQL's
/// protocol allows 65,535).
const MAX_BOUND: usize = 20_000;

/// The SQL engine a statement is compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite: `?N` placeholders.
    Sqlite,
    /// PostgreSQL: `$N` placeholders.
    Postgres,
}

/// A bound value. Text binds as `TEXT`, integers as 64-bit (`INTEGER` / `BIGINT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    /// A string.
    Text(String),
    /// A 64-bit integer.
    Int(i64),
}

impl From<String> for Param {
    fn from(s: String) -> Param {
        Param::Text(s)
    }
}

impl From<i64> for Param {
    fn from(i: i64) -> Param {
        Param::Int(i)
    }
}

/// SQL text under construction plus its positional parameters.
#[derive(Debug, Clone)]
pub struct Sql {
    dialect: Dialect,
    /// The text, with the dialect's placeholders.
    pub text: String,
    /// Values, in placeholder order.
    pub params: Vec<Param>,
}

impl Sql {
    /// An empty statement in `dialect`.
    pub fn new(dialect: Dialect) -> Sql {
        Sql {
            dialect,
            text: String::new(),
            params: Vec::new(),
        }
    }

    /// Appends fixed SQL text.
    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends a placeholder bound to `v`.
    pub fn bind(&mut self, v: impl Into<Param>) -> &mut Self {
        self.params.push(v.into());
        let n = self.params.len();
        let mark = match self.dialect {
            Dialect::Sqlite => '?',
            Dialect::Postgres => '$',
        };
        self.text.push(mark);
        self.text.push_str(&n.to_string());
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

/// Stored dimension code of a fact token (`fact_token.dim`), on every backend.
pub fn fact_dim(dim: TokenDim) -> i64 {
    match dim {
        TokenDim::Code => 0,
        TokenDim::Category => 1,
        TokenDim::Security => 2,
    }
}

#[cfg(test)]
mod tests {
    use tessera_access::{Filter, TokenDim};
    use tessera_fhir::parse_search;

    use super::{Dialect, Param, search_statements};
    use crate::model::Scope;

    #[test]
    fn the_dialects_differ_only_in_placeholders_and_the_probe_fence() {
        let grant = Filter::And(vec![
            Filter::PatientIs("p1".into()),
            Filter::Not(Box::new(Filter::Token {
                dim: TokenDim::Security,
                system: None,
                code: "R".into(),
            })),
            Filter::IdIn(vec!["a".into(), "b".into()]),
        ]);
        let pairs = [
            ("code", "http://loinc.org|4548-4"),
            ("date", "ge2020"),
            ("_count", "5"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let q = parse_search("Observation", &pairs).unwrap();
        let lite = search_statements(Dialect::Sqlite, Scope::Site("s1"), &q, &grant).unwrap();
        let pg = search_statements(Dialect::Postgres, Scope::Site("s1"), &q, &grant).unwrap();
        for (l, p) in [(&lite.count, &pg.count), (&lite.page, &pg.page)] {
            assert_eq!(l.params, p.params);
            // Pinned to a patient: PostgreSQL's probes by row carry their fence, one per
            // index-table clause (code and date).
            assert_eq!(p.text.matches(" OFFSET 0)").count(), 2, "{}", p.text);
            assert_eq!(l.text.replace('?', "$"), p.text.replace(" OFFSET 0)", ")"));
            // Placeholders are numbered 1..=n in order, each once.
            let marks: Vec<String> = (1..=p.params.len()).map(|n| format!("${n}")).collect();
            let mut at = 0;
            for m in &marks {
                let found = p.text[at..].find(m.as_str()).unwrap();
                at += found + m.len();
            }
            assert!(!p.text.contains(&format!("${}", p.params.len() + 1)));
        }
        assert_eq!(
            lite.page.params.last(),
            Some(&Param::Int(6)),
            "LIMIT count + 1"
        );
        assert!(
            lite.count
                .text
                .starts_with("SELECT COUNT(*) FROM resource r WHERE r.type = ?1")
        );
        assert!(!pg.page.text.contains('?'));
    }
}
