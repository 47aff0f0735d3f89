//! The durable write path: a batch of write sets is one transaction (`synchronous_commit`
//! pinned, so `Ok` means on disk), each set isolated by a savepoint when it has anything to
//! undo. Single-use keys go in with `INSERT … ON CONFLICT DO NOTHING` under the primary key:
//! a key committed by another node is seen as a conflict, one being inserted by another node's
//! open transaction makes this insert wait for that commit and then conflict, and one inserted
//! by an earlier set of this batch is already in this transaction. A refresh rotation is
//! single-use by `used_at IS NULL` on its own row in the same transaction.

use postgres::Client;
use postgres::types::Type;
use tessera_store::durable::{REUSE_REASON, RegistrationChange, SetOutcome, WriteSet};

use crate::error::PgError;
use crate::pool::Pool;

use super::durability::SyncCommit;
use super::rows;

/// Commits `sets` in one transaction (the contract of
/// [`tessera_store::durable::TokenStore::commit_batch`]).
pub(crate) fn commit_batch(
    pool: &Pool,
    level: SyncCommit,
    sets: &[WriteSet],
) -> Result<Vec<SetOutcome>, PgError> {
    if sets.is_empty() {
        return Ok(Vec::new());
    }
    super::tx::durable(pool, level, |c| {
        purge(c, sets)?;
        sets.iter().map(|set| commit_set(c, set)).collect()
    })
}

/// Drops what has expired, by the earliest clock of the batch (a later one could forget a key
/// that an earlier request still counts as live). `SKIP LOCKED`: rows another node is purging
/// right now are left to it, so purges never wait on each other or deadlock.
fn purge(c: &mut Client, sets: &[WriteSet]) -> Result<(), PgError> {
    let now = sets.iter().map(|s| s.now).min().unwrap_or_default();
    if sets.iter().any(|s| !s.once.is_empty()) {
        c.execute_typed(
            "DELETE FROM assertion_jti WHERE (client_id, jti) IN (SELECT client_id, jti \
             FROM assertion_jti WHERE keep_until < $1 FOR UPDATE SKIP LOCKED)",
            &[(&now, Type::INT8)],
        )?;
    }
    if sets.iter().any(|s| !s.tokens.is_empty()) {
        c.execute_typed(
            "DELETE FROM access_token WHERE token_hash IN (SELECT token_hash FROM access_token \
             WHERE expires_at <= $1 FOR UPDATE SKIP LOCKED)",
            &[(&now, Type::INT8)],
        )?;
    }
    if sets.iter().any(|s| !s.refresh_families.is_empty()) {
        c.execute_typed(
            "DELETE FROM refresh_token WHERE token_hash IN (SELECT token_hash FROM refresh_token \
             WHERE expires_at <= $1 FOR UPDATE SKIP LOCKED)",
            &[(&now, Type::INT8)],
        )?;
        c.batch_execute(
            "DELETE FROM refresh_family WHERE family_id IN (SELECT family_id FROM refresh_family f \
             WHERE NOT EXISTS (SELECT 1 FROM refresh_token t WHERE t.family_id = f.family_id) \
             FOR UPDATE SKIP LOCKED)",
        )?;
    }
    Ok(())
}

/// One set inside the batch transaction.
fn commit_set(c: &mut Client, set: &WriteSet) -> Result<SetOutcome, PgError> {
    // A set can be refused at each key and at the rotation. Refused at the first of these,
    // it has written nothing yet; only with two or more is there something to undo, and only
    // then is the savepoint worth its two round trips.
    let checks = set.once.len() + usize::from(set.rotation.is_some());
    let savepoint = checks >= 2;
    if savepoint {
        c.batch_execute("SAVEPOINT write_set")?;
    }
    for (i, k) in set.once.iter().enumerate() {
        if !rows::spend_key(c, &k.namespace, &k.key, k.keep_until)? {
            if savepoint {
                c.batch_execute("ROLLBACK TO SAVEPOINT write_set; RELEASE SAVEPOINT write_set")?;
            }
            if let Some(rec) = &k.on_conflict {
                rows::insert_audit(c, rec)?;
            }
            return Ok(SetOutcome::Conflict(i));
        }
    }
    if let Some(r) = &set.rotation {
        if !rows::mark_used(c, &r.old_hash, set.now)? {
            // Used by an earlier transaction, another node, or an earlier set of this batch.
            if savepoint {
                c.batch_execute("ROLLBACK TO SAVEPOINT write_set; RELEASE SAVEPOINT write_set")?;
            }
            rows::revoke_family(c, &r.next.family_id, set.now, REUSE_REASON)?;
            rows::insert_audit(c, &r.on_reuse)?;
            return Ok(SetOutcome::RefreshReused);
        }
        rows::insert_refresh(c, &r.next)?;
    }
    for t in &set.tokens {
        rows::insert_token(c, t)?;
    }
    for (family, first) in &set.refresh_families {
        rows::insert_family(c, family)?;
        rows::insert_refresh(c, first)?;
    }
    for r in &set.revocations {
        rows::revoke_family(c, &r.family_id, set.now, &r.reason)?;
    }
    for change in &set.registrations {
        match change {
            RegistrationChange::Put(r) => rows::put_registration(c, r)?,
            RegistrationChange::Delete(id) => rows::delete_registration(c, id).map(|_| ())?,
        }
    }
    for a in &set.audit {
        rows::insert_audit(c, a)?;
    }
    if savepoint {
        c.batch_execute("RELEASE SAVEPOINT write_set")?;
    }
    Ok(SetOutcome::Committed)
}
