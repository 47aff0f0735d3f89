//! The batch's closing statement: its access tokens and its chained audit rows written by one
//! statement (the first part a data-modifying `WITH` query; both run once on one snapshot),
//! one round trip instead of two. Round trips are most of what a redemption costs PostgreSQL:
//! its backends spent 21 of their 37 % of the machine in system calls, against 5 % parsing and
//! planning (BENCHMARKS.md). The chain head is not a part: its guard trigger checks the head
//! names a stored row, and a statement's parts cannot see each other's rows, so the head is
//! moved by the next statement (`chain.rs`).

use postgres::Client;
use postgres::types::{ToSql, Type};
use tessera_store::tokens::TokenRecord;

use crate::error::PgError;

use super::rows::{AUDIT_COLUMNS, TOKEN_COLUMNS};

/// A parameter and its type, owned by the statement.
pub(crate) type Owned<'a> = (Box<dyn ToSql + Sync + 'a>, Type);

/// The parts of the closing statement and their parameters, numbered in order.
#[derive(Default)]
pub(crate) struct Closing<'a> {
    parts: Vec<String>,
    params: Vec<Owned<'a>>,
}

impl<'a> Closing<'a> {
    /// `INSERT … SELECT * FROM unnest(…)` of `columns`, one array parameter each.
    fn insert_unnest(&mut self, table: &str, names: &str, columns: Vec<Owned<'a>>) {
        let first = self.params.len() + 1;
        let placeholders: Vec<String> = (first..first + columns.len())
            .map(|n| format!("${n}"))
            .collect();
        self.params.extend(columns);
        self.parts.push(format!(
            "INSERT INTO {table} ({names}) SELECT * FROM unnest({})",
            placeholders.join(", ")
        ));
    }

    /// Inserts `tokens` (nothing when empty).
    pub(crate) fn tokens(&mut self, tokens: &[&'a TokenRecord]) {
        if tokens.is_empty() {
            return;
        }
        let text = |f: fn(&'a TokenRecord) -> &'a str| -> Owned<'a> {
            (
                Box::new(tokens.iter().map(|t| f(t)).collect::<Vec<&str>>()),
                Type::TEXT_ARRAY,
            )
        };
        let int = |f: fn(&TokenRecord) -> i64| -> Owned<'a> {
            (
                Box::new(tokens.iter().map(|t| f(t)).collect::<Vec<i64>>()),
                Type::INT8_ARRAY,
            )
        };
        let columns: Vec<Owned<'a>> = vec![
            (
                Box::new(
                    tokens
                        .iter()
                        .map(|t| t.token_hash.as_slice())
                        .collect::<Vec<&[u8]>>(),
                ),
                Type::BYTEA_ARRAY,
            ),
            text(|t| &t.client_id),
            text(|t| &t.grant_json),
            text(|t| &t.ticket_jti),
            text(|t| &t.ticket_iss),
            text(|t| &t.ticket_type),
            text(|t| &t.patient),
            text(|t| &t.scope),
            int(|t| t.issued_at),
            int(|t| t.expires_at),
            (
                Box::new(
                    tokens
                        .iter()
                        .map(|t| t.cnf_jkt.as_deref())
                        .collect::<Vec<Option<&str>>>(),
                ),
                Type::TEXT_ARRAY,
            ),
        ];
        self.insert_unnest("access_token", TOKEN_COLUMNS, columns);
    }

    /// Inserts chained audit rows, given as their column arrays (in the order of
    /// [`AUDIT_COLUMNS`], then `chain_seq, chain_version, prev_hash, chain_hash`).
    pub(crate) fn audit(&mut self, columns: Vec<Owned<'a>>) {
        let names = format!("{AUDIT_COLUMNS}, chain_seq, chain_version, prev_hash, chain_hash");
        self.insert_unnest("redemption_audit", &names, columns);
    }

    /// The statement's text: the last part under the others as `WITH` queries.
    fn text(&self) -> Option<String> {
        let (last, rest) = self.parts.split_last()?;
        if rest.is_empty() {
            return Some(last.clone());
        }
        let with: Vec<String> = rest
            .iter()
            .enumerate()
            .map(|(i, p)| format!("w{i} AS ({p})"))
            .collect();
        Some(format!("WITH {} {last}", with.join(", ")))
    }

    /// Runs the statement (nothing when no part was added).
    pub(crate) fn run(self, c: &mut Client) -> Result<(), PgError> {
        let Some(text) = self.text() else {
            return Ok(());
        };
        let params: Vec<(&(dyn ToSql + Sync), Type)> = self
            .params
            .iter()
            .map(|(v, t)| (v.as_ref(), t.clone()))
            .collect();
        c.execute_typed(&text, &params)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audit_columns() -> Vec<Owned<'static>> {
        vec![
            (Box::new(vec![1_i64]), Type::INT8_ARRAY),
            (Box::new(vec!["e"]), Type::TEXT_ARRAY),
        ]
    }

    #[test]
    fn parts_are_numbered_in_order_and_nested_under_the_last() {
        let mut c = Closing::default();
        assert_eq!(c.text(), None);
        c.audit(audit_columns());
        c.audit(audit_columns());
        let text = c.text().unwrap();
        assert!(
            text.starts_with("WITH w0 AS (INSERT INTO redemption_audit ("),
            "{text}"
        );
        assert!(
            text.contains("SELECT * FROM unnest($1, $2)) INSERT"),
            "{text}"
        );
        assert!(text.ends_with("SELECT * FROM unnest($3, $4)"), "{text}");
        assert_eq!(c.params.len(), 4);
    }

    #[test]
    fn a_lone_part_is_the_statement_itself() {
        let mut c = Closing::default();
        c.audit(audit_columns());
        let text = c.text().unwrap();
        assert!(text.starts_with("INSERT INTO redemption_audit ("), "{text}");
    }
}
