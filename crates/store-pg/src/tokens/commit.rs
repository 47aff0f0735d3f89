//! The durable write path: a batch of write sets is one transaction (`synchronous_commit`
//! pinned, so `Ok` means on disk) of a fixed number of round trips, whatever its size: the
//! batch's single-use keys are spent by one statement, its access tokens and its audit rows
//! are written by one more (`closing.rs`), and the chain head by a last one. Only the rare
//! parts (refresh rotations and families, revocations, registrations) are written row by row.
//!
//! Single-use keys go in with `INSERT … ON CONFLICT` under the primary key, in key order (two
//! nodes' batches take key locks in the same order, so they cannot deadlock on each other): a
//! key committed by another node is a conflict, one being inserted by another node's open
//! transaction makes this insert wait for that commit and then conflict, and one whose
//! `keep_until` has passed is taken over as if purged. The statement says which keys were
//! free; the sets are then decided in order, as if each had spent its keys alone: a set gets
//! its keys when every one was free and no earlier set of the batch took it. Keys inserted for
//! a set that was then refused are deleted again before COMMIT. A refresh rotation is
//! single-use by `used_at IS NULL` on its own row in the same transaction. The audit chain's
//! head is locked last, once nothing the batch still does can wait on another transaction
//! (`chain.rs`).

use std::sync::atomic::{AtomicI64, Ordering};

use postgres::Client;
use postgres::types::Type;
use tessera_store::audit::AuditRecord;
use tessera_store::durable::{REUSE_REASON, RegistrationChange, SetOutcome, WriteSet};
use tessera_store::tokens::TokenRecord;

use crate::error::PgError;
use crate::pool::Pool;

use super::chain;
use super::closing::Closing;
use super::durability::SyncCommit;
use super::rows;

/// Commits `sets` in one transaction (the contract of
/// [`tessera_store::durable::TokenStore::commit_batch`]). `purged` is the clock of the last
/// purge of expired rows: purging is housekeeping (an expired key is free whether or not its
/// row is still there), so it runs at most once per second of the batches' clock.
pub(crate) fn commit_batch(
    pool: &Pool,
    level: SyncCommit,
    purged: &AtomicI64,
    sets: &[WriteSet],
) -> Result<Vec<SetOutcome>, PgError> {
    if sets.is_empty() {
        return Ok(Vec::new());
    }
    // Nearly every batch writes an audit row; one that cannot (FHIR DPoP proofs only) leaves
    // the chain head alone and so never waits on other nodes' batches.
    let audits = sets.iter().any(|s| {
        !s.audit.is_empty()
            || s.rotation.is_some()
            || s.once.iter().any(|k| k.on_conflict.is_some())
    });
    // The earliest clock of the batch: a later one could forget or take over a key that an
    // earlier request still counts as live.
    let now = sets.iter().map(|s| s.now).min().unwrap_or_default();
    let purge_now = now > purged.load(Ordering::Relaxed);
    let keys = BatchKeys::of(sets);
    let outcomes = super::tx::durable(pool, level, |c| {
        if purge_now {
            purge(c, sets, now)?;
        }
        let mut keys = keys.clone();
        keys.spend(c, now)?;
        let mut written = Written::default();
        let outcomes = sets
            .iter()
            .map(|set| decide_set(c, &mut keys, &mut written, set))
            .collect::<Result<Vec<_>, _>>()?;
        keys.release_unclaimed(c)?;
        // The chain head is locked last, after every statement that can wait on another
        // transaction's rows (keys, rotations, registrations): the holder then only inserts
        // fresh rows and commits, so it never waits while holding the head, and the lock
        // spans the fewest statements.
        let mut chain = if audits { Some(chain::lock(c)?) } else { None };
        if chain.is_none() && !written.audit.is_empty() {
            return Err(PgError::Corrupt("audit row outside the chain".into()));
        }
        let columns = chain.as_mut().map(|ch| ch.append_all(&written.audit));
        let mut closing = Closing::default();
        closing.tokens(&written.tokens);
        if let Some(columns) = columns.as_ref().filter(|cols| !cols.is_empty()) {
            closing.audit(columns.params());
        }
        closing.run(c)?;
        if let Some(chain) = chain {
            chain.finish(c)?;
        }
        Ok(outcomes)
    })?;
    if purge_now {
        purged.fetch_max(now, Ordering::Relaxed);
    }
    Ok(outcomes)
}

/// Drops what has expired by `now`. `SKIP LOCKED`: rows another node is purging right now are
/// left to it, so purges never wait on each other or deadlock.
fn purge(c: &mut Client, sets: &[WriteSet], now: i64) -> Result<(), PgError> {
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

/// The distinct single-use keys of a batch, in key order, and what became of each.
#[derive(Clone)]
struct BatchKeys<'a> {
    /// `(namespace, key, keep_until)`; the longest `keep_until` of a key named twice.
    keys: Vec<(&'a str, &'a str, i64)>,
    /// Free when the batch began (inserted or taken over by the spending statement).
    free: Vec<bool>,
    /// Given to a set that commits.
    claimed: Vec<bool>,
}

