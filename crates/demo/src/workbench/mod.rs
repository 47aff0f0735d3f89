//! The web workbench (`tessera demo --keep-running`): compose a ticket, mint and inspect it,
//! redeem it as a chosen client, browse what was released and why the rest was held back, and
//! follow the whole exchange as a trace. Server-rendered page plus one plain script, embedded in
//! the binary (no build step, no CDN, nothing fetched at run time).
//!
//! It exists only in demo mode: it signs as the demo's clients and minting consoles, whose keys
//! were generated for this run. It never holds a key of the Data Holder.

mod api;
mod compose;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use api::{HolderTarget, Workbench};
pub use compose::Composition;

use crate::env::DemoEnv;
use crate::network::NetworkHolder;

/// Largest request body the workbench reads.
const MAX_BODY: usize = 256 * 1024;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// The workbench's router; `network`: the network Data Holder it may also redeem at.
pub fn router(env: Arc<DemoEnv>, network: Option<HolderTarget>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { page("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/app.js",
            get(|| async { page("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/app.css",
            get(|| async { page("text/css; charset=utf-8", APP_CSS) }),
        )
        .route("/api/world", get(world))
        .route("/api/check", post(check))
        .route("/api/mint", post(mint))
        .route("/api/inspect", post(inspect))
        .route("/api/revoke", post(revoke))
        .route("/api/redeem", post(redeem))
        .route("/api/browse", post(browse))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(Workbench::new(env, network))
}

/// A running workbench server.
#[derive(Debug)]
pub struct Running {
    /// Its URL (`http://127.0.0.1:PORT/`).
    pub url: String,
    /// The network Data Holder's FHIR base (the same sites, records linked per person).
    pub network_base_url: String,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
    network: NetworkHolder,
}

impl Running {
    /// Stops the server and the network Data Holder, and waits for them.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
        self.network.stop().await;
    }
}

/// Serves the workbench on `addr` (port 0: any free port), with a network Data Holder of the
/// demo's sites beside it (its own store, `workbench-network.db` in the run directory).
pub async fn serve(env: Arc<DemoEnv>, addr: SocketAddr) -> std::io::Result<Running> {
    let listener = TcpListener::bind(addr).await?;
    let url = format!("http://{}/", listener.local_addr()?);
    let network = NetworkHolder::start(&env, "workbench-network")
        .await
        .map_err(|e| std::io::Error::other(format!("network Data Holder: {e}")))?;
    let target = HolderTarget {
        key: "network",
        base_url: network.base_url.clone(),
        state: network.state.clone(),
    };
    let (shutdown, mut rx) = watch::channel(false);
    let app = router(env, Some(target));
    let task = tokio::spawn(async move {
        let stop = async move {
            let _ = rx.wait_for(|v| *v).await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!(error = %e, "workbench server");
        }
    });
    Ok(Running {
        url,
        network_base_url: network.base_url.clone(),
        shutdown,
        task,
        network,
    })
}

fn page(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'",
            ),
        ],
        body,
    )
        .into_response()
}

fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("bad request: {e}"))
}

fn bad_request(error: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": error, "trace": [] })),
    )
        .into_response()
}

fn answer(result: Result<Value, api::Problem>) -> Response {
    match result {
        Ok(v) => ([(header::CACHE_CONTROL, "no-store")], Json(v)).into_response(),
        Err(p) => (StatusCode::UNPROCESSABLE_ENTITY, Json(p)).into_response(),
    }
}

async fn world(State(w): State<Workbench>) -> Response {
    answer(w.world())
}

async fn check(State(w): State<Workbench>, body: Bytes) -> Response {
    match parse::<Composition>(&body) {
        Ok(c) => answer(w.check(&c).await),
        Err(e) => bad_request(e),
    }
}

async fn mint(State(w): State<Workbench>, body: Bytes) -> Response {
    match parse::<Composition>(&body) {
        Ok(c) => answer(w.mint(&c).await),
        Err(e) => bad_request(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InspectRequest {
    ticket: String,
}

async fn inspect(State(w): State<Workbench>, body: Bytes) -> Response {
    match parse::<InspectRequest>(&body) {
        Ok(r) => answer(w.inspect(&r.ticket)),
        Err(e) => bad_request(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeRequest {
    issuer: String,
    jti: String,
}

async fn revoke(State(w): State<Workbench>, body: Bytes) -> Response {
    match parse::<RevokeRequest>(&body) {
        Ok(r) => answer(w.revoke(&r.issuer, &r.jti).await),
        Err(e) => bad_request(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RedeemRequest {
    ticket: String,
    client: String,
    #[serde(default)]
    dpop: bool,
    /// `site` (default) or `network`.
    #[serde(default)]
    holder: Option<String>,
}

async fn redeem(State(w): State<Workbench>, body: Bytes) -> Response {
    match parse::<RedeemRequest>(&body) {
        Ok(r) => answer(
            w.redeem(
                &r.ticket,
                &r.client,
                r.dpop,
                r.holder.as_deref().unwrap_or("site"),
            )
            .await,
        ),
        Err(e) => bad_request(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BrowseRequest {
    session: String,
}

async fn browse(State(w): State<Workbench>, body: Bytes) -> Response {
    match parse::<BrowseRequest>(&body) {
        Ok(r) => answer(w.browse(&r.session).await),
        Err(e) => bad_request(e),
    }
}
