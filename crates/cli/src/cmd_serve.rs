//! `tessera serve`: run the Data Holder from a TOML configuration, or print a complete,
//! commented example configuration.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::anyhow;
use tessera_holder::config::EXAMPLE_CONFIG;
use tessera_holder::{Clock, Config};

use crate::clock::SystemClock;

/// Arguments of `tessera serve`.
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

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemClock::now(self)
    }
}

/// Runs the command.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    if args.print_example_config {
        print!("{EXAMPLE_CONFIG}");
        return Ok(());
    }
    let path = args
        .config
        .ok_or_else(|| anyhow!("--config FILE is required"))?;
    let config = Config::load(&path)?;
    let runtime = crate::server::start(args.log_format)?;
    runtime.block_on(tessera_holder::serve::serve(config, Arc::new(SystemClock)))?;
    Ok(())
}
