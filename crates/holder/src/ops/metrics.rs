//! Prometheus metrics of one Data Holder node (prometheus-client: a registry per node, no
//! global state, so two nodes in one process — tests — never mix their counters).
//!
//! Label values are bounded sets: route templates (never raw paths, so no ids), known
//! methods, pipeline step names, cache kinds. Served in the OpenMetrics text format at the
//! configured `[metrics] listen` address, never on the API port.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tessera_store::durable::{SetOutcome, WriteSet};
use tessera_store::group_commit::CommitObserver;

use crate::trust::fetch::CacheObserver;

/// `(event, outcome, step)` of an audited token-endpoint decision.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    /// `token_exchange`, `refresh`, `introspection`, `registration`, ...
    pub event: String,
    /// `accepted` or `rejected`.
    pub outcome: String,
    /// The failing pipeline step (`none` when accepted).
    pub step: String,
}

/// A redemption's outcome and failing step.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RedemptionLabels {
    /// `accepted` or `rejected`.
    pub outcome: String,
    /// The failing pipeline step (`none` when accepted).
    pub step: String,
}

/// An HTTP endpoint: method and route template.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// Request method (`other` outside the standard set).
    pub method: String,
    /// The matched route template (`unmatched` for the fallback).
    pub route: String,
}

/// An endpoint and the status class it answered.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    /// Request method.
    pub method: String,
    /// The matched route template.
    pub route: String,
    /// `2xx`, `4xx`, ...
    pub status: String,
}

/// Which cache.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    /// `jwks` or `status_list`.
    pub cache: String,
    /// `hit` or `miss` (lookups), absent for errors.
    pub result: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// A gauge read at scrape time (database pool use, from whichever backend has a pool).
type GaugeFn = Box<dyn Fn() -> i64 + Send + Sync>;

struct GaugeCollector {
    name: &'static str,
    help: &'static str,
    read: GaugeFn,
}

impl std::fmt::Debug for GaugeCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GaugeCollector")
            .field("name", &self.name)
            .finish()
    }
}

impl prometheus_client::collector::Collector for GaugeCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let gauge = ConstGauge::new((self.read)());
        let metric = encoder.encode_descriptor(self.name, self.help, None, gauge.metric_type())?;
        gauge.encode(metric)
    }
}

/// The node's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    decisions: Family<DecisionLabels, Counter>,
    redemptions: Family<RedemptionLabels, Counter>,
    requests: Family<StatusLabels, Counter>,
    latency: HistogramFamily<RouteLabels>,
    batch_sets: Histogram,
    commit_seconds: Histogram,
    failed_batches: Counter,
    cache_lookups: Family<CacheLabels, Counter>,
    cache_fetch_errors: Family<CacheLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// Every metric registered, all at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "tessera_token_endpoint_decisions",
            "Audited decisions: of the token, introspection and registration endpoints, and the refusals of the FHIR API (event fhir_access) and admin endpoints (admin_access)",
            decisions.clone(),
        );
        let redemptions = Family::<RedemptionLabels, Counter>::default();
        registry.register(
            "tessera_redemptions",
            "Ticket redemptions (token exchange) by outcome and failing step, counted when the audit row is durable",
            redemptions.clone(),
        );
        let requests = Family::<StatusLabels, Counter>::default();
        registry.register(
            "tessera_http_requests",
            "HTTP requests by route template and status class",
            requests.clone(),
        );
        let latency: HistogramFamily<RouteLabels> = Family::new_with_constructor(latency_histogram);
        registry.register(
            "tessera_http_request_duration_seconds",
            "Time to the response head, by route template",
            latency.clone(),
        );
        let batch_sets = Histogram::new(exponential_buckets(1.0, 2.0, 9));
        registry.register(
            "tessera_group_commit_batch_sets",
            "Write sets per group-commit batch",
            batch_sets.clone(),
        );
        let commit_seconds = latency_histogram();
        registry.register(
            "tessera_group_commit_duration_seconds",
            "Time of one batch's commit_batch call: transaction and fsync",
            commit_seconds.clone(),
        );
        let failed_batches = Counter::default();
        registry.register(
            "tessera_group_commit_failed_batches",
            "Batches that failed (nothing of them written, every submitter answered with an error)",
            failed_batches.clone(),
        );
        let cache_lookups = Family::<CacheLabels, Counter>::default();
        registry.register(
            "tessera_cache_lookups",
            "JWKS and status-list cache lookups by result",
            cache_lookups.clone(),
        );
        let cache_fetch_errors = Family::<CacheLabels, Counter>::default();
        registry.register(
            "tessera_cache_fetch_errors",
            "JWKS and status-list fetches that failed (unreachable, refused, unparseable)",
            cache_fetch_errors.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            decisions,
            redemptions,
            requests,
            latency,
            batch_sets,
            commit_seconds,
            failed_batches,
            cache_lookups,
            cache_fetch_errors,
        }
    }

    /// Adds a gauge read at every scrape (e.g. a database pool's open connections).
    pub fn register_gauge(
        &self,
        name: &'static str,
        help: &'static str,
        read: impl Fn() -> i64 + Send + Sync + 'static,
    ) {
        let collector = GaugeCollector {
            name,
            help,
            read: Box::new(read),
        };
        match self.registry.lock() {
            Ok(mut r) => r.register_collector(Box::new(collector)),
            Err(poisoned) => poisoned
                .into_inner()
                .register_collector(Box::new(collector)),
        }
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = match self.registry.lock() {
            Ok(r) => r,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry) {
            tracing::error!(error = %e, "metrics encoding failed");
        }
        out
    }

    /// The observer for the `cache` kind (`jwks`, `status_list`).
    pub fn cache_observer(self: &Arc<Self>, cache: &'static str) -> Arc<dyn CacheObserver> {
        Arc::new(CacheMetrics {
            metrics: self.clone(),
            cache,
        })
    }

    fn observe_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let route_labels = RouteLabels {
            method: method.to_owned(),
            route: route.to_owned(),
        };
        self.latency
            .get_or_create(&route_labels)
            .observe(took.as_secs_f64());
        self.requests
            .get_or_create(&StatusLabels {
                method: route_labels.method,
                route: route_labels.route,
                status: format!("{}xx", status / 100),
            })
            .inc();
    }

    fn count_decision(&self, rec: &tessera_store::audit::AuditRecord) {
        let step = rec.step.clone().unwrap_or_else(|| "none".to_owned());
        if rec.event == "token_exchange" {
            self.redemptions
                .get_or_create(&RedemptionLabels {
                    outcome: rec.outcome.clone(),
                    step: step.clone(),
                })
                .inc();
        }
        self.decisions
            .get_or_create(&DecisionLabels {
                event: rec.event.clone(),
                outcome: rec.outcome.clone(),
                step,
            })
            .inc();
    }
}

