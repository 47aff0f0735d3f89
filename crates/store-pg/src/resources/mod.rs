//! [`PgStore`]: the PostgreSQL [`tessera_store::ResourceStore`].

use std::sync::Arc;

use crate::pool::Pool;

/// The PostgreSQL resource store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: Arc<Pool>,
}

impl PgStore {
    /// A store over `pool` (already migrated: [`crate::open`]).
    pub fn new(pool: Arc<Pool>) -> PgStore {
        PgStore { pool }
    }

    /// The pool.
    pub fn pool(&self) -> &Arc<Pool> {
        &self.pool
    }
}
