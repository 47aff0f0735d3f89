//! `tessera bench`: a bounded load run against our Data Holder started on the fly on loopback
//! over synthetic data (library: tessera-bench). Prints the report; exits non-zero if any
//! request failed.

use anyhow::{Context as _, anyhow};
use tessera_bench::{BenchOptions, Operation};

/// Arguments of `tessera bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// What to drive: exchange, exchange-dpop, read, search, search-code, search-date or mix.
    #[arg(long, default_value = "exchange")]
    pub op: String,
    /// Requests in all (the run stops by itself after them).
    #[arg(long, default_value_t = 2000)]
    pub requests: usize,
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
            "--op must be exchange, exchange-dpop, read, search, search-code, search-date or mix"
        )
    })?;
    if args.requests == 0 || args.connections == 0 || args.nodes == 0 {
        return Err(anyhow!(
            "--requests, --connections and --nodes must be at least 1"
        ));
    }
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
    };
    let runtime = tokio::runtime::Runtime::new().context("tokio runtime")?;
    let report = runtime.block_on(tessera_bench::run(&opts))?;
    print!("{}", report.render());
    match report.errors() {
        0 => Ok(()),
        n => Err(anyhow!("{n} request(s) failed")),
    }
}
