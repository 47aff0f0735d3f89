//! `tessera issuer`: run the ticket issuer, or act on its database as the local operator
//! (mint, show an issuance record, revoke, list refused requests).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use tessera_issuer::{Config, EXAMPLE_CONFIG, Issuer, StoreLocation};
use tessera_store_pg::PoolOptions;

use crate::clock::SystemClock;

/// `tessera issuer <command>`.
#[derive(Debug, clap::Subcommand)]
pub enum IssuerCommand {
    /// Serve the issuer: JWKS, status lists, authenticated minting API.
    Serve(ServeArgs),
    /// Mint a ticket from a JSON file of claims, as the local operator.
    Mint(MintArgs),
    /// Print the issuance record of a ticket.
    Show(JtiArgs),
    /// Revoke a ticket: set its bit on its status list (durable; served on the next fetch).
    Revoke(JtiArgs),
    /// Print the latest refused minting-API requests, oldest first (who, which endpoint, why).
    Refusals(RefusalsArgs),
}

/// Arguments of `tessera issuer refusals`.
#[derive(Debug, clap::Args)]
pub struct RefusalsArgs {
    /// The TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// How many of the latest refusals to print.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub limit: u32,
}

/// Arguments of `tessera issuer serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The TOML configuration file.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "print_example_config"
    )]
    pub config: Option<PathBuf>,
    /// Print a complete, commented example configuration and exit.
    #[arg(long)]
    pub print_example_config: bool,
    /// Log lines as human-readable `text` or one `json` object per line.
    #[arg(long, value_enum, default_value_t, env = "TESSERA_LOG_FORMAT")]
    pub log_format: crate::server::LogFormat,
}

/// Arguments of `tessera issuer mint`.
#[derive(Debug, clap::Args)]
pub struct MintArgs {
    /// The TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// JSON object of ticket claims (`-` for stdin); iss, iat, jti, exp and revocation are
    /// filled in by the issuer. May carry the `verification` record as a member.
    #[arg(long, value_name = "FILE")]
    pub claims: PathBuf,
    /// JSON verification record (facts, method, verified_by, verified_at, evidence, note):
    /// what was verified before this ticket, kept by `jti` (required for every ticket).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["verified", "verified_by", "verification_method"])]
    pub verification: Option<PathBuf>,
    /// Facts verified just now, comma separated: identity, authority, legal_basis,
    /// scope_appropriateness, evidence_redisclosure (builds the record with the next two).
    #[arg(long, value_name = "FACTS", value_delimiter = ',', requires_all = ["verified_by", "verification_method"])]
    pub verified: Vec<String>,
    /// Who verified (with --verified).
    #[arg(long, value_name = "WHO", requires = "verified")]
    pub verified_by: Option<String>,
    /// How it was verified, e.g. "in-person photo ID check" (with --verified).
    #[arg(long, value_name = "HOW", requires = "verified")]
    pub verification_method: Option<String>,
}

/// Arguments of `tessera issuer show` and `revoke`.
#[derive(Debug, clap::Args)]
pub struct JtiArgs {
    /// The TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The ticket's `jti`.
    pub jti: String,
}

impl tessera_issuer::Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemClock::now(self)
    }
}

/// Runs the command.
pub fn run(cmd: IssuerCommand, clock: &SystemClock) -> anyhow::Result<()> {
    match cmd {
        IssuerCommand::Serve(args) => serve(args),
        IssuerCommand::Mint(args) => {
            let issuer = open(&args.config)?;
            let text = crate::cmd_redeem::read_input(&args.claims)?;
            let mut claims: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", args.claims.display()))?;
            if let Some(record) = verification_record(&args, clock.now())?
                && let Some(map) = claims.as_object_mut()
            {
                map.insert("verification".into(), record);
            }
            let minted = issuer.mint(&claims, clock.now())?;
            let r = &minted.record;
            print_json(&serde_json::json!({
                "ticket": minted.token,
                "jti": r.jti,
                "ticket_type": r.ticket_type,
                "exp": r.expires_at,
                "kid": r.kid,
                "revocation": { "url": r.status_url, "index": r.status_index },
                "revocation_management": r.revocation_management,
            }))
        }
        IssuerCommand::Show(args) => {
            let record = open(&args.config)?.record(&args.jti)?;
            print_json(&serde_json::to_value(record)?)
        }
        IssuerCommand::Revoke(args) => {
            let record = open(&args.config)?.revoke(&args.jti, clock.now())?;
            print_json(&serde_json::to_value(record)?)
        }
        IssuerCommand::Refusals(args) => {
            let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
            let rows = open(&args.config)?.refusals(limit)?;
            print_json(&serde_json::json!({ "refusals": rows }))
        }
    }
}

/// The record from `--verification FILE` or `--verified … --verified-by … --verification-method …`.
fn verification_record(args: &MintArgs, now: i64) -> anyhow::Result<Option<serde_json::Value>> {
    if let Some(path) = &args.verification {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let record = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        return Ok(Some(record));
    }
    if args.verified.is_empty() {
        return Ok(None);
    }
    Ok(Some(serde_json::json!({
        "facts": args.verified,
        "verified_by": args.verified_by,
        "method": args.verification_method,
        "verified_at": now,
    })))
}

fn open(config: &std::path::Path) -> anyhow::Result<Issuer> {
    open_config(Config::load(config)?)
}

/// The issuer over the configured store: SQLite through the issuer itself, PostgreSQL through
/// tessera-store-pg (which the issuer crate does not depend on).
fn open_config(config: Config) -> anyhow::Result<Issuer> {
    match &config.store {
        StoreLocation::Postgres(url) => {
            let store = tessera_store_pg::issuer::open(url, PoolOptions::default())
                .map_err(|e| anyhow!("config key `store`: {e}"))?;
            Ok(Issuer::with_store(config, Box::new(store)))
        }
        StoreLocation::Sqlite(_) => Ok(Issuer::open(config)?),
    }
}

fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    crate::out::line(serde_json::to_string_pretty(value)?)?;
    Ok(())
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    if args.print_example_config {
        print!("{EXAMPLE_CONFIG}");
        return Ok(());
    }
    let path = args
        .config
        .ok_or_else(|| anyhow!("--config FILE is required"))?;
    let issuer = open_config(Config::load(&path)?)?;
    let runtime = crate::server::start(args.log_format)?;
    runtime.block_on(tessera_issuer::serve_issuer(issuer, Arc::new(SystemClock)))?;
    Ok(())
}
