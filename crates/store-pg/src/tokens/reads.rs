//! The lookups beside the write path, each one statement on a pooled connection (autocommit:
//! they see every committed batch of every node). The key lookups every request makes (an
//! access token on each FHIR call, an assertion `jti` on each redemption) are statements kept
//! on the connection: a primary-key lookup's plan cannot depend on the values, and parsing and
//! planning them again was PostgreSQL's work on every request.

use postgres::Row;
use postgres::types::{ToSql, Type};
use tessera_store::audit::{AuditRecord, MAX_AUDIT_ROWS};
use tessera_store::refresh::{RefreshFamily, RefreshRecord};
use tessera_store::tokens::TokenRecord;

use crate::error::PgError;
use crate::migrate;
use crate::pool::Pool;

use super::rows::{self, AUDIT_COLUMNS, FAMILY_COLUMNS, TOKEN_COLUMNS};

/// The row, if any, of `text` run as a statement kept on the pooled connection.
fn kept_opt(
    pool: &Pool,
    text: &str,
    params: &[(&(dyn ToSql + Sync), Type)],
) -> Result<Option<Row>, PgError> {
    // Key lookups: at most one row.
    Ok(pool.get()?.query_kept(text, params)?.into_iter().next())
}

pub(crate) fn is_spent(pool: &Pool, namespace: &str, key: &str, now: i64) -> Result<bool, PgError> {
    let row = kept_opt(
        pool,
        "SELECT 1 FROM assertion_jti WHERE client_id = $1 AND jti = $2 AND keep_until >= $3",
        &[
            (&namespace, Type::TEXT),
            (&key, Type::TEXT),
            (&now, Type::INT8),
        ],
    )?;
    Ok(row.is_some())
}

/// The database answers, its schema is this binary's, and it still makes commits durable.
pub(crate) fn ready(pool: &Pool) -> Result<(), PgError> {
    let mut c = pool.get()?;
    let found = migrate::applied_version(&mut c)?;
    let supported = migrate::newest_version();
    if found > supported {
        return Err(PgError::SchemaTooNew { found, supported });
    }
    if found < supported {
        return Err(PgError::SchemaTooOld { found, supported });
    }
    super::durability::check(&mut c)?;
    Ok(())
}

pub(crate) fn find_token(
    pool: &Pool,
    hash: &[u8],
    now: i64,
) -> Result<Option<TokenRecord>, PgError> {
    let row = kept_opt(
        pool,
        &format!(
            "SELECT {TOKEN_COLUMNS} FROM access_token WHERE token_hash = $1 AND expires_at > $2"
        ),
        &[(&hash, Type::BYTEA), (&now, Type::INT8)],
    )?;
    row.as_ref().map(rows::token_from).transpose()
}

pub(crate) fn find_refresh(
    pool: &Pool,
    hash: &[u8],
) -> Result<Option<(RefreshRecord, RefreshFamily)>, PgError> {
    let row = kept_opt(
        pool,
        &format!(
            "SELECT t.token_hash, t.family_id, t.issued_at, t.expires_at, t.used_at, \
             {FAMILY_COLUMNS} FROM refresh_token t \
             JOIN refresh_family f ON f.family_id = t.family_id WHERE t.token_hash = $1"
        ),
        &[(&hash, Type::BYTEA)],
    )?;
    row.map(|r| Ok((rows::refresh_from(&r)?, rows::family_from(&r, 5)?)))
        .transpose()
}

pub(crate) fn refresh_family(
    pool: &Pool,
    family_id: &str,
) -> Result<Option<RefreshFamily>, PgError> {
    let row = kept_opt(
        pool,
        &format!("SELECT {FAMILY_COLUMNS} FROM refresh_family f WHERE f.family_id = $1"),
        &[(&family_id, Type::TEXT)],
    )?;
    row.map(|r| rows::family_from(&r, 0)).transpose()
}

/// Records of a ticket `jti` (or the most recent), oldest first, at most [`MAX_AUDIT_ROWS`].
pub(crate) fn audit(pool: &Pool, jti: Option<&str>) -> Result<Vec<AuditRecord>, PgError> {
    let mut c = pool.get()?;
    let found = match jti {
        Some(j) => c.query_typed(
            &format!(
                "SELECT {AUDIT_COLUMNS} FROM redemption_audit WHERE jti = $1 \
                 ORDER BY id DESC LIMIT {MAX_AUDIT_ROWS}"
            ),
            &[(&j, Type::TEXT)],
        )?,
        None => c.query_typed(
            &format!(
                "SELECT {AUDIT_COLUMNS} FROM redemption_audit ORDER BY id DESC \
                 LIMIT {MAX_AUDIT_ROWS}"
            ),
            &[],
        )?,
    };
    let mut out = found
        .iter()
        .map(rows::audit_from)
        .collect::<Result<Vec<_>, _>>()?;
    out.reverse();
    Ok(out)
}
