//! `tessera demo`: an issuer and a Data Holder on loopback with the built-in synthetic data,
//! one scenario per ticket type plus three refusals, a readable trace of each, and exit status
//! 0 only if every scenario behaved as expected. `--keep-running` leaves the servers up and
//! prints URLs and commands to try, until Ctrl-C.

use std::sync::Arc;

use anyhow::Context;
use tessera_demo::{Demo, DemoOptions, Now};

use crate::clock::SystemClock;

/// Arguments of `tessera demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// After the scenarios, keep the servers running and print their URLs and ready-to-paste
    /// `tessera`/`curl` commands (Ctrl-C stops).
    #[arg(long)]
    pub keep_running: bool,
    /// Run directory for keys, configuration, databases and tickets (default: a temporary
    /// directory, removed on exit).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<std::path::PathBuf>,
    /// With --keep-running: where the web workbench listens (loopback; port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub workbench_addr: std::net::SocketAddr,
}

/// Runs the demo.
pub fn run(args: DemoArgs, clock: &SystemClock) -> anyhow::Result<()> {
    // The trace is the output; server logs only when asked for (RUST_LOG), on stderr.
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    }
    let clock = *clock;
    let now: Now = Arc::new(move || clock.now());
    if let Some(dir) = &args.dir {
        // Said here with the path: the library's I/O error would not name it.
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create run directory {}", dir.display()))?;
    }
    let options = DemoOptions { dir: args.dir };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let demo = Demo::start(&options, now).await?;
        let report = match demo.run().await {
            Ok(r) => r,
            Err(e) => {
                demo.stop().await;
                return Err(e.into());
            }
        };
        print!("{}", report.render());
        if args.keep_running {
            let program = std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| "tessera".into());
            if !args.workbench_addr.ip().is_loopback() {
                demo.stop().await;
                anyhow::bail!(
                    "--workbench-addr {} is not a loopback address: the workbench signs with \
                     demo keys and is served on loopback only",
                    args.workbench_addr
                );
            }
            let workbench = demo.workbench(args.workbench_addr).await.with_context(|| {
                format!("cannot serve the workbench on {}", args.workbench_addr)
            })?;
            println!("\n{}", demo.instructions(&program));
            println!(
                "Network Data Holder (the workbench's, records linked per person): {}",
                workbench.network_base_url
            );
            println!("Workbench: {}", workbench.url);
            use std::io::Write as _;
            let _ = std::io::stdout().flush();
            tokio::signal::ctrl_c()
                .await
                .context("cannot wait for Ctrl-C")?;
            workbench.stop().await;
        }
        demo.stop().await;
        let failed = report.scenarios.iter().filter(|s| !s.passed).count();
        if failed > 0 {
            anyhow::bail!(
                "{failed} of {} demo scenarios did not behave as expected",
                report.scenarios.len()
            );
        }
        Ok(())
    })
}