impl<'a> BatchKeys<'a> {
    fn of(sets: &'a [WriteSet]) -> BatchKeys<'a> {
        let mut keys: Vec<(&str, &str, i64)> = sets
            .iter()
            .flat_map(|s| &s.once)
            .map(|k| (k.namespace.as_str(), k.key.as_str(), k.keep_until))
            .collect();
        keys.sort_unstable();
        // Sorted by keep_until within a key: the last of each run is the longest.
        keys.reverse();
        keys.dedup_by(|later, kept| later.0 == kept.0 && later.1 == kept.1);
        keys.reverse();
        let n = keys.len();
        BatchKeys {
            keys,
            free: vec![false; n],
            claimed: vec![false; n],
        }
    }

    fn index(&self, namespace: &str, key: &str) -> Option<usize> {
        self.keys
            .binary_search_by(|(n, k, _)| (*n, *k).cmp(&(namespace, key)))
            .ok()
    }

    /// Inserts every key (or takes over an expired row) and marks the ones that were free.
    fn spend(&mut self, c: &mut Client, now: i64) -> Result<(), PgError> {
        if self.keys.is_empty() {
            return Ok(());
        }
        let namespaces: Vec<&str> = self.keys.iter().map(|k| k.0).collect();
        let values: Vec<&str> = self.keys.iter().map(|k| k.1).collect();
        let keep: Vec<i64> = self.keys.iter().map(|k| k.2).collect();
        let rows = c.query_typed(
            "INSERT INTO assertion_jti (client_id, jti, keep_until) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::int8[]) \
             ON CONFLICT (client_id, jti) DO UPDATE SET keep_until = EXCLUDED.keep_until \
             WHERE assertion_jti.keep_until < $4 \
             RETURNING client_id, jti",
            &[
                (&namespaces, Type::TEXT_ARRAY),
                (&values, Type::TEXT_ARRAY),
                (&keep, Type::INT8_ARRAY),
                (&now, Type::INT8),
            ],
        )?;
        for row in rows {
            let (namespace, key): (&str, &str) = (row.try_get(0)?, row.try_get(1)?);
            let i = self
                .index(namespace, key)
                .ok_or_else(|| PgError::Corrupt("a spent key the batch did not hold".into()))?;
            self.free[i] = true;
        }
        Ok(())
    }

    /// Deletes the keys inserted for sets that were refused after all.
    fn release_unclaimed(&self, c: &mut Client) -> Result<(), PgError> {
        let (namespaces, values): (Vec<&str>, Vec<&str>) = self
            .keys
            .iter()
            .zip(self.free.iter().zip(&self.claimed))
            .filter(|(_, (free, claimed))| **free && !**claimed)
            .map(|(k, _)| (k.0, k.1))
            .unzip();
        if namespaces.is_empty() {
            return Ok(());
        }
        c.execute_typed(
            "DELETE FROM assertion_jti WHERE (client_id, jti) IN \
             (SELECT * FROM unnest($1::text[], $2::text[]))",
            &[(&namespaces, Type::TEXT_ARRAY), (&values, Type::TEXT_ARRAY)],
        )?;
        Ok(())
    }
}

/// The rows the committed sets leave to the batch's closing statements, in set order.
#[derive(Default)]
struct Written<'a> {
    tokens: Vec<&'a TokenRecord>,
    audit: Vec<&'a AuditRecord>,
}

/// Decides one set, in batch order, and writes its rare parts. Audit rows are queued only
/// after every check of the set passed, or on its refusal path, so a refused set leaves
/// nothing but its refusal row (and, for a reused refresh token, the family's revocation).
fn decide_set<'a>(
    c: &mut Client,
    keys: &mut BatchKeys<'_>,
    written: &mut Written<'a>,
    set: &'a WriteSet,
) -> Result<SetOutcome, PgError> {
    let mut mine = Vec::with_capacity(set.once.len());
    for (i, k) in set.once.iter().enumerate() {
        let at = keys
            .index(&k.namespace, &k.key)
            .ok_or_else(|| PgError::Corrupt("a key missing from its batch".into()))?;
        // Spent before the batch, by an earlier set of it, or earlier in this very set.
        if !keys.free[at] || keys.claimed[at] || mine.contains(&at) {
            if let Some(rec) = &k.on_conflict {
                written.audit.push(rec);
            }
            return Ok(SetOutcome::Conflict(i));
        }
        mine.push(at);
    }
    if let Some(r) = &set.rotation {
        if !rows::mark_used(c, &r.old_hash, set.now)? {
            // Used by an earlier transaction, another node, or an earlier set of this batch.
            rows::revoke_family(c, &r.next.family_id, set.now, REUSE_REASON)?;
            written.audit.push(&r.on_reuse);
            return Ok(SetOutcome::RefreshReused);
        }
        rows::insert_refresh(c, &r.next)?;
    }
    for at in mine {
        keys.claimed[at] = true;
    }
    written.tokens.extend(&set.tokens);
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
    written.audit.extend(&set.audit);
    Ok(SetOutcome::Committed)
}
