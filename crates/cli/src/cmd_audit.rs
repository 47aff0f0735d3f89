//! `tessera audit --config FILE [--jti JTI]`: the Data Holder's redemption audit records (one
//! JSON object per line), read from the configured store; `tessera audit verify` walks the
//! trail's hash chain, `tessera audit head` prints the head to anchor elsewhere.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use serde_json::json;
use tessera_holder::Config;
use tessera_holder::config::StoreLocation;
use tessera_store::audit::AuditChainStore;
use tessera_store::audit_chain::{parse_hash, to_hex};
use tessera_store::token_db::TokenDb;

/// Arguments of `tessera audit`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct AuditArgs {
    /// Check the trail or print its head instead of listing records.
    #[command(subcommand)]
    pub action: Option<AuditAction>,
    /// The Data Holder's TOML configuration file.
    #[arg(long, value_name = "FILE", required = true)]
    pub config: Option<PathBuf>,
    /// Only records of this ticket `jti` (default: the most recent records).
    #[arg(long)]
    pub jti: Option<String>,
}

/// `tessera audit <action>`.
#[derive(Debug, clap::Subcommand)]
pub enum AuditAction {
    /// Walk the whole hash chain: OK with the row count and head, or the first bad row and
    /// why (altered, reordered, deleted, broken at the end); exit status 1 on any fault.
    Verify(VerifyArgs),
    /// Print the chain's head (`{"seq", "id", "hash"}`) for anchoring outside the database.
    Head(HeadArgs),
}

/// Arguments of `tessera audit verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The Data Holder's TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// A head hash printed earlier by `tessera audit head`: the chain must still contain it.
    #[arg(long, value_name = "HASH")]
    pub anchor: Option<String>,
}

/// Arguments of `tessera audit head`.
#[derive(Debug, clap::Args)]
pub struct HeadArgs {
    /// The Data Holder's TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
}

/// Runs the command.
pub fn run(args: AuditArgs) -> anyhow::Result<()> {
    match args.action {
        Some(AuditAction::Verify(v)) => verify(&v),
        Some(AuditAction::Head(h)) => head(&h.config),
        None => {
            let config = args
                .config
                .ok_or_else(|| anyhow!("--config FILE is required"))?;
            let config = Config::load(&config)?;
            let db = tessera_holder::serve::open_token_store(&config)?;
            for record in tessera_holder::audit::query_audit(db.as_ref(), args.jti.as_deref())? {
                crate::out::line(serde_json::to_string(&record)?)?;
            }
            Ok(())
        }
    }
}

fn open(config: &Path) -> anyhow::Result<TokenDb> {
    let config = Config::load(config)?;
    match &config.store {
        StoreLocation::SqliteFile(path) => Ok(TokenDb::open(path)?),
        StoreLocation::SqliteMemory => Err(anyhow!(
            "config key `store`: an in-memory store keeps no audit trail to query"
        )),
        StoreLocation::Postgres(_) => Err(anyhow!(
            "config key `store`: the audit chain of a PostgreSQL store is not verifiable yet \
             (issue 13); `tessera audit --config` lists its rows"
        )),
    }
}

fn verify(args: &VerifyArgs) -> anyhow::Result<()> {
    let anchor = match &args.anchor {
        None => None,
        Some(hex) => Some(parse_hash(hex).ok_or_else(|| {
            anyhow!("--anchor: expected 64 hex digits (the `hash` printed by `tessera audit head`)")
        })?),
    };
    let report = open(&args.config)?.verify_audit_chain(anchor)?;
    match report.outcome {
        Ok(summary) => {
            let mut out = json!({
                "status": "ok",
                "rows": summary.rows,
                "head": summary.head.to_json(),
                "legacy_rows": report.legacy_rows,
            });
            if let Some(a) = anchor {
                out["anchor"] = json!(to_hex(&a));
            }
            crate::out::line(out)
        }
        Err(fault) => {
            crate::out::line(json!({
                "status": "failed",
                "row_id": fault.row_id,
                "fault": fault.kind.as_str(),
                "detail": fault.detail,
            }))?;
            Err(anyhow!("audit chain does not verify: {fault}"))
        }
    }
}

fn head(config: &Path) -> anyhow::Result<()> {
    let head = open(config)?
        .audit_head()?
        .ok_or_else(|| anyhow!("audit chain: no head is recorded (run `tessera audit verify`)"))?;
    crate::out::line(head.to_json())
}