/// Counts what each committed set actually wrote: its audit rows, or the conflict's row.
impl CommitObserver for Metrics {
    fn committed(&self, sets: &[WriteSet], outcomes: &[SetOutcome], took: Duration) {
        self.batch_sets.observe(sets.len() as f64);
        self.commit_seconds.observe(took.as_secs_f64());
        for (set, outcome) in sets.iter().zip(outcomes) {
            match outcome {
                SetOutcome::Committed => set.audit.iter().for_each(|r| self.count_decision(r)),
                SetOutcome::Conflict(i) => {
                    if let Some(r) = set.once.get(*i).and_then(|k| k.on_conflict.as_ref()) {
                        self.count_decision(r);
                    }
                }
                SetOutcome::RefreshReused => {
                    if let Some(rot) = &set.rotation {
                        self.count_decision(&rot.on_reuse);
                    }
                }
            }
        }
    }

    fn failed(&self, _sets: usize, took: Duration) {
        self.failed_batches.inc();
        self.commit_seconds.observe(took.as_secs_f64());
    }
}

#[derive(Debug)]
struct CacheMetrics {
    metrics: Arc<Metrics>,
    cache: &'static str,
}

impl CacheMetrics {
    fn labels(&self, result: &str) -> CacheLabels {
        CacheLabels {
            cache: self.cache.to_owned(),
            result: result.to_owned(),
        }
    }
}

impl CacheObserver for CacheMetrics {
    fn hit(&self) {
        self.metrics
            .cache_lookups
            .get_or_create(&self.labels("hit"))
            .inc();
    }
    fn miss(&self) {
        self.metrics
            .cache_lookups
            .get_or_create(&self.labels("miss"))
            .inc();
    }
    fn fetch_error(&self) {
        self.metrics
            .cache_fetch_errors
            .get_or_create(&self.labels("error"))
            .inc();
    }
}

/// Middleware: latency and status class per route template.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = match req.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS") => m,
        _ => "other",
    }
    .to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    metrics.observe_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// `GET /metrics` on the metrics listener.
pub async fn metrics_handler(State(metrics): State<Arc<Metrics>>) -> Response {
    (
        [(
            http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.render(),
    )
        .into_response()
}

/// Registers the database pool gauges, read at every scrape, when the stores have a pool
/// (PostgreSQL): an operator running N nodes against the server's `max_connections` needs to
/// see how many connections each node holds and how many are busy. Both stores of a node share
/// one pool (`tessera_store_pg::open`), so one set of gauges describes it; the token store's is
/// read when both report one.
pub fn register_pool_gauges(
    metrics: &Metrics,
    store: &Arc<dyn tessera_store::ResourceStore>,
    db: &Arc<dyn tessera_store::durable::TokenStore>,
) {
    let read: Arc<dyn Fn() -> Option<tessera_store::PoolUse> + Send + Sync> =
        if db.pool_use().is_some() {
            let db = db.clone();
            Arc::new(move || db.pool_use())
        } else if store.pool_use().is_some() {
            let store = store.clone();
            Arc::new(move || store.pool_use())
        } else {
            return;
        };
    let gauge = |name, help, pick: fn(tessera_store::PoolUse) -> usize| {
        let read = read.clone();
        metrics.register_gauge(name, help, move || read().map_or(0, |u| to_i64(pick(u))));
    };
    gauge(
        "tessera_db_pool_connections_open",
        "Database connections the node's pool has open (idle or in use)",
        |u| u.open,
    );
    gauge(
        "tessera_db_pool_connections_in_use",
        "Database connections checked out of the node's pool now",
        |u| u.in_use,
    );
    gauge(
        "tessera_db_pool_connections_max",
        "The most database connections the node's pool opens",
        |u| u.max,
    );
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The metrics listener's router: `GET /metrics` only.
pub fn metrics_router(metrics: Arc<Metrics>) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(metrics_handler))
        .with_state(metrics)
}
