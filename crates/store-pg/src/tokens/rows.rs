//! Rows ⇄ records of the token tables, and the writes the batch is made of (single rows, or
//! many rows through `unnest` of one array per column). Every statement is sent with its
//! parameter types (`*_typed`): one round trip, no prepare.

use postgres::Client;
use postgres::Row;
use postgres::types::{ToSql, Type};
use tessera_store::audit::AuditRecord;
use tessera_store::refresh::{RefreshFamily, RefreshRecord};
use tessera_store::registrations::ClientRegistration;
use tessera_store::tokens::TokenRecord;

use crate::error::PgError;

type P<'a> = (&'a (dyn ToSql + Sync), Type);

pub(crate) const AUDIT_COLUMNS: &str = "id, at, event, outcome, step, error, error_description, \
     jti, iss, ticket_type, client_id, requester, binding, patient, scopes, details";

pub(crate) const TOKEN_COLUMNS: &str = "token_hash, client_id, grant_json, ticket_jti, \
     ticket_iss, ticket_type, patient, scope, issued_at, expires_at, cnf_jkt";

pub(crate) const FAMILY_COLUMNS: &str = "f.family_id, f.client_id, f.grant_json, f.ticket_jti, \
     f.ticket_iss, f.ticket_type, f.patient, f.scope, f.revocation_url, f.revocation_index, \
     f.refresh_until, f.cnf_jkt, f.created_at, f.revoked_at, f.revoked_reason";

pub(crate) const REGISTRATION_COLUMNS: &str =
    "client_id, kind, trust_framework, san, metadata, token_hash, created_at, updated_at";

pub(crate) fn insert_family(c: &mut Client, f: &RefreshFamily) -> Result<(), PgError> {
    let index =
        i64::try_from(f.revocation_index).map_err(|_| PgError::OutOfRange("revocation index"))?;
    let params: [P<'_>; 13] = [
        (&f.family_id, Type::TEXT),
        (&f.client_id, Type::TEXT),
        (&f.grant_json, Type::TEXT),
        (&f.ticket_jti, Type::TEXT),
        (&f.ticket_iss, Type::TEXT),
        (&f.ticket_type, Type::TEXT),
        (&f.patient, Type::TEXT),
        (&f.scope, Type::TEXT),
        (&f.revocation_url, Type::TEXT),
        (&index, Type::INT8),
        (&f.refresh_until, Type::INT8),
        (&f.cnf_jkt, Type::TEXT),
        (&f.created_at, Type::INT8),
    ];
    c.execute_typed(
        "INSERT INTO refresh_family (family_id, client_id, grant_json, ticket_jti, ticket_iss, \
         ticket_type, patient, scope, revocation_url, revocation_index, refresh_until, cnf_jkt, \
         created_at, revoked_at, revoked_reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL, NULL)",
        &params,
    )?;
    Ok(())
}

pub(crate) fn insert_refresh(c: &mut Client, r: &RefreshRecord) -> Result<(), PgError> {
    c.execute_typed(
        "INSERT INTO refresh_token (token_hash, family_id, issued_at, expires_at, used_at) \
         VALUES ($1, $2, $3, $4, $5)",
        &[
            (&r.token_hash, Type::BYTEA),
            (&r.family_id, Type::TEXT),
            (&r.issued_at, Type::INT8),
            (&r.expires_at, Type::INT8),
            (&r.used_at, Type::INT8),
        ],
    )?;
    Ok(())
}

/// Marks a refresh token used; `false` if it was used already or is not stored. A concurrent
/// rotation of the same token on another node holds the row lock; this one waits, re-reads the
/// committed row and finds it used.
pub(crate) fn mark_used(c: &mut Client, hash: &[u8], now: i64) -> Result<bool, PgError> {
    let n = c.execute_typed(
        "UPDATE refresh_token SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL",
        &[(&hash, Type::BYTEA), (&now, Type::INT8)],
    )?;
    Ok(n > 0)
}

/// Revokes a family; a revoked one keeps its first reason.
pub(crate) fn revoke_family(
    c: &mut Client,
    family_id: &str,
    now: i64,
    reason: &str,
) -> Result<(), PgError> {
    c.execute_typed(
        "UPDATE refresh_family SET revoked_at = $2, revoked_reason = $3 \
         WHERE family_id = $1 AND revoked_at IS NULL",
        &[
            (&family_id, Type::TEXT),
            (&now, Type::INT8),
            (&reason, Type::TEXT),
        ],
    )?;
    Ok(())
}

