//! [`PgIssuerStore`]: the ticket issuer's records on PostgreSQL
//! ([`tessera_issuer::IssuerStore`]; migration `V3__issuer.sql`), so several issuer processes
//! can share one database.
//!
//! Index allocation on a status list is serialized per list by a transaction-scoped advisory
//! lock: two issuers choosing at once would otherwise both pick a free index and one would
//! fail on the unique constraint instead of picking another. Replay of a client assertion is
//! the primary key's `ON CONFLICT DO NOTHING`, which waits for a concurrent inserter of the
//! same key to finish and then reports it spent. Commits are synchronous (the server's
//! `synchronous_commit` is left on), so an answer follows durability.

use std::sync::Arc;

use postgres::GenericClient;
use serde_json::Value;
use tessera_issuer::{DbError, IssuanceRecord, IssueError, IssuerStore, MintFn, RefusalRecord};

use crate::error::PgError;
use crate::pool::{Pool, PoolOptions};

/// First key of the advisory lock that serializes index allocation (the second is the list
/// name's hash). Any constant; "TI" for "Tessera issuer".
const INDEX_LOCK: i32 = 0x5449;

/// Random probes before scanning for the first gap (as the SQLite backend).
const PROBES: usize = 32;

/// The issuer's PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgIssuerStore {
    pool: Arc<Pool>,
}

/// Connects to `url`, brings the schema up to date (or refuses a newer one) and returns the
/// issuer's store.
pub fn open(url: &str, options: PoolOptions) -> Result<PgIssuerStore, PgError> {
    let pool = Arc::new(Pool::connect(url, options)?);
    crate::migrate::run(&pool)?;
    Ok(PgIssuerStore::new(pool))
}

impl PgIssuerStore {
    /// A store over `pool` (already migrated).
    pub fn new(pool: Arc<Pool>) -> PgIssuerStore {
        PgIssuerStore { pool }
    }
}

impl From<PgError> for DbError {
    fn from(e: PgError) -> Self {
        DbError(e.to_string())
    }
}

fn db(e: postgres::Error) -> DbError {
    DbError::from(PgError::from(e))
}

