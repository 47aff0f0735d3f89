//! `tessera bench`: a bounded load run against our Data Holder started on the fly on loopback
//! over synthetic data, or against one already running on this machine (`--url` with a
//! `--target` description); library: tessera-bench. Shows a progress line on stderr while it
//! runs, prints the report; exits non-zero if any request failed.

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tessera_bench::{BenchOptions, Operation, Progress};

/// Longest `--duration`: every assertion is signed before the clock starts and lives 5 minutes.
const MAX_DURATION_SECONDS: u64 = 240;

/// Arguments of `tessera bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// What to drive: exchange, exchange-dpop, read, search, search-code, search-date, page
    /// (a walk through every page of `Observation?_count=10`) or mix.
    #[arg(long, default_value = "exchange")]
    pub op: String,
    /// Requests in all (the run stops by itself after them, or at --duration).
    #[arg(long, default_value_t = 2000)]
    pub requests: usize,
    /// Stop after this many seconds even if requests remain (at most 240: assertions are
    /// signed before the clock starts). --requests stays the most sent, so give enough.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<u64>,
    /// Drive the Data Holder at this FHIR base instead of starting one (loopback only); needs
    /// --target.
    #[arg(long, value_name = "URL", requires = "target")]
    pub url: Option<String>,
    /// With --url: a TOML description of that Data Holder (its configured base URL, an issuer
    /// it trusts and that issuer's key, a registered client and its key, the patients to
    /// name); see docs/BENCHMARKS.md.
    #[arg(long, value_name = "FILE", requires = "url")]
    pub target: Option<std::path::PathBuf>,
    /// Concurrent connections.
    #[arg(long, default_value_t = 8)]
    pub connections: usize,
    /// Synthetic patients loaded into the server.
    #[arg(long, default_value_t = 20)]
    pub patients: u64,
    /// Iterations of each crypto-floor measurement.
    #[arg(long, default_value_t = 500)]
    pub floor_iterations: usize,
    /// The servers' store (e.g. `postgres://postgres@127.0.0.1/test`); default a SQLite file
    /// in a temporary directory. A PostgreSQL database is written to: use a scratch one.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// `tessera serve` processes sharing the store (more than one needs `--store postgres://…`).
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// A `tessera synth --out DIR` output already ingested into `--store` with `tessera
    /// ingest`: nothing is generated or loaded, and tickets name its first Patients. For runs
    /// at 10,000 or 100,000 patients, where loading per run would dominate.
    #[arg(long, value_name = "DIR", requires = "store")]
    pub data: Option<std::path::PathBuf>,
}

/// Runs the command.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let operation = Operation::parse(&args.op).ok_or_else(|| {
        anyhow!(
            "--op must be exchange, exchange-dpop, read, search, search-code, search-date, page \
             or mix"
        )
    })?;
    if args.requests == 0 || args.connections == 0 || args.nodes == 0 {
        return Err(anyhow!(
            "--requests, --connections and --nodes must be at least 1"
        ));
    }
    if let Some(d) = args.duration
        && !(1..=MAX_DURATION_SECONDS).contains(&d)
    {
        return Err(anyhow!(
            "--duration must be 1 to {MAX_DURATION_SECONDS} seconds (assertions are signed \
             before the clock starts and live 5 minutes)"
        ));
    }
    if args.url.is_some() && (args.store.is_some() || args.data.is_some() || args.nodes > 1) {
        return Err(anyhow!(
            "--url drives a Data Holder already running: --store, --data and --nodes describe \
             one this command starts"
        ));
    }
    let progress = Arc::new(Progress::default());
    let opts = BenchOptions {
        // The server under test is this very binary, as `tessera serve`.
        server_binary: std::env::current_exe().context("cannot locate the tessera binary")?,
        patients: args.patients,
        requests: args.requests,
        connections: args.connections,
        operation,
        floor_iterations: args.floor_iterations,
        store: args.store,
        nodes: args.nodes,
        preloaded: args.data,
        target: args.url.zip(args.target),
        duration: args.duration.map(Duration::from_secs),
        progress: Some(progress.clone()),
    };
    let runtime = tokio::runtime::Runtime::new().context("tokio runtime")?;
    let shown = Shown::start(progress);
    let report = runtime.block_on(tessera_bench::run(&opts));
    shown.finish();
    let report = report?;
    print!("{}", report.render());
    match report.errors() {
        0 => Ok(()),
        n => Err(anyhow!("{n} request(s) failed")),
    }
}

/// The progress line: a bar on a terminal, else a plain line every few seconds (CI logs).
struct Shown {
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Shown {
    fn start(progress: Arc<Progress>) -> Shown {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let terminal = std::io::stderr().is_terminal();
        let thread = std::thread::spawn(move || {
            let bar = terminal.then(|| {
                let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
                // A fixed template: its only failure is a typo here, caught by any run.
                if let Ok(style) = ProgressStyle::with_template(
                    "{elapsed_precise} [{wide_bar}] {pos}/{len} requests, {per_sec} {msg}",
                ) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar
            });
            let started = Instant::now();
            let mut last_line = Instant::now();
            let tick = if terminal { 200 } else { 1000 };
            while stopped.recv_timeout(Duration::from_millis(tick)).is_err() {
                let (done, total, errors) = progress.read();
                if total == 0 {
                    continue; // still setting up (data, floor, pre-signing)
                }
                match &bar {
                    Some(b) => {
                        b.set_length(total as u64);
                        b.set_position(done as u64);
                        b.set_message(format!("{errors} error(s)"));
                    }
                    None if last_line.elapsed() >= Duration::from_secs(5) => {
                        last_line = Instant::now();
                        eprintln!(
                            "bench: {done}/{total} requests, {errors} error(s), {:.0} s",
                            started.elapsed().as_secs_f64()
                        );
                    }
                    None => {}
                }
            }
            if let Some(b) = bar {
                b.finish_and_clear();
            }
        });
        Shown { stop, thread }
    }

    fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}
