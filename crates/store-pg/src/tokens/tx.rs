//! One durable transaction on a pooled connection, retried when PostgreSQL itself rolled it
//! back for a reason that a second attempt resolves.
//!
//! Retried: a deadlock (two nodes' batches spending the same keys in opposite orders wait on
//! each other until the server aborts one), a serialization failure, two nodes registering the
//! same UDAP SAN at once (the loser's "replace any other row of this SAN" ran before the
//! winner's row was visible), and a connection found dead before COMMIT was sent (the server
//! rolls back a transaction whose connection dies). Each of these means the transaction wrote
//! nothing, so a retry cannot double anything. Never retried: a connection lost during COMMIT
//! (the outcome is unknown, so the caller gets an error and answers nobody with success).

use postgres::Client;
use postgres::error::SqlState;

use crate::error::PgError;
use crate::pool::Pool;

use super::durability::SyncCommit;

/// Attempts per transaction.
const ATTEMPTS: usize = 3;

/// Runs `body` between `BEGIN` and `COMMIT` with `synchronous_commit` pinned to `level`.
/// `Ok` only after COMMIT returned, i.e. once the transaction is durable.
pub(crate) fn durable<T>(
    pool: &Pool,
    level: SyncCommit,
    mut body: impl FnMut(&mut Client) -> Result<T, PgError>,
) -> Result<T, PgError> {
    let mut attempt = 1;
    loop {
        let mut client = pool.get()?;
        let mut commit_sent = false;
        let result = run(&mut client, level, &mut body, &mut commit_sent);
        match result {
            Ok(v) => return Ok(v),
            Err(e) => {
                if !client.is_closed() && !commit_sent {
                    // Leaves the connection usable for the pool; if even this fails the
                    // connection is broken and the pool drops it.
                    let _ = client.batch_execute("ROLLBACK");
                }
                let closed = client.is_closed();
                drop(client);
                if attempt < ATTEMPTS && retryable(&e, closed, commit_sent) {
                    tracing::warn!(attempt, error = %e, "retrying a rolled-back transaction");
                    attempt += 1;
                    continue;
                }
                return Err(e);
            }
        }
    }
}

fn run<T>(
    client: &mut Client,
    level: SyncCommit,
    body: &mut impl FnMut(&mut Client) -> Result<T, PgError>,
    commit_sent: &mut bool,
) -> Result<T, PgError> {
    client.batch_execute(&format!("BEGIN; {}", level.set_local()))?;
    let v = body(client)?;
    *commit_sent = true;
    client.batch_execute("COMMIT")?;
    Ok(v)
}

fn retryable(e: &PgError, closed: bool, commit_sent: bool) -> bool {
    let PgError::Query(e) = e else {
        return false;
    };
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        return *code == SqlState::T_R_DEADLOCK_DETECTED
            || *code == SqlState::T_R_SERIALIZATION_FAILURE
            || (*code == SqlState::UNIQUE_VIOLATION
                && db.constraint() == Some("client_registration_san"));
    }
    closed && !commit_sent
}
