//! `tessera link add|remove|show --config FILE`: the Data Holder's operator person linkage
//! (issue 14). Thin: validation, storage and the rebuild are `tessera_holder::network::linkage`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::anyhow;
use tessera_holder::Config;
use tessera_holder::config::StoreLocation;
use tessera_holder::network::linkage::{LinkEntry, apply, rebuild, show};
use tessera_store::ResourceStore;

/// `tessera link` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum LinkCommand {
    /// Assert that a Patient record belongs to a person (another record, or an enterprise id).
    Add(LinkArgs),
    /// Withdraw a link (also one found in the data: it is suppressed).
    Remove(LinkArgs),
    /// Print the linkage in force (JSON): persons, conflicts, assertions, versions.
    Show(ShowArgs),
}

/// Arguments of `link add` / `link remove`.
#[derive(Debug, clap::Args)]
pub struct LinkArgs {
    /// The Data Holder's TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The Patient record (`Patient/{id}` or the id).
    pub record: String,
    /// Another Patient record of the same person.
    #[arg(
        long,
        conflicts_with = "identifier",
        required_unless_present = "identifier"
    )]
    pub same_as: Option<String>,
    /// An enterprise identifier `system|value` (the system must be configured).
    #[arg(long)]
    pub identifier: Option<String>,
}

/// Arguments of `link show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The Data Holder's TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Only the quarantined records (claimed by two persons).
    #[arg(long)]
    pub conflicts: bool,
}

fn open(config: &std::path::Path) -> anyhow::Result<(Config, Arc<dyn ResourceStore>)> {
    let config = Config::load(config)?;
    if config.store == StoreLocation::SqliteMemory {
        return Err(anyhow!(
            "config key `store`: an in-memory store keeps no linkage to edit"
        ));
    }
    // The same stores `tessera serve` opens: an SQLite file, or the PostgreSQL database every
    // node of the deployment shares (the next rebuild on each node picks the change up).
    let (store, _) = tessera_holder::serve::open_stores(&config)?;
    Ok((config, store))
}

/// Loads the configured data first (idempotent, as `serve` does at start-up), so links can
/// name records of a store the server has not opened yet.
fn open_loaded(
    config: &std::path::Path,
    clock: &crate::clock::SystemClock,
) -> anyhow::Result<(Config, Arc<dyn ResourceStore>)> {
    let (config, store) = open(config)?;
    tessera_holder::serve::ingest_configured(&config, store.as_ref(), clock.now())?;
    Ok((config, store))
}

/// Runs the command.
pub fn run(cmd: LinkCommand, clock: &crate::clock::SystemClock) -> anyhow::Result<()> {
    let (args, add) = match cmd {
        LinkCommand::Show(args) => {
            // The linkage as the configuration defines it now (a rebuild writes only changes).
            let (config, store) = open_loaded(&args.config, clock)?;
            rebuild(&config, store.as_ref(), clock.now(), "cli show")?;
            let doc = show(store.as_ref(), args.conflicts)?;
            return crate::out::line(serde_json::to_string_pretty(&doc)?);
        }
        LinkCommand::Add(args) => (args, true),
        LinkCommand::Remove(args) => (args, false),
    };
    let (config, store) = open_loaded(&args.config, clock)?;
    let entry = LinkEntry {
        action: if add { "add" } else { "remove" }.to_owned(),
        record: args.record,
        same_as: args.same_as,
        identifier: args.identifier,
    };
    let summary = apply(&config, store.as_ref(), &entry, "cli", clock.now())?;
    for c in &summary.conflicts {
        eprintln!(
            "warning: Patient/{} quarantined: claimed by {}",
            c.record,
            c.anchors.join(" and ")
        );
    }
    crate::out::line(serde_json::to_string(&summary)?)
}
