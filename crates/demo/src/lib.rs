//! The end-to-end demo behind `tessera demo`: a ticket issuer and a Data Holder on loopback
//! (real HTTP, ephemeral ports, SQLite in a run directory), the built-in synthetic data set,
//! and one scenario per ticket type plus three refusals, each a real
//! mint → redeem (token exchange, `private_key_jwt`, DPoP for self access) → FHIR fetch.
//!
//! ```text
//! run_demo(&DemoOptions, now) -> DemoReport           start, run every scenario, stop
//! Demo::start(&DemoOptions, now) -> Demo               or step by step (--keep-running):
//!   .run() -> DemoReport    .instructions(program)    .stop()
//! DemoReport::passed() / ::render()                    verdict and the printed trace
//! ```
//!
//! No wall clock: `now` comes from the caller ([`Now`]).

mod cast;
mod clock;
mod env;
mod error;
mod exec;
mod explain;
pub mod federation;
mod instructions;
mod keys;
pub mod network;
mod report;
mod run;
mod scenarios;
mod tickets;
mod udap;
pub mod workbench;

use std::path::PathBuf;
use std::sync::Arc;

pub use cast::Cast;
pub use clock::Now;
pub use env::DemoEnv;
pub use error::DemoError;
pub use report::{
    DemoReport, Granted, Redemption, ScenarioOutcome, Setup, TicketSummary, TypeCount,
};

/// How to run the demo.
#[derive(Debug, Clone, Default)]
pub struct DemoOptions {
    /// The run directory (keys, configuration, databases, tickets). `None`: a fresh temporary
    /// directory, removed when the demo stops.
    pub dir: Option<PathBuf>,
}

/// A started demo world.
#[derive(Debug)]
pub struct Demo {
    // Shared with the workbench while it serves.
    env: Arc<DemoEnv>,
    /// Keeps a temporary run directory alive until the demo stops.
    _temp: Option<tempfile::TempDir>,
}

impl Demo {
    /// Loads the data, generates keys, writes the configuration and starts both servers.
    pub async fn start(options: &DemoOptions, now: Now) -> Result<Demo, DemoError> {
        let (dir, temp) = match &options.dir {
            Some(d) => {
                std::fs::create_dir_all(d)?;
                (d.clone(), None)
            }
            None => {
                let t = tempfile::Builder::new().prefix("tessera-demo-").tempdir()?;
                (t.path().to_owned(), Some(t))
            }
        };
        let demo = tessera_synth::demo();
        let cast = Cast::from_demo(&demo)?;
        let env = DemoEnv::start(&dir, cast, now).await?;
        Ok(Demo {
            env: Arc::new(env),
            _temp: temp,
        })
    }

    /// The running world.
    pub fn env(&self) -> &DemoEnv {
        &self.env
    }

    /// Runs every scenario in order.
    pub async fn run(&self) -> Result<DemoReport, DemoError> {
        let env = &self.env;
        let mut outcomes = Vec::new();
        for sc in scenarios::all(env)? {
            tracing::info!(scenario = sc.key, "demo scenario");
            outcomes.push(run::run(env, &sc).await);
        }
        tracing::info!("demo network Data Holders");
        let network = network::run(env).await;
        let sites = env
            .cast
            .sites
            .iter()
            .map(|s| format!("{} ({}, {})", s.name, s.city, s.state))
            .collect();
        Ok(DemoReport {
            setup: Setup {
                base_url: env.base_url.clone(),
                network_issuer: env.network_iss.clone(),
                holder_issuer: env.holder_iss.clone(),
                sites,
                resources: env.ingest.resources,
                patients: env
                    .ingest
                    .by_type
                    .get("Patient")
                    .copied()
                    .unwrap_or_default(),
            },
            scenarios: outcomes,
            network: Some(network),
        })
    }

    /// URLs and ready-to-paste commands against the running servers; `program` is how to
    /// invoke the `tessera` binary.
    pub fn instructions(&self, program: &str) -> String {
        instructions::render(&self.env, program)
    }

    /// Serves the web workbench on `addr` (port 0: any free port) until stopped.
    pub async fn workbench(
        &self,
        addr: std::net::SocketAddr,
    ) -> std::io::Result<workbench::Running> {
        workbench::serve(self.env.clone(), addr).await
    }

    /// Stops both servers (the temporary run directory goes with the `Demo`). Stop the
    /// workbench first: while it still holds the world, the servers stop with the runtime.
    pub async fn stop(self) {
        match Arc::try_unwrap(self.env) {
            Ok(env) => env.stop().await,
            Err(_) => tracing::warn!("demo world still shared; servers stop with the runtime"),
        }
    }
}

/// Starts the demo, runs every scenario and stops. The report says whether every scenario
/// behaved as expected ([`DemoReport::passed`]).
pub async fn run_demo(options: &DemoOptions, now: Now) -> Result<DemoReport, DemoError> {
    let demo = Demo::start(options, now).await?;
    let report = demo.run().await;
    demo.stop().await;
    report
}
