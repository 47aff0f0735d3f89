//! Process set-up shared by the long-running commands (`serve`, `issuer serve`): logs on
//! stderr filtered by `RUST_LOG` (default `info`), and a multi-threaded async runtime.

use anyhow::Context;

/// Installs the log subscriber (once) and builds the runtime.
pub fn start() -> anyhow::Result<tokio::runtime::Runtime> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
