//! What a node behind a load balancer needs besides the API: liveness and readiness
//! (`health`), Prometheus metrics (`metrics`), and start-up cache warming (`warm`).
//! docs/deployment.md describes how operators use them.

pub mod health;
pub mod metrics;
pub mod warm;

use axum::Router;
use axum::routing::get;

use crate::state::HolderState;

/// `GET /healthz` and `GET /readyz`, at the root whatever the base URL's path (probes are
/// configured per host, not per FHIR base), never behind client authentication.
pub fn probe_routes(state: HolderState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .with_state(state)
}
