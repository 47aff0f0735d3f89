//! `tessera audit --config FILE [--jti JTI]`: the Data Holder's redemption audit records (one
//! JSON object per line), read from the configured store (SQLite file or PostgreSQL).

use std::path::PathBuf;

use tessera_holder::Config;

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
    let db = tessera_holder::serve::open_token_store(&config)?;
    for record in tessera_holder::audit::query_audit(db.as_ref(), args.jti.as_deref())? {
        crate::out::line(serde_json::to_string(&record)?)?;
    }
    Ok(())
}
