//! The durability precondition: a node refuses to open the token store when the server would
//! acknowledge a commit before it is on disk, because every token-endpoint answer promises a
//! durable row (docs/design/002-durable-writes.md).

use postgres::Client;

use crate::error::PgError;

/// A durable `synchronous_commit` level (never `off`), pinned on every batch transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncCommit {
    /// `local`: wait for the local WAL flush.
    Local,
    /// `on`: local flush, and standby flush when synchronous standbys are configured.
    On,
    /// `remote_write`: local flush, standby received and written.
    RemoteWrite,
    /// `remote_apply`: local flush, standby applied.
    RemoteApply,
}

impl SyncCommit {
    /// The `SET LOCAL` that opens every batch transaction.
    pub(crate) fn set_local(self) -> &'static str {
        match self {
            SyncCommit::Local => "SET LOCAL synchronous_commit = local",
            SyncCommit::On => "SET LOCAL synchronous_commit = on",
            SyncCommit::RemoteWrite => "SET LOCAL synchronous_commit = remote_write",
            SyncCommit::RemoteApply => "SET LOCAL synchronous_commit = remote_apply",
        }
    }
}

/// Reads `fsync` and `synchronous_commit` as this session sees them (server file, `ALTER
/// SYSTEM`, role and database defaults and the URL's `options` all included).
pub(crate) fn check(client: &mut Client) -> Result<SyncCommit, PgError> {
    let row = client.query_one(
        "SELECT current_setting('fsync'), current_setting('synchronous_commit')",
        &[],
    )?;
    let fsync: String = row.try_get(0)?;
    let level: String = row.try_get(1)?;
    if fsync != "on" {
        return Err(PgError::NotDurable(format!(
            "the server runs with fsync = {fsync}"
        )));
    }
    match level.as_str() {
        "local" => Ok(SyncCommit::Local),
        "on" => Ok(SyncCommit::On),
        "remote_write" => Ok(SyncCommit::RemoteWrite),
        "remote_apply" => Ok(SyncCommit::RemoteApply),
        other => Err(PgError::NotDurable(format!("synchronous_commit = {other}"))),
    }
}
