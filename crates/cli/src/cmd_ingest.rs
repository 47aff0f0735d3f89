//! `tessera ingest --store URL PATH...`: load FHIR Bundles and resources into a Data Holder's
//! store, SQLite or PostgreSQL, chosen by the URL. Idempotent: a re-run of unchanged files
//! writes nothing. Each file is one transaction, so an interrupted ingest leaves whole files.
//!
//! On PostgreSQL the load ends with `VACUUM (ANALYZE)` of the resource tables.
//!
//! Progress goes to stderr: a bar with rate and ETA on a terminal, plain lines otherwise (one
//! per tenth of the bytes, and a final one); the report is JSON on stdout.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use tessera_store::{
    IngestOptions, IngestPlan, IngestProgress, IngestReport, ResourceStore, SiteMode, ingest_plan,
    plan_path,
};
use tessera_store_pg::{PgStore, PoolOptions, is_postgres_url, open_resources};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// A bar on a terminal, plain lines otherwise.
    Auto,
    /// Always the bar.
    Bar,
    /// Always plain lines.
    Plain,
    /// Nothing but the report.
    None,
}

/// Arguments of `tessera ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// The store: `sqlite:///path/holder.db` or `postgres://user@host/db`.
    #[arg(long, value_name = "URL", env = "TESSERA_STORE")]
    pub store: String,
    /// Files or directories of `*.json` (Bundles or single resources).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Keep ids as they are and make no sites (a single-source deployment); by default each
    /// Bundle file is a site named by its file stem.
    #[arg(long)]
    pub no_sites: bool,
    /// Progress display.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
}

/// The store the URL names: PostgreSQL (migrated, or refused when newer) or SQLite.
enum Store {
    Postgres(Arc<PgStore>),
    Sqlite(Arc<dyn ResourceStore>),
}

impl Store {
    fn open(url: &str) -> anyhow::Result<Store> {
        // Never the URL itself in a PostgreSQL error: it may carry a password.
        if is_postgres_url(url) {
            Ok(Store::Postgres(open_resources(
                url,
                PoolOptions::default(),
            )?))
        } else {
            Ok(Store::Sqlite(tessera_store::open_url(url)?))
        }
    }

    fn resources(&self) -> &dyn ResourceStore {
        match self {
            Store::Postgres(s) => s.as_ref(),
            Store::Sqlite(s) => s.as_ref(),
        }
    }

    /// After a load: searches are planned on the data now stored from the first request.
    fn settle(&self) -> anyhow::Result<()> {
        self.resources()
            .settle_after_load()
            .context("settling the store after the ingest")
    }
}

/// Runs the command.
pub fn run(args: IngestArgs, clock: &crate::clock::SystemClock) -> anyhow::Result<()> {
    let store = Store::open(&args.store).context("cannot open the store")?;
    let mut plans = Vec::new();
    for path in &args.paths {
        plans.push(plan_path(path)?);
    }
    let plan = IngestPlan {
        files: plans.iter().flat_map(|p| p.files.clone()).collect(),
        skipped: plans.iter().flat_map(|p| p.skipped.clone()).collect(),
    };
    let opts = IngestOptions {
        now: clock.now(),
        sites: if args.no_sites {
            SiteMode::None
        } else {
            SiteMode::PerBundleFile
        },
    };
    let mode = match args.progress {
        ProgressMode::Auto if std::io::stderr().is_terminal() => ProgressMode::Bar,
        ProgressMode::Auto => ProgressMode::Plain,
        other => other,
    };
    let mut shown = Progress::new(mode, &plan);
    let report = ingest_plan(store.resources(), &plan, &opts, &mut |p| shown.update(p));
    let report = report?;
    store.settle()?;
    shown.finish(&report);
    let out = json!({
        "files": report.files,
        "bundles": report.bundles,
        "resources": report.resources,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "by_type": report.by_type,
        "sites": report.sites.len(),
        "errors": report.errors,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// The progress display of one run.
struct Progress {
    mode: ProgressMode,
    bar: Option<ProgressBar>,
    started: Instant,
    total_files: usize,
    total_bytes: u64,
    /// Tenths of the bytes already reported by a plain line.
    tenths: u64,
}

impl Progress {
    fn new(mode: ProgressMode, plan: &IngestPlan) -> Progress {
        let total_bytes = plan.total_bytes();
        let bar = (mode == ProgressMode::Bar).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
            // A fixed template: its only failure is a typo here, caught by any run.
            if let Ok(style) = ProgressStyle::with_template(
                "{elapsed_precise} [{wide_bar}] {percent:>3}% {binary_bytes_per_sec} ETA {eta} {msg}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        Progress {
            mode,
            bar,
            started: Instant::now(),
            total_files: plan.files.len(),
            total_bytes,
            tenths: 0,
        }
    }

    fn rate(&self, resources: usize) -> u64 {
        let secs = self.started.elapsed().as_secs_f64();
        if secs > 0.0 {
            (resources as f64 / secs) as u64
        } else {
            0
        }
    }

    fn update(&mut self, p: IngestProgress<'_>) {
        let resources = p.report.resources;
        match self.mode {
            ProgressMode::Bar => {
                if let Some(bar) = &self.bar {
                    bar.set_position(p.bytes_done);
                    bar.set_message(format!(
                        "{}/{} files, {resources} resources, {} resources/s",
                        p.files_done,
                        self.total_files,
                        self.rate(resources)
                    ));
                }
            }
            ProgressMode::Plain => {
                let tenths = p.bytes_done.saturating_mul(10) / self.total_bytes.max(1);
                if tenths > self.tenths && p.files_done < self.total_files {
                    self.tenths = tenths;
                    let elapsed = self.started.elapsed().as_secs_f64();
                    let done = p.bytes_done as f64 / self.total_bytes.max(1) as f64;
                    let eta = if done > 0.0 {
                        elapsed / done - elapsed
                    } else {
                        0.0
                    };
                    eprintln!(
                        "ingest: {}% {}/{} files, {resources} resources, {} resources/s, ETA {}",
                        tenths * 10,
                        p.files_done,
                        self.total_files,
                        self.rate(resources),
                        duration(eta),
                    );
                }
            }
            ProgressMode::Auto | ProgressMode::None => {}
        }
    }

    fn finish(&mut self, report: &IngestReport) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.mode == ProgressMode::None {
            return;
        }
        eprintln!(
            "ingest: done {} files, {} resources (created {}, updated {}, unchanged {}), {} skipped, in {}, {} resources/s",
            report.files,
            report.resources,
            report.created,
            report.updated,
            report.unchanged,
            report.errors.len(),
            duration(self.started.elapsed().as_secs_f64()),
            self.rate(report.resources),
        );
    }
}

/// `1h02m03s` / `2m03s` / `3s`.
fn duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, s) => format!("{h}h{m:02}m{s:02}s"),
    }
}
