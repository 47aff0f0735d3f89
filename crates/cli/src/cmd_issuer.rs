//! `tessera issuer`: run the ticket issuer, or act on its database as the local operator
//! (mint, show an issuance record, revoke).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use tessera_issuer::{Config, EXAMPLE_CONFIG, Issuer};

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
}

/// Arguments of `tessera issuer mint`.
#[derive(Debug, clap::Args)]
pub struct MintArgs {
    /// The TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// JSON object of ticket claims (`-` for stdin); iss, iat, jti, exp and revocation are
    /// filled in by the issuer.
    #[arg(long, value_name = "FILE")]
    pub claims: PathBuf,
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
            let claims: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", args.claims.display()))?;
            let minted = issuer.mint(&claims, clock.now())?;
            let r = &minted.record;
            print_json(&serde_json::json!({
                "ticket": minted.token,
                "jti": r.jti,
                "ticket_type": r.ticket_type,
                "exp": r.expires_at,
                "kid": r.kid,
                "revocation": { "url": r.status_url, "index": r.status_index },
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
    }
}

fn open(config: &std::path::Path) -> anyhow::Result<Issuer> {
    Ok(Issuer::open(Config::load(config)?)?)
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
    let config = Config::load(&path)?;
    let runtime = crate::server::start()?;
    runtime.block_on(tessera_issuer::serve(config, Arc::new(SystemClock)))?;
    Ok(())
}
