//! Schema migrations (refinery, `migrations/V{n}__{name}.sql`, each applied in its own
//! transaction and recorded in `refinery_schema_history`).
//!
//! A database migrated by a newer Tessera is refused before anything runs: an older binary
//! would misread its rows. Concurrent nodes starting at once serialize on an advisory lock, so
//! exactly one applies each migration.

use crate::error::PgError;
use crate::pool::Pool;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Key of the advisory lock held while migrating (any constant; "tessera" in ASCII).
const MIGRATION_LOCK: i64 = 0x0074_6573_7365_7261;

/// The newest migration this binary carries.
pub fn newest_version() -> i64 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max()
        .unwrap_or(0)
}

/// The newest migration applied to the database (0 on an empty database).
pub fn applied_version(client: &mut postgres::Client) -> Result<i64, PgError> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('refinery_schema_history') IS NOT NULL",
            &[],
        )?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let row = client.query_one(
        "SELECT COALESCE(MAX(version), 0)::BIGINT FROM refinery_schema_history",
        &[],
    )?;
    Ok(row.get(0))
}

/// Brings the schema up to date, or refuses a newer one.
pub fn run(pool: &Pool) -> Result<(), PgError> {
    let mut client = pool.get()?;
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let result = migrate_locked(&mut client);
    let unlock = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    result?;
    unlock?;
    Ok(())
}

fn migrate_locked(client: &mut postgres::Client) -> Result<(), PgError> {
    let found = applied_version(client)?;
    let supported = newest_version();
    if found > supported {
        return Err(PgError::SchemaTooNew { found, supported });
    }
    if found == supported {
        // Nothing to apply. Not even refinery's `CREATE TABLE IF NOT EXISTS` of its history
        // table runs, so a node whose role may not create objects (docs/deployment.md
        // "Database roles") starts on a schema its owner migrated.
        return Ok(());
    }
    let outcome = embedded::migrations::runner()
        .set_abort_divergent(true)
        .set_abort_missing(true)
        .run(client);
    match outcome {
        Ok(_) => Ok(()),
        Err(e) => {
            // refinery says only "error applying update", "db error": name the migration
            // that failed (the one after the last applied) and the server's own message.
            let failed = applied_version(client).ok().and_then(|v| {
                embedded::migrations::runner()
                    .get_migrations()
                    .iter()
                    .filter(|m| i64::from(m.version()) > v)
                    .min_by_key(|m| m.version())
                    .map(|m| format!("V{}__{}", m.version(), m.name()))
            });
            Err(PgError::Migration(describe_refinery(&e, failed.as_deref())))
        }
    }
}

fn describe_refinery(e: &refinery::Error, failed: Option<&str>) -> String {
    let cause = match e.kind() {
        refinery::error::Kind::Connection(_, source) => {
            match source.downcast_ref::<postgres::Error>() {
                Some(pg) => crate::error::describe(pg),
                None => source.to_string(),
            }
        }
        other => other.to_string(),
    };
    match failed {
        Some(name) => format!("{name} (rolled back): {cause}"),
        None => cause,
    }
}

/// Whether the database is at exactly this binary's schema version (`/readyz`).
pub fn is_current(client: &mut postgres::Client) -> Result<bool, PgError> {
    Ok(applied_version(client)? == newest_version())
}
