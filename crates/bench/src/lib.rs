//! `tessera bench`: a bounded load driver for a Data Holder (issue 12).
//!
//! It starts our server as a child process (`tessera serve`) on loopback over freshly generated
//! synthetic data ([`fixture`]), pre-mints every ticket and pre-signs every client assertion
//! before the clock starts, drives `connections` concurrent HTTP clients for a fixed number
//! of requests ([`load`]), and reports throughput, latency percentiles, errors, and the
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
    /// Both exchanges, read and the three searches in turn.
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
}

/// Runs one benchmark end to end and returns its report.
pub async fn run(opts: &BenchOptions) -> Result<report::Report, BenchError> {
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
    let floor = floor::measure(&fx, opts.floor_iterations)?;
    // One after the other: the first ingests, the others find the data unchanged.
    let mut servers = Vec::new();
    for _ in 0..opts.nodes.max(1) {
        servers.push(server::Server::start(&opts.server_binary, &fx.config_path)?);
    }
    let before = server::Usage::total(servers.iter().map(server::Server::usage));
    let result = load::drive(&fx, &servers, opts).await;
    let after = server::Usage::total(servers.iter().map(server::Server::usage));
    drop(servers);
    let ops = result?;
    let usage = match (before, after) {
        (Some(b), Some(a)) => Some(server::Usage {
            cpu_seconds: a.cpu_seconds - b.cpu_seconds,
            ..a
        }),
        _ => None,
    };
    Ok(report::Report {
        operation: opts.operation.name(),
        connections: opts.connections,
        patients: opts.patients,
        nodes: opts.nodes.max(1),
        store: match opts.store.as_deref() {
            Some(url) if url.starts_with("postgres") => "postgres",
            _ => "sqlite",
        },
        floor,
        ops,
        server: usage,
    })
}
