//! Running the Data Holder: open the stores, ingest the configured bundles (idempotent), build
//! the state and serve until SIGTERM or Ctrl-C, then shut down gracefully.

use std::sync::Arc;

use tessera_store::audit::AuditChainStore;
use tessera_store::durable::TokenStore;
use tessera_store::token_db::TokenDb;
use tessera_store::{IngestOptions, ResourceStore, SiteMode, SqliteStore, ingest_path};

use crate::app::app;
use crate::config::{Config, StoreLocation};
use crate::state::{Clock, HolderState};

/// A start-up or serving failure, with a message fit for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ServeError(pub String);

/// The resource store and the token store of one configuration.
pub type Stores = (Arc<dyn ResourceStore>, Arc<dyn TokenStore>);

/// Opens the resource store and the token store for `config`: both in one SQLite file (or
/// memory), or both in one PostgreSQL database shared with every other node configured with
/// it. A PostgreSQL server that would acknowledge commits before they are durable is refused.
pub fn open_stores(config: &Config) -> Result<Stores, ServeError> {
    match &config.store {
        StoreLocation::SqliteFile(path) => {
            create_parent(path)?;
            let store = SqliteStore::open(path).map_err(store_error)?;
            let db = TokenDb::open(path).map_err(store_error)?;
            Ok((Arc::new(store), Arc::new(db)))
        }
        StoreLocation::SqliteMemory => {
            let store = SqliteStore::open_in_memory().map_err(|e| ServeError(e.to_string()))?;
            let db = TokenDb::open_in_memory().map_err(|e| ServeError(e.to_string()))?;
            Ok((Arc::new(store), Arc::new(db)))
        }
        StoreLocation::Postgres(url) => {
            let (store, tokens) = open_postgres(url)?;
            Ok((store, tokens))
        }
    }
}

/// Opens only the token store of `config` (`tessera audit`): the audit trail, registrations
/// and tokens, without the resource store.
pub fn open_token_store(config: &Config) -> Result<Arc<dyn TokenStore>, ServeError> {
    match &config.store {
        StoreLocation::SqliteFile(path) => {
            create_parent(path)?;
            Ok(Arc::new(TokenDb::open(path).map_err(store_error)?))
        }
        StoreLocation::SqliteMemory => Err(ServeError(
            "config key `store`: an in-memory store keeps no audit trail to query".into(),
        )),
        StoreLocation::Postgres(url) => Ok(open_postgres(url)?.1),
    }
}

/// Opens the audit trail's chain of `config` (`tessera audit verify | head`).
pub fn open_audit_chain(config: &Config) -> Result<Box<dyn AuditChainStore>, ServeError> {
    match &config.store {
        StoreLocation::SqliteFile(path) => {
            create_parent(path)?;
            Ok(Box::new(TokenDb::open(path).map_err(store_error)?))
        }
        StoreLocation::SqliteMemory => Err(ServeError(
            "config key `store`: an in-memory store keeps no audit trail to query".into(),
        )),
        StoreLocation::Postgres(url) => {
            let tokens = open_postgres(url)?.1;
            Ok(Box::new(Arc::unwrap_or_clone(tokens)))
        }
    }
}

fn open_postgres(
    url: &str,
) -> Result<
    (
        Arc<tessera_store_pg::PgStore>,
        Arc<tessera_store_pg::PgTokenStore>,
    ),
    ServeError,
> {
    tessera_store_pg::blocking::run(|| {
        tessera_store_pg::open(url, tessera_store_pg::PoolOptions::default())
    })
    .map_err(store_error)
}

fn create_parent(path: &std::path::Path) -> Result<(), ServeError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            ServeError(format!(
                "config key `store`: cannot create {}: {e}",
                dir.display()
            ))
        })?;
    }
    Ok(())
}

fn store_error(e: impl std::fmt::Display) -> ServeError {
    ServeError(format!("config key `store`: {e}"))
}

