//! How much of a backend's connection pool is in use, for the metrics a node exports
//! (`/metrics`); a backend without a pool (SQLite's fixed connections) reports none.

/// A connection pool's state at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// Connections open, idle or checked out.
    pub open: usize,
    /// Connections checked out now.
    pub in_use: usize,
    /// The most the pool will open.
    pub max: usize,
}
