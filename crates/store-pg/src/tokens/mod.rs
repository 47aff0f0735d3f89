//! [`PgTokenStore`]: the PostgreSQL [`tessera_store::durable::TokenStore`] and
//! [`tessera_store::registrations::RegistrationStore`], shared by every node on the database.
//!
//! `commit.rs` is the durable write path (one transaction per batch, single-use keys by
//! primary key), `reads.rs` the lookups beside it, `rows.rs` the row ⇄ record mapping,
//! `registrations.rs` the registered clients, `durability.rs` the refusal to run on a server
//! that acknowledges commits before they are durable.

mod chain;
mod closing;
mod commit;
mod durability;
mod reads;
mod registrations;
mod rows;
mod tx;

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use tessera_store::audit::AuditRecord;
use tessera_store::durable::{SetOutcome, TokenStore, WriteSet};
use tessera_store::refresh::{RefreshFamily, RefreshRecord};
use tessera_store::token_db::TokenDbError;
use tessera_store::tokens::TokenRecord;

use crate::blocking::run;
use crate::error::PgError;
use crate::pool::Pool;

pub use durability::SyncCommit;

/// The PostgreSQL token-endpoint store.
#[derive(Debug, Clone)]
pub struct PgTokenStore {
    pool: Arc<Pool>,
    /// The commit level verified at open; every batch pins it (`SET LOCAL`), so a later change
    /// of the session or role default cannot make a batch answer before it is durable.
    sync_commit: SyncCommit,
    /// The batch clock of this node's last purge of expired rows (`commit.rs`).
    purged: Arc<AtomicI64>,
}

impl PgTokenStore {
    /// A store over `pool` (already migrated: [`crate::open`]), after checking that the server
    /// makes commits durable (`fsync` on, `synchronous_commit` not `off`).
    pub fn open(pool: Arc<Pool>) -> Result<PgTokenStore, PgError> {
        let sync_commit = durability::check(&mut *pool.get()?)?;
        Ok(PgTokenStore {
            pool,
            sync_commit,
            purged: Arc::new(AtomicI64::new(i64::MIN)),
        })
    }

    /// Makes the audit chain ready to append (after migrating): chains the rows from before
    /// the chain once and creates its head.
    pub fn prepare_chain(&self) -> Result<(), PgError> {
        chain::prepare(&self.pool, self.sync_commit)
    }

    /// The pool.
    pub fn pool(&self) -> &Arc<Pool> {
        &self.pool
    }
}

impl TokenStore for PgTokenStore {
    fn commit_batch(&self, sets: &[WriteSet]) -> Result<Vec<SetOutcome>, TokenDbError> {
        run(|| commit::commit_batch(&self.pool, self.sync_commit, &self.purged, sets))
            .map_err(Into::into)
    }

    fn is_spent(&self, namespace: &str, key: &str, now: i64) -> Result<bool, TokenDbError> {
        run(|| reads::is_spent(&self.pool, namespace, key, now)).map_err(Into::into)
    }

    fn pool_use(&self) -> Option<tessera_store::PoolUse> {
        Some(self.pool.usage())
    }

    fn ready(&self) -> Result<(), TokenDbError> {
        run(|| reads::ready(&self.pool)).map_err(Into::into)
    }

    fn find_token(&self, hash: &[u8], now: i64) -> Result<Option<TokenRecord>, TokenDbError> {
        run(|| reads::find_token(&self.pool, hash, now)).map_err(Into::into)
    }

    fn find_refresh(
        &self,
        hash: &[u8],
    ) -> Result<Option<(RefreshRecord, RefreshFamily)>, TokenDbError> {
        run(|| reads::find_refresh(&self.pool, hash)).map_err(Into::into)
    }

    fn refresh_family(&self, family_id: &str) -> Result<Option<RefreshFamily>, TokenDbError> {
        run(|| reads::refresh_family(&self.pool, family_id)).map_err(Into::into)
    }

    fn audit_by_jti(&self, jti: &str) -> Result<Vec<AuditRecord>, TokenDbError> {
        run(|| reads::audit(&self.pool, Some(jti))).map_err(Into::into)
    }

    fn audit_recent(&self) -> Result<Vec<AuditRecord>, TokenDbError> {
        run(|| reads::audit(&self.pool, None)).map_err(Into::into)
    }
}