/// Inserts or replaces `r`; a UDAP registration first drops any other row of its
/// `(trust_framework, san)` (what SQLite's `INSERT OR REPLACE` does through the same index).
pub(crate) fn put_registration(c: &mut Client, r: &ClientRegistration) -> Result<(), PgError> {
    if let (Some(tf), Some(san)) = (&r.trust_framework, &r.san) {
        c.execute_typed(
            "DELETE FROM client_registration WHERE trust_framework = $1 AND san = $2 \
             AND client_id <> $3",
            &[
                (tf, Type::TEXT),
                (san, Type::TEXT),
                (&r.client_id, Type::TEXT),
            ],
        )?;
    }
    let params: [P<'_>; 8] = [
        (&r.client_id, Type::TEXT),
        (&r.kind, Type::TEXT),
        (&r.trust_framework, Type::TEXT),
        (&r.san, Type::TEXT),
        (&r.metadata, Type::TEXT),
        (&r.token_hash, Type::BYTEA),
        (&r.created_at, Type::INT8),
        (&r.updated_at, Type::INT8),
    ];
    c.execute_typed(
        &format!(
            "INSERT INTO client_registration ({REGISTRATION_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (client_id) DO UPDATE SET kind = EXCLUDED.kind, \
             trust_framework = EXCLUDED.trust_framework, san = EXCLUDED.san, \
             metadata = EXCLUDED.metadata, token_hash = EXCLUDED.token_hash, \
             created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at"
        ),
        &params,
    )?;
    Ok(())
}

/// Deletes `client_id`'s registration; whether one existed.
pub(crate) fn delete_registration(c: &mut Client, client_id: &str) -> Result<bool, PgError> {
    let n = c.execute_typed(
        "DELETE FROM client_registration WHERE client_id = $1",
        &[(&client_id, Type::TEXT)],
    )?;
    Ok(n > 0)
}

pub(crate) fn audit_from(row: &Row) -> Result<AuditRecord, PgError> {
    Ok(AuditRecord {
        id: row.try_get(0)?,
        at: row.try_get(1)?,
        event: row.try_get(2)?,
        outcome: row.try_get(3)?,
        step: row.try_get(4)?,
        error: row.try_get(5)?,
        error_description: row.try_get(6)?,
        jti: row.try_get(7)?,
        iss: row.try_get(8)?,
        ticket_type: row.try_get(9)?,
        client_id: row.try_get(10)?,
        requester: row.try_get(11)?,
        binding: row.try_get(12)?,
        patient: row.try_get(13)?,
        scopes: row.try_get(14)?,
        details: row.try_get(15)?,
    })
}

pub(crate) fn token_from(row: &Row) -> Result<TokenRecord, PgError> {
    Ok(TokenRecord {
        token_hash: row.try_get(0)?,
        client_id: row.try_get(1)?,
        grant_json: row.try_get(2)?,
        ticket_jti: row.try_get(3)?,
        ticket_iss: row.try_get(4)?,
        ticket_type: row.try_get(5)?,
        patient: row.try_get(6)?,
        scope: row.try_get(7)?,
        issued_at: row.try_get(8)?,
        expires_at: row.try_get(9)?,
        cnf_jkt: row.try_get(10)?,
    })
}

/// A refresh token from columns `token_hash, family_id, issued_at, expires_at, used_at`.
pub(crate) fn refresh_from(row: &Row) -> Result<RefreshRecord, PgError> {
    Ok(RefreshRecord {
        token_hash: row.try_get(0)?,
        family_id: row.try_get(1)?,
        issued_at: row.try_get(2)?,
        expires_at: row.try_get(3)?,
        used_at: row.try_get(4)?,
    })
}

/// A family from [`FAMILY_COLUMNS`] starting at column `at`.
pub(crate) fn family_from(row: &Row, at: usize) -> Result<RefreshFamily, PgError> {
    let index: i64 = row.try_get(at + 9)?;
    Ok(RefreshFamily {
        family_id: row.try_get(at)?,
        client_id: row.try_get(at + 1)?,
        grant_json: row.try_get(at + 2)?,
        ticket_jti: row.try_get(at + 3)?,
        ticket_iss: row.try_get(at + 4)?,
        ticket_type: row.try_get(at + 5)?,
        patient: row.try_get(at + 6)?,
        scope: row.try_get(at + 7)?,
        revocation_url: row.try_get(at + 8)?,
        revocation_index: u64::try_from(index)
            .map_err(|_| PgError::Corrupt(format!("negative revocation_index {index}")))?,
        refresh_until: row.try_get(at + 10)?,
        cnf_jkt: row.try_get(at + 11)?,
        created_at: row.try_get(at + 12)?,
        revoked_at: row.try_get(at + 13)?,
        revoked_reason: row.try_get(at + 14)?,
    })
}

pub(crate) fn registration_from(row: &Row) -> Result<ClientRegistration, PgError> {
    Ok(ClientRegistration {
        client_id: row.try_get(0)?,
        kind: row.try_get(1)?,
        trust_framework: row.try_get(2)?,
        san: row.try_get(3)?,
        metadata: row.try_get(4)?,
        token_hash: row.try_get(5)?,
        created_at: row.try_get(6)?,
        updated_at: row.try_get(7)?,
    })
}
