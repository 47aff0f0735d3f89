//! SQLite implementation of the durable write contract ([`TokenStore`]): a batch is one
//! `BEGIN IMMEDIATE … COMMIT` on the writer connection (`synchronous=FULL`, so one fsync per
//! batch), each write set inside its own `SAVEPOINT`. A single-use key goes in through the
//! `(client_id, jti)` primary key: a constraint violation there rolls back that set alone. A
//! refresh rotation is single-use through `used_at IS NULL` on the token's own row, decided by
//! the same transaction.

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};

use crate::audit::{AuditRecord, insert_audit};
use crate::durable::{REUSE_REASON, RegistrationChange, SetOutcome, TokenStore, WriteSet};
use crate::refresh::{
    RefreshFamily, RefreshRecord, insert_refresh_family_row, insert_refresh_row, mark_used,
    purge_refresh, revoke_family,
};
use crate::registrations::{delete_registration_row, put_registration_row};
use crate::token_db::{TokenDb, TokenDbError};
use crate::tokens::{TokenRecord, insert_token_row};

impl TokenStore for TokenDb {
    fn commit_batch(&self, sets: &[WriteSet]) -> Result<Vec<SetOutcome>, TokenDbError> {
        if sets.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // The earliest clock of the batch: purging by a later one could forget a key that an
        // earlier request still counts as live.
        let now = sets.iter().map(|s| s.now).min().unwrap_or_default();
        if sets.iter().any(|s| !s.once.is_empty()) {
            tx.prepare_cached("DELETE FROM assertion_jti WHERE keep_until < ?1")?
                .execute(params![now])?;
        }
        if sets.iter().any(|s| !s.tokens.is_empty()) {
            tx.prepare_cached("DELETE FROM access_token WHERE expires_at <= ?1")?
                .execute(params![now])?;
        }
        if sets.iter().any(|s| !s.refresh_families.is_empty()) {
            purge_refresh(&tx, now)?;
        }
        let mut outcomes = Vec::with_capacity(sets.len());
        for set in sets {
            outcomes.push(commit_set(&tx, set)?);
        }
        // Dropping `tx` on an error above rolls the whole batch back.
        tx.commit()?;
        Ok(outcomes)
    }

    fn is_spent(&self, namespace: &str, key: &str, now: i64) -> Result<bool, TokenDbError> {
        let conn = self.read_conn();
        let mut stmt = conn.prepare_cached(
            "SELECT 1 FROM assertion_jti WHERE client_id = ?1 AND jti = ?2 AND keep_until >= ?3",
        )?;
        Ok(stmt
            .query_row(params![namespace, key, now], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn find_token(&self, hash: &[u8], now: i64) -> Result<Option<TokenRecord>, TokenDbError> {
        TokenDb::find_token(self, hash, now)
    }

    fn find_refresh(
        &self,
        hash: &[u8],
    ) -> Result<Option<(RefreshRecord, RefreshFamily)>, TokenDbError> {
        TokenDb::find_refresh(self, hash)
    }

    fn refresh_family(&self, family_id: &str) -> Result<Option<RefreshFamily>, TokenDbError> {
        TokenDb::refresh_family(self, family_id)
    }

    fn audit_by_jti(&self, jti: &str) -> Result<Vec<AuditRecord>, TokenDbError> {
        TokenDb::audit_by_jti(self, jti)
    }

    fn audit_recent(&self) -> Result<Vec<AuditRecord>, TokenDbError> {
        TokenDb::audit_recent(self)
    }

    fn ready(&self) -> Result<(), TokenDbError> {
        self.read_conn().query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }
}

/// One set inside the batch transaction.
fn commit_set(conn: &Connection, set: &WriteSet) -> Result<SetOutcome, TokenDbError> {
    conn.execute_batch("SAVEPOINT write_set")?;
    let mut conflict = None;
    for (i, k) in set.once.iter().enumerate() {
        let inserted = conn
            .prepare_cached(
                "INSERT INTO assertion_jti (client_id, jti, keep_until) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![k.namespace, k.key, k.keep_until]);
        match inserted {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == ErrorCode::ConstraintViolation =>
            {
                conflict = Some(i);
                break;
            }
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(i) = conflict {
        conn.execute_batch("ROLLBACK TO write_set; RELEASE write_set")?;
        if let Some(rec) = set.once.get(i).and_then(|k| k.on_conflict.as_ref()) {
            insert_audit(conn, rec)?;
        }
        return Ok(SetOutcome::Conflict(i));
    }
    if let Some(r) = &set.rotation
        && !mark_used(conn, &r.old_hash, set.now)?
    {
        // Used by an earlier transaction, another process, or an earlier set of this batch.
        conn.execute_batch("ROLLBACK TO write_set")?;
        revoke_family(conn, &r.next.family_id, set.now, REUSE_REASON)?;
        insert_audit(conn, &r.on_reuse)?;
        conn.execute_batch("RELEASE write_set")?;
        return Ok(SetOutcome::RefreshReused);
    }
    if let Some(r) = &set.rotation {
        insert_refresh_row(conn, &r.next)?;
    }
    for t in &set.tokens {
        insert_token_row(conn, t)?;
    }
    for (family, first) in &set.refresh_families {
        insert_refresh_family_row(conn, family)?;
        insert_refresh_row(conn, first)?;
    }
    for r in &set.revocations {
        revoke_family(conn, &r.family_id, set.now, &r.reason)?;
    }
    for c in &set.registrations {
        match c {
            RegistrationChange::Put(r) => put_registration_row(conn, r)?,
            RegistrationChange::Delete(id) => delete_registration_row(conn, id).map(|_| ())?,
        }
    }
    for a in &set.audit {
        insert_audit(conn, a)?;
    }
    conn.execute_batch("RELEASE write_set")?;
    Ok(SetOutcome::Committed)
}
