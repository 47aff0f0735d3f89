//! `tessera bench`: a bounded load driver for a Data Holder (issue 12).
//!
//! It starts our server as a child process (`tessera serve`) on loopback over freshly generated
//! synthetic data ([`fixture`]), or drives one started elsewhere on this machine from a
//! description of how it is configured ([`target`]); pre-mints every ticket and pre-signs every
//! client assertion before the clock starts, drives `connections` concurrent HTTP clients for a
//! fixed number of requests or a fixed duration, whichever ends first ([`load`]), counting
//! progress as it goes ([`Progress`]), and reports throughput, latency percentiles, errors, and the
//! server's CPU time per operation and RSS from `/proc` ([`server`]). The cryptographic floor
//! of one redemption (ticket ES256 verify + assertion verify + token work) is timed in-process
//! in the same run ([`floor`]), so every figure can be read as a ratio to it.
//!
//! No timing is ever asserted; a run with any error is a failed run.

pub mod fixture;
pub mod floor;
pub mod load;
pub mod report;
pub mod server;
pub mod target;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use std::path::PathBuf;

/// A benchmark failure (setup, server, or a request that was not answered as expected).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BenchError(pub String);

impl BenchError {
    fn of(what: &str, e: impl std::fmt::Display) -> BenchError {
        BenchError(format!("{what}: {e}"))
    }
}

/// The operation a run drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// RFC 8693 token exchange, `private_key_jwt`, Bearer, a fresh ticket and assertion each.
    Exchange,
    /// The same with a fresh DPoP proof each (a DPoP-bound token).
    ExchangeDpop,
    /// `GET Patient/{id}` with an access token (enforced read).
    Read,
    /// `GET Observation?_count=50` with an access token (enforced search).
    Search,
    /// `GET Observation?code=…` (search by code).
    SearchCode,
    /// `GET Observation?date=ge…` (search by date).
    SearchDate,
    /// `GET Observation?_count=10`, then every `next` link to the last page: one walk.
    Page,
    /// Both exchanges, read, the three searches and a paging walk in turn.
    Mix,
}

impl Operation {
    /// The name used on the command line and in the report.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Exchange => "exchange",
            Operation::ExchangeDpop => "exchange-dpop",
            Operation::Read => "read",
            Operation::Search => "search",
            Operation::SearchCode => "search-code",
            Operation::SearchDate => "search-date",
            Operation::Page => "page",
            Operation::Mix => "mix",
        }
    }

    /// Parses [`Operation::name`].
    pub fn parse(s: &str) -> Option<Operation> {
        [
            Operation::Exchange,
            Operation::ExchangeDpop,
            Operation::Read,
            Operation::Search,
            Operation::SearchCode,
            Operation::SearchDate,
            Operation::Page,
            Operation::Mix,
        ]
        .into_iter()
        .find(|o| o.name() == s)
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The `tessera` binary to start as the server.
    pub server_binary: PathBuf,
    /// Synthetic patients loaded into the server.
    pub patients: u64,
    /// Requests in all (fixed count: the run stops by itself).
    pub requests: usize,
    /// Concurrent connections.
    pub connections: usize,
    /// What to drive.
    pub operation: Operation,
    /// Iterations of each floor measurement.
    pub floor_iterations: usize,
    /// The servers' store URL (`None`: a SQLite file in the run's temporary directory).
    pub store: Option<String>,
    /// Server processes sharing the store; connection `k` goes to node `k % nodes`. More than
    /// one needs a shared database (`postgres://`).
    pub nodes: usize,
    /// A `tessera synth` output already ingested into `store`: the run neither generates nor
    /// loads data (`patients` is then only reported).
    pub preloaded: Option<PathBuf>,
    /// A Data Holder started elsewhere: `(url, description file)` ([`target`]). Nothing is
    /// started, generated or loaded then.
    pub target: Option<(String, PathBuf)>,
    /// Stop after this long even if requests remain (the count stays the most sent).
    pub duration: Option<Duration>,
    /// Counters the caller may watch while the run goes (a progress line).
    pub progress: Option<Arc<Progress>>,
}

