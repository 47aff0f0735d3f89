//! Process set-up shared by the long-running commands (`serve`, `issuer serve`): logs on
//! stderr filtered by `RUST_LOG` (default `info`), as text or one JSON object per line
//! (`--log-format json`, for log shippers), and a multi-threaded async runtime.
//!
//! What is logged is decided at the call sites, which never log a whole token (ticket,
//! assertion, access or refresh token): the cli test `logs_never_carry_a_token` checks a
//! redemption's logs in both formats.

use anyhow::Context;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (timestamp, level, target, fields, span).
    Json,
}

/// Installs the log subscriber (once) and builds the runtime.
pub fn start(format: LogFormat) -> anyhow::Result<tokio::runtime::Runtime> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
