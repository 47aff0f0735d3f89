//! The serving loop the Data Holder and the issuer share: plain HTTP or inbound TLS (rustls,
//! certificate and key from PEM files, for deployments without a terminating proxy), and
//! graceful shutdown on SIGTERM or Ctrl-C — stop accepting, let every in-flight request finish,
//! then return so the caller can drain its own writers and exit 0.

pub mod operator;
pub mod shutdown;
pub mod tls;

use std::future::Future;

use axum::Router;
use tokio::net::TcpListener;

pub use shutdown::Shutdown;
pub use tls::{FileTls, TlsError, TlsFiles, TlsListener, load_acceptor};

/// Serves `router` on `tcp` (over TLS when `tls` is given) until `shutdown` resolves, then
/// waits for the connections' in-flight requests to complete.
pub async fn serve(
    tcp: TcpListener,
    router: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match tls {
        None => {
            axum::serve(tcp, router)
                .with_graceful_shutdown(shutdown)
                .await
        }
        Some(acceptor) => {
            axum::serve(TlsListener::new(tcp, acceptor)?, router)
                .with_graceful_shutdown(shutdown)
                .await
        }
    }
}