/// How far a run is, updated as each request is answered.
#[derive(Debug, Default)]
pub struct Progress {
    /// Requests the run will send at most.
    pub total: AtomicUsize,
    /// Requests answered so far (successfully or not).
    pub done: AtomicUsize,
    /// Of which failed.
    pub errors: AtomicUsize,
}

impl Progress {
    /// `(done, total, errors)` now.
    pub fn read(&self) -> (usize, usize, usize) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        )
    }
}

/// Runs one benchmark end to end and returns its report.
pub async fn run(opts: &BenchOptions) -> Result<report::Report, BenchError> {
    if let Some((url, description)) = &opts.target {
        return run_target(opts, &target::Target::load(url, description)?).await;
    }
    let dir = tempfile::tempdir().map_err(|e| BenchError::of("temporary directory", e))?;
    if opts.nodes > 1 && opts.store.is_none() {
        return Err(BenchError(
            "more than one node needs a shared store: give --store postgres://…".into(),
        ));
    }
    if opts.preloaded.is_some() && opts.store.is_none() {
        return Err(BenchError(
            "--data needs --store: the store the data was ingested into".into(),
        ));
    }
    let fx = fixture::Fixture::create(
        dir.path(),
        opts.patients,
        opts.store.as_deref(),
        opts.preloaded.as_deref(),
    )?;
    let config = fx
        .config_path
        .clone()
        .ok_or_else(|| BenchError("no server configuration".into()))?;
    let floor = floor::measure(&fx, opts.floor_iterations)?;
    // One after the other: the first ingests, the others find the data unchanged.
    let mut servers = Vec::new();
    for _ in 0..opts.nodes.max(1) {
        servers.push(server::Server::start(&opts.server_binary, &config)?);
    }
    let bases: Vec<String> = servers
        .iter()
        .map(|s| format!("http://{}/fhir", s.addr))
        .collect();
    let before = server::Usage::total(servers.iter().map(server::Server::usage));
    let result = load::drive(&fx, &bases, opts).await;
    let after = server::Usage::total(servers.iter().map(server::Server::usage));
    let first_boot = servers.first().map(|s| s.boot);
    drop(servers);
    let ops = result?;
    // Boot from the warm store: the first server's store, now filled, without `load`.
    let warm_boot = match &fx.warm_config_path {
        Some(warm) => {
            let s = server::Server::start(&opts.server_binary, warm)?;
            let rss = s.usage().map(|u| u.rss_kib);
            Some((s.boot, rss))
        }
        None => None,
    };
    Ok(report::Report {
        boot: Some(report::Boot {
            first: first_boot.unwrap_or_default(),
            first_loaded: opts.preloaded.is_none(),
            warm: warm_boot.map(|w| w.0),
            warm_rss_kib: warm_boot.and_then(|w| w.1),
        }),
        operation: opts.operation.name(),
        connections: opts.connections,
        target: format!(
            "{} synthetic patient(s){}, {} node(s) on {}",
            fx.patients,
            if opts.preloaded.is_some() {
                " (preloaded)"
            } else {
                ""
            },
            opts.nodes.max(1),
            match opts.store.as_deref() {
                Some(url) if url.starts_with("postgres") => "postgres",
                _ => "sqlite",
            }
        ),
        floor,
        ops,
        server: during(before, after),
    })
}

/// A run against a Data Holder started elsewhere.
async fn run_target(opts: &BenchOptions, t: &target::Target) -> Result<report::Report, BenchError> {
    let floor = floor::measure(&t.fixture, opts.floor_iterations)?;
    let usage = || t.server_pid.and_then(server::usage_of);
    let before = usage();
    let ops = load::drive(&t.fixture, std::slice::from_ref(&t.url), opts).await?;
    let after = usage();
    Ok(report::Report {
        boot: None,
        operation: opts.operation.name(),
        connections: opts.connections,
        target: format!("the Data Holder at {}", t.url),
        floor,
        ops,
        server: during(before, after),
    })
}

/// Resource use between two readings: CPU as the difference, memory as of the second.
fn during(before: Option<server::Usage>, after: Option<server::Usage>) -> Option<server::Usage> {
    match (before, after) {
        (Some(b), Some(a)) => Some(server::Usage {
            cpu_seconds: a.cpu_seconds - b.cpu_seconds,
            ..a
        }),
        _ => None,
    }
}