impl IssuerStore for PgIssuerStore {
    fn issue(
        &self,
        list: &str,
        size: u64,
        random: &mut dyn FnMut() -> u64,
        mint: MintFn<'_>,
    ) -> Result<Option<(IssuanceRecord, String)>, IssueError> {
        let mut client = self.pool.get().map_err(DbError::from)?;
        let mut tx = client.transaction().map_err(db)?;
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&INDEX_LOCK, &list],
        )
        .map_err(db)?;
        let Some(index) = free_index(&mut tx, list, size, random)? else {
            return Ok(None);
        };
        // Dropping `tx` on a failed mint rolls back: nothing stored, the index not consumed.
        let (record, token) = mint(index)?;
        let claims = record.claims.to_string();
        let verification = record.verification.as_ref().map(Value::to_string);
        tx.execute(
            "INSERT INTO issuer_issuance (jti, ticket_type, subject, requester, requested_by,
                issued_at, expires_at, kid, status_list, status_index, status_url, claims,
                verification)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            &[
                &record.jti,
                &record.ticket_type,
                &record.subject,
                &record.requester,
                &record.requested_by,
                &record.issued_at,
                &record.expires_at,
                &record.kid,
                &record.status_list,
                &to_sql_index(record.status_index),
                &record.status_url,
                &claims,
                &verification,
            ],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(Some((record, token)))
    }

    fn ready(&self) -> Result<(), DbError> {
        let mut client = self.pool.get()?;
        if crate::migrate::is_current(&mut client)? {
            Ok(())
        } else {
            Err(DbError(
                "the database schema is not this binary's version".into(),
            ))
        }
    }

    fn get(&self, jti: &str) -> Result<Option<IssuanceRecord>, DbError> {
        let mut client = self.pool.get()?;
        let row = client
            .query_opt(
                "SELECT jti, ticket_type, subject, requester, requested_by, issued_at, expires_at,
                    kid, status_list, status_index, status_url, revoked_at, revoked_by, claims,
                    verification
                 FROM issuer_issuance WHERE jti = $1",
                &[&jti],
            )
            .map_err(db)?;
        let Some(r) = row else {
            return Ok(None);
        };
        let claims: String = r.try_get(13).map_err(db)?;
        let verification: Option<String> = r.try_get(14).map_err(db)?;
        let index: i64 = r.try_get(9).map_err(db)?;
        Ok(Some(IssuanceRecord {
            jti: r.try_get(0).map_err(db)?,
            ticket_type: r.try_get(1).map_err(db)?,
            subject: r.try_get(2).map_err(db)?,
            requester: r.try_get(3).map_err(db)?,
            requested_by: r.try_get(4).map_err(db)?,
            issued_at: r.try_get(5).map_err(db)?,
            expires_at: r.try_get(6).map_err(db)?,
            kid: r.try_get(7).map_err(db)?,
            status_list: r.try_get(8).map_err(db)?,
            status_index: u64::try_from(index).unwrap_or_default(),
            status_url: r.try_get(10).map_err(db)?,
            revoked_at: r.try_get(11).map_err(db)?,
            revoked_by: r.try_get(12).map_err(db)?,
            claims: serde_json::from_str(&claims).unwrap_or(Value::Null),
            verification: verification.and_then(|v| serde_json::from_str(&v).ok()),
            revocation_management: None,
        }))
    }

    fn revoke(&self, jti: &str, by: &str, now: i64) -> Result<bool, DbError> {
        let mut client = self.pool.get()?;
        // One statement: the row is locked by the update, and `exists` comes from the same
        // snapshot, so a concurrent revocation keeps the first time and author.
        let row = client
            .query_one(
                "WITH updated AS (
                    UPDATE issuer_issuance SET revoked_at = $2, revoked_by = $3
                    WHERE jti = $1 AND revoked_at IS NULL RETURNING 1)
                 SELECT EXISTS (SELECT 1 FROM issuer_issuance WHERE jti = $1)
                     OR EXISTS (SELECT 1 FROM updated)",
                &[&jti, &now, &by],
            )
            .map_err(db)?;
        row.try_get(0).map_err(db)
    }

    fn revoked_indexes(&self, list: &str) -> Result<Vec<u64>, DbError> {
        let mut client = self.pool.get()?;
        let rows = client
            .query(
                "SELECT status_index FROM issuer_issuance
                 WHERE status_list = $1 AND revoked_at IS NOT NULL",
                &[&list],
            )
            .map_err(db)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let index: i64 = r.try_get(0).map_err(db)?;
            out.extend(u64::try_from(index).ok());
        }
        Ok(out)
    }

    fn has_unexpired(&self, kid: &str, now: i64) -> Result<bool, DbError> {
        let mut client = self.pool.get()?;
        let row = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM issuer_issuance WHERE kid = $1 AND expires_at > $2)",
                &[&kid, &now],
            )
            .map_err(db)?;
        row.try_get(0).map_err(db)
    }

    fn record_assertion(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, DbError> {
        let mut client = self.pool.get()?;
        let mut tx = client.transaction().map_err(db)?;
        tx.execute(
            "DELETE FROM issuer_assertion_jti WHERE expires_at <= $1",
            &[&now],
        )
        .map_err(db)?;
        let inserted = tx
            .execute(
                "INSERT INTO issuer_assertion_jti (client_id, jti, expires_at) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&client_id, &jti, &expires_at],
            )
            .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(inserted == 1)
    }

    fn record_refusal(&self, r: &RefusalRecord) -> Result<(), DbError> {
        let mut client = self.pool.get()?;
        client
            .execute(
                "INSERT INTO issuer_refusal (at, endpoint, client_id, claimed_client_id, status,
                    error, error_description, ticket_type, jti)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &r.at,
                    &r.endpoint,
                    &r.client_id,
                    &r.claimed_client_id,
                    &i32::from(r.status),
                    &r.error,
                    &r.error_description,
                    &r.ticket_type,
                    &r.jti,
                ],
            )
            .map_err(db)?;
        Ok(())
    }

    fn refusals(&self, limit: usize) -> Result<Vec<RefusalRecord>, DbError> {
        let mut client = self.pool.get()?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(
                "SELECT id, at, endpoint, client_id, claimed_client_id, status, error,
                    error_description, ticket_type, jti
                 FROM (SELECT * FROM issuer_refusal ORDER BY id DESC LIMIT $1) latest
                 ORDER BY id",
                &[&limit],
            )
            .map_err(db)?;
        rows.iter()
            .map(|r| {
                let status: i32 = r.try_get(5).map_err(db)?;
                Ok(RefusalRecord {
                    id: r.try_get(0).map_err(db)?,
                    at: r.try_get(1).map_err(db)?,
                    endpoint: r.try_get(2).map_err(db)?,
                    client_id: r.try_get(3).map_err(db)?,
                    claimed_client_id: r.try_get(4).map_err(db)?,
                    status: u16::try_from(status)
                        .map_err(|_| DbError(format!("issuer_refusal: status {status}")))?,
                    error: r.try_get(6).map_err(db)?,
                    error_description: r.try_get(7).map_err(db)?,
                    ticket_type: r.try_get(8).map_err(db)?,
                    jti: r.try_get(9).map_err(db)?,
                })
            })
            .collect()
    }
}

fn to_sql_index(index: u64) -> i64 {
    // Indexes are below the largest list size (2^24), far inside i64.
    i64::try_from(index).unwrap_or(i64::MAX)
}

/// A random unused index on `list` (the SQLite backend's algorithm): a few random probes,
/// then the first gap once the list is so full that probes keep colliding. `None` when every
/// index is taken. Runs under the list's advisory lock.
fn free_index(
    tx: &mut impl GenericClient,
    list: &str,
    size: u64,
    random: &mut dyn FnMut() -> u64,
) -> Result<Option<u64>, DbError> {
    let used: i64 = tx
        .query_one(
            "SELECT COUNT(*) FROM issuer_issuance WHERE status_list = $1",
            &[&list],
        )
        .map_err(db)?
        .try_get(0)
        .map_err(db)?;
    if u64::try_from(used).unwrap_or(u64::MAX) >= size {
        return Ok(None);
    }
    for _ in 0..PROBES {
        let candidate = random() % size;
        let taken: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM issuer_issuance
                                WHERE status_list = $1 AND status_index = $2)",
                &[&list, &to_sql_index(candidate)],
            )
            .map_err(db)?
            .try_get(0)
            .map_err(db)?;
        if !taken {
            return Ok(Some(candidate));
        }
    }
    // The first index not followed by its successor: the gap after the lowest run (or 0).
    let row = tx
        .query_one(
            "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM issuer_issuance
                                          WHERE status_list = $1 AND status_index = 0)
                         THEN 0
                         ELSE (SELECT MIN(a.status_index) + 1 FROM issuer_issuance a
                               WHERE a.status_list = $1 AND NOT EXISTS (
                                   SELECT 1 FROM issuer_issuance b
                                   WHERE b.status_list = $1
                                     AND b.status_index = a.status_index + 1))
                    END",
            &[&list],
        )
        .map_err(db)?;
    let first: Option<i64> = row.try_get(0).map_err(db)?;
    Ok(first
        .and_then(|i| u64::try_from(i).ok())
        .filter(|&i| i < size))
}
