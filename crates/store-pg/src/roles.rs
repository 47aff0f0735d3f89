//! The grants for a separate application role (docs/deployment.md "Database roles").
//!
//! The triggers of V4 make the audit trail append-only for every role, but the role that owns
//! the tables can drop its own triggers. A deployment that wants "append-only for the
//! application" enforced by PostgreSQL's privileges rather than by convention runs migrations
//! and `tessera ingest` as an owner role and the nodes as an application role that owns
//! nothing: it may write what a node writes, and has no UPDATE, DELETE or TRUNCATE on the
//! audit rows (nor on the issuer's refusal log) nor DELETE or TRUNCATE on the chain head, so neither rewriting a row nor
//! disabling a trigger is possible with the nodes' credentials.

use crate::error::PgError;

/// Tables whose rows the application may only add (and, for the head, advance).
const APPEND_ONLY: [(&str, &str); 3] = [
    ("redemption_audit", "UPDATE, DELETE, TRUNCATE"),
    ("audit_chain_head", "DELETE, TRUNCATE"),
    ("issuer_refusal", "UPDATE, DELETE, TRUNCATE"),
];

/// The SQL an owner runs (after the migrations) so that `role` can serve from `schema`.
///
/// # Errors
/// When `schema` or `role` is not a plain identifier (lower-case letters, digits, `_`; no
/// quoting games in generated SQL).
pub fn app_role_grants(schema: &str, role: &str) -> Result<String, PgError> {
    for (what, name) in [("schema", schema), ("role", role)] {
        if !is_plain_identifier(name) {
            return Err(PgError::InvalidInput(format!(
                "{what} name {name:?} is not a plain identifier ([a-z_][a-z0-9_]*, at most 63)"
            )));
        }
    }
    let mut sql = format!(
        "GRANT USAGE ON SCHEMA {schema} TO {role};\n\
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role};\n\
         GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role};\n\
         REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {schema} FROM {role};\n"
    );
    for (table, privileges) in APPEND_ONLY {
        sql.push_str(&format!(
            "REVOKE {privileges} ON {schema}.{table} FROM {role};\n"
        ));
    }
    Ok(sql)
}

fn is_plain_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.len() <= 63
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_inject_sql_are_refused() {
        for bad in ["", "A", "x;drop", "x y", "1x", "\"x\""] {
            assert!(app_role_grants(bad, "app").is_err(), "{bad}");
            assert!(app_role_grants("public", bad).is_err(), "{bad}");
        }
        let sql = app_role_grants("public", "tessera_app").unwrap();
        assert!(sql.contains(
            "REVOKE UPDATE, DELETE, TRUNCATE ON public.redemption_audit FROM tessera_app;"
        ));
        assert!(sql.contains(
            "REVOKE UPDATE, DELETE, TRUNCATE ON public.issuer_refusal FROM tessera_app;"
        ));
    }
}
