//! Running the Data Holder: open the stores, ingest the configured bundles (idempotent), build
//! the state and serve until Ctrl-C.

use std::sync::Arc;

use tessera_store::token_db::TokenDb;
use tessera_store::{IngestOptions, ResourceStore, SiteMode, SqliteStore, ingest_path};

use crate::app::app;
use crate::config::{Config, StoreLocation};
use crate::state::{Clock, HolderState};

/// A start-up or serving failure, with a message fit for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ServeError(pub String);

/// Opens the resource store and the token tables for `config`.
pub fn open_stores(config: &Config) -> Result<(Arc<dyn ResourceStore>, Arc<TokenDb>), ServeError> {
    match &config.store {
        StoreLocation::SqliteFile(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    ServeError(format!(
                        "config key `store`: cannot create {}: {e}",
                        dir.display()
                    ))
                })?;
            }
            let store = SqliteStore::open(path)
                .map_err(|e| ServeError(format!("config key `store`: {e}")))?;
            let db =
                TokenDb::open(path).map_err(|e| ServeError(format!("config key `store`: {e}")))?;
            Ok((Arc::new(store), Arc::new(db)))
        }
        StoreLocation::SqliteMemory => {
            let store = SqliteStore::open_in_memory().map_err(|e| ServeError(e.to_string()))?;
            let db = TokenDb::open_in_memory().map_err(|e| ServeError(e.to_string()))?;
            Ok((Arc::new(store), Arc::new(db)))
        }
    }
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
    for (i, path) in config.load.iter().enumerate() {
        let report = ingest_path(store, path, &opts)
            .map_err(|e| ServeError(format!("config key `load[{i}]`: {e}")))?;
        for err in report.errors.iter().take(20) {
            tracing::warn!(error = %err, "ingest skipped an entry");
        }
    }
    Ok(())
}

/// Builds everything and serves on `config.listen` until Ctrl-C.
pub async fn serve(config: Config, clock: Arc<dyn Clock>) -> Result<(), ServeError> {
    let (store, db) = open_stores(&config)?;
    {
        let cfg = config.clone();
        let store = store.clone();
        let now = clock.now();
        tokio::task::spawn_blocking(move || ingest_configured(&cfg, store.as_ref(), now))
            .await
            .map_err(|e| ServeError(e.to_string()))??;
    }
    let listen = config.listen;
    let state = HolderState::new(config, clock, store, db).map_err(ServeError)?;
    let router = app(state).map_err(ServeError)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| ServeError(format!("cannot bind {listen}: {e}")))?;
    // The bound address, not the configured one: `listen = "127.0.0.1:0"` picks a free port,
    // and whoever started us (tests, `tessera bench`) reads it from this line.
    let bound = listener
        .local_addr()
        .map_err(|e| ServeError(format!("cannot read the bound address: {e}")))?;
    tracing::info!(listen = %bound, "Data Holder listening");
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| ServeError(e.to_string()))
}
