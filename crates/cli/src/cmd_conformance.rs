//! `tessera conformance`: run the black-box conformance kit against a Data Holder, or write a
//! kit configuration (`init`) or print the built-in skip list (`skips`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use tessera_conformance::report::{Style, junit, terminal};
use tessera_conformance::{KitConfig, KitKeys, RunOptions};

use crate::clock::SystemClock;

/// Arguments of `tessera conformance`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ConformanceArgs {
    #[command(subcommand)]
    command: Option<ConformanceCommand>,
    /// The kit configuration (written by `tessera conformance init`).
    #[arg(long, value_name = "FILE", default_value = "kit.toml")]
    config: PathBuf,
    /// The FHIR base to test (overrides `fhir_base` in the configuration).
    #[arg(long, value_name = "URL")]
    fhir_base: Option<String>,
    /// Only these checklist IDs or ID prefixes, comma-separated (`PT-VAL,PT-BIND-02`).
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    only: Vec<String>,
    /// Also write the JSON report here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Also write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum ConformanceCommand {
    /// Generate the kit's keys and a commented kit.toml; print what to register at the target.
    Init {
        /// Directory to write into.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Print the built-in skip list (requirements not testable black-box, with reasons).
    Skips,
}

/// Runs the command; the run fails (exit 1) unless every selected, applicable test passed.
pub fn run(args: ConformanceArgs) -> anyhow::Result<()> {
    match args.command {
        Some(ConformanceCommand::Init { dir }) => {
            let text = tessera_conformance::init::init(&dir, crate::clock::SystemClock.now())
                .map_err(anyhow::Error::msg)?;
            crate::out::line(text.trim_end())
        }
        Some(ConformanceCommand::Skips) => {
            crate::out::line(tessera_conformance::checklist::DEFAULT_SKIPS.trim_end())
        }
        None => run_kit(args),
    }
}

fn run_kit(args: ConformanceArgs) -> anyhow::Result<()> {
    let mut config = KitConfig::load(&args.config)?;
    if let Some(base) = args.fhir_base {
        config.fhir_base = base.trim_end_matches('/').to_owned();
    }
    let keys = KitKeys::load(&config.keys)?;
    let tty = std::io::stdout().is_terminal();
    let opts = RunOptions {
        only: args.only,
        progress: std::io::stderr().is_terminal(),
    };
    let runtime = crate::server::start(crate::server::LogFormat::Text)?;
    let report = runtime
        .block_on(tessera_conformance::run(
            config,
            keys,
            None,
            Arc::new(SystemClock),
            &opts,
        ))
        .map_err(anyhow::Error::msg)?;
    if let Some(path) = &args.json {
        std::fs::write(path, report.json()).with_context(|| path.display().to_string())?;
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, junit(&report)).with_context(|| path.display().to_string())?;
    }
    let style = if tty { Style::Colour } else { Style::Plain };
    crate::out::line(terminal(&report, style).trim_end())?;
    if !report.passed() {
        bail!("conformance: failing {}", report.failing_ids().join(", "));
    }
    Ok(())
}
