//! `tessera audit --config FILE [--jti JTI]`: the Data Holder's redemption audit records (one
//! JSON object per line), read from the configured store.

use std::path::PathBuf;

use anyhow::anyhow;
use tessera_holder::Config;
use tessera_holder::config::StoreLocation;
use tessera_store::token_db::TokenDb;

/// Arguments of `tessera audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// The Data Holder's TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Only records of this ticket `jti` (default: the most recent records).
    #[arg(long)]
    pub jti: Option<String>,
}

/// Runs the command.
pub fn run(args: AuditArgs) -> anyhow::Result<()> {
    let config = Config::load(&args.config)?;
    let StoreLocation::SqliteFile(path) = &config.store else {
        return Err(anyhow!(
            "config key `store`: an in-memory store keeps no audit trail to query"
        ));
    };
    let db = TokenDb::open(path)?;
    for record in tessera_holder::audit::query_audit(&db, args.jti.as_deref())? {
        crate::out::line(serde_json::to_string(&record)?)?;
    }
    Ok(())
}
