//! `[metrics]`, `[tls]` and `[workbench]`: how the node is operated, not what it decides.

use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;
use tessera_serve::{FileTls, TlsFiles};

use super::{ConfigError, invalid};

/// `[metrics]` as written by operators.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileMetrics {
    /// Address of the Prometheus endpoint (`GET /metrics`); absent: no metrics listener.
    #[serde(default)]
    pub listen: Option<String>,
}

/// The validated `[metrics]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsConfig {
    /// Where `GET /metrics` is served (off when `None`).
    pub listen: Option<SocketAddr>,
}

pub(super) fn validate_metrics(file: FileMetrics) -> Result<MetricsConfig, ConfigError> {
    let listen = file
        .listen
        .map(|l| {
            l.parse::<SocketAddr>()
                .map_err(|e| invalid("metrics.listen", format!("not a socket address: {e}")))
        })
        .transpose()?;
    Ok(MetricsConfig { listen })
}

/// `[tls]` resolved against the configuration file's directory (files are read at start-up
/// by `serve`, which names the file at fault).
pub(super) fn validate_tls(file: Option<FileTls>, dir: &Path) -> Option<TlsFiles> {
    file.map(|f| TlsFiles::resolve(&f, dir))
}

/// `[workbench]` as written by operators.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileWorkbench {
    /// Serve the operator's workbench at `[base]/workbench` (off by default).
    #[serde(default)]
    pub enabled: bool,
}

/// The validated `[workbench]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkbenchConfig {
    /// `[base]/workbench` is served.
    pub enabled: bool,
}

/// The workbench's API answers only the admin secret's holder, so it needs one.
pub(super) fn validate_workbench(
    file: FileWorkbench,
    admin_token: Option<&str>,
) -> Result<WorkbenchConfig, ConfigError> {
    if file.enabled && admin_token.is_none() {
        return Err(invalid(
            "workbench.enabled",
            "needs admin_token: the workbench's API answers operators holding the admin secret",
        ));
    }
    Ok(WorkbenchConfig {
        enabled: file.enabled,
    })
}
