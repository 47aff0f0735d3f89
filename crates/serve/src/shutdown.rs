//! The shutdown signal: SIGTERM (what orchestrators and `kill` send) or SIGINT (Ctrl-C).
//!
//! The handlers are installed by [`Shutdown::install`], before the server announces itself:
//! a signal that arrives between start-up and the first poll of the future must still mean
//! "shut down gracefully", not the default action (immediate death).

/// Installed signal handlers; [`Shutdown::wait`] resolves at the first signal.
#[derive(Debug)]
pub struct Shutdown {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Shutdown {
    /// Installs the handlers (needs a running tokio runtime).
    pub fn install() -> std::io::Result<Shutdown> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Shutdown {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Shutdown {})
        }
    }

    /// Resolves when a shutdown signal arrives; logs which one.
    #[cfg_attr(not(unix), allow(unused_mut))]
    pub async fn wait(mut self) {
        #[cfg(unix)]
        let name = tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        };
        #[cfg(not(unix))]
        let name = {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        };
        tracing::info!(
            signal = name,
            "shutting down: no new connections, finishing in-flight requests"
        );
    }
}