/// Ingests every configured `load` path.
pub fn ingest_configured(
    config: &Config,
    store: &dyn ResourceStore,
    now: i64,
) -> Result<(), ServeError> {
    let opts = IngestOptions {
        now,
        sites: SiteMode::PerBundleFile,
    };
    let mut written = 0;
    for (i, path) in config.load.iter().enumerate() {
        let report = ingest_path(store, path, &opts)
            .map_err(|e| ServeError(format!("config key `load[{i}]`: {e}")))?;
        for err in report.errors.iter().take(20) {
            tracing::warn!(error = %err, "ingest skipped an entry");
        }
        written += report.created + report.updated;
    }
    // A restart over unchanged data skips this: it has nothing new to plan on.
    if written > 0 {
        store
            .settle_after_load()
            .map_err(|e| ServeError(format!("after loading `load`: {e}")))?;
    }
    Ok(())
}

/// Builds everything and serves on `config.listen` (over TLS when `[tls]` is configured, with
/// metrics on `[metrics] listen` when set) until SIGTERM or Ctrl-C; then stops accepting,
/// finishes in-flight requests and waits until every write set they queued is durable.
pub async fn serve(config: Config, clock: Arc<dyn Clock>) -> Result<(), ServeError> {
    // Read before anything else: a bad certificate must stop start-up before the stores open.
    let tls = match &config.tls {
        Some(files) => {
            Some(tessera_serve::load_acceptor(files).map_err(|e| ServeError(e.to_string()))?)
        }
        None => None,
    };
    let shutdown = tessera_serve::Shutdown::install()
        .map_err(|e| ServeError(format!("cannot install signal handlers: {e}")))?;
    let listen = config.listen;
    let metrics_listen = config.metrics.listen;
    // Opening, ingest and building the state and router make blocking store calls (SQLite, or
    // the PostgreSQL client, which refuses to block a thread that drives async tasks): all on
    // a blocking thread.
    let (state, router) = tokio::task::spawn_blocking(move || {
        let (store, db) = open_stores(&config)?;
        ingest_configured(&config, store.as_ref(), clock.now())?;
        let state = HolderState::new(config, clock, store, db).map_err(ServeError)?;
        let router = app(state.clone()).map_err(ServeError)?;
        Ok::<_, ServeError>((state, router))
    })
    .await
    .map_err(|e| ServeError(e.to_string()))??;
    let metrics_task = match metrics_listen {
        Some(addr) => Some(serve_metrics(addr, &state).await?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| ServeError(format!("cannot bind {listen}: {e}")))?;
    // The bound address, not the configured one: `listen = "127.0.0.1:0"` picks a free port,
    // and whoever started us (tests, `tessera bench`) reads it from this line.
    let bound = listener
        .local_addr()
        .map_err(|e| ServeError(format!("cannot read the bound address: {e}")))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(listen = %bound, scheme, "Data Holder listening");
    {
        let state = state.clone();
        tokio::spawn(async move { crate::ops::warm::warm_up(&state).await });
    }
    let served = tessera_serve::serve(listener, router, tls, shutdown.wait()).await;
    if let Some(task) = metrics_task {
        task.abort();
    }
    drain_writer(&state).await;
    served.map_err(|e| ServeError(e.to_string()))?;
    tracing::info!("Data Holder stopped");
    Ok(())
}

/// Binds the metrics listener and serves `GET /metrics` on it until aborted.
async fn serve_metrics(
    addr: std::net::SocketAddr,
    state: &HolderState,
) -> Result<tokio::task::JoinHandle<()>, ServeError> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        ServeError(format!(
            "config key `metrics.listen`: cannot bind {addr}: {e}"
        ))
    })?;
    let bound = listener
        .local_addr()
        .map_err(|e| ServeError(format!("cannot read the metrics address: {e}")))?;
    tracing::info!(metrics = %bound, "metrics listening");
    let router = crate::ops::metrics::metrics_router(state.metrics().clone());
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "metrics listener failed");
        }
    }))
}

/// Waits until every write set queued before this call is durable: the writer commits in
/// queue order, so once an empty set queued last has its outcome, so has everything before it
/// (including sets of requests whose clients disconnected before their answer).
async fn drain_writer(state: &HolderState) {
    let barrier = tessera_store::durable::WriteSet {
        now: state.now(),
        ..Default::default()
    };
    if let Err(e) = state.writer().commit(barrier).await {
        tracing::error!(error = %e, "the writer could not be drained at shutdown");
    }
}
