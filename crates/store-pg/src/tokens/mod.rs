//! [`PgTokenStore`]: the PostgreSQL [`tessera_store::durable::TokenStore`].

use std::sync::Arc;

use crate::pool::Pool;

/// The PostgreSQL token-endpoint store.
#[derive(Debug, Clone)]
pub struct PgTokenStore {
    pool: Arc<Pool>,
}

impl PgTokenStore {
    /// A store over `pool` (already migrated: [`crate::open`]).
    pub fn new(pool: Arc<Pool>) -> PgTokenStore {
        PgTokenStore { pool }
    }

    /// The pool.
    pub fn pool(&self) -> &Arc<Pool> {
        &self.pool
    }
}
