//! The kit's issuer host: a small HTTP server on an address the kit binds itself, serving the
//! issuer JWKS (also as its self-issued identity's), the client JWKS, the identity provider's
//! OIDC discovery and JWKS, the federation's statements, the UDAP issuer's signed metadata, and
//! status lists whose bits the kit flips, plus deliberately broken variants (an unavailable
//! JWKS, malformed lists). Every request is logged so checks can assert what the target fetched
//! (PT-REV-01, PT-REV-08, PT-VAL-11).

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tessera_jose::b64;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{IDP_PATH, SELF_ISSUER_PATH};
use crate::federation::{Docs, ENTITY_STATEMENT, FEDERATION_PATH};
use crate::pki::UDAP_ISSUER_PATH;

/// Bits in the kit's status list.
pub const LIST_BITS: u64 = 1024;
/// Bits from here on are never allocated: PT-REV-06 sets them by hand.
pub const RESERVED_FROM: u64 = 960;
/// Path of the issuer JWKS under the issuer URL.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// Path prefix of an issuer no target should trust (PT-VAL-11).
pub const UNTRUSTED_PREFIX: &str = "/untrusted";
/// Path of the kit's well-known client entity (Proposal 006) under the issuer URL.
pub const WELL_KNOWN_CLIENT_PATH: &str = "/well-known-client";
/// An entity with the same keys that no framework lists (PT-CA-09).
pub const UNLISTED_CLIENT_PATH: &str = "/unlisted-client";
/// Path of the identity provider's JWKS under its `iss`.
pub const IDP_JWKS: &str = "/jwks.json";

/// What the host publishes besides status lists.
#[derive(Debug, Clone)]
pub struct Published {
    /// The ticket issuer's JWK Set.
    pub issuer: Value,
    /// The client's JWK Set.
    pub client: Value,
    /// The identity provider's JWK Set.
    pub idp: Value,
    /// The federation's entity statements.
    pub federation: Docs,
    /// The UDAP ticket issuer's `/.well-known/udap` (with `signed_metadata`).
    pub udap_issuer: Option<Value>,
}

struct Shared {
    issuer_jwks: Value,
    client_jwks: Value,
    idp_jwks: Value,
    idp_metadata: Value,
    federation: Docs,
    udap_issuer: Option<Value>,
    bits: Mutex<Vec<u8>>,
    jwks_down: AtomicBool,
    next_index: AtomicU64,
    log: Mutex<Vec<String>>,
}

/// The running host.
pub struct Host {
    shared: Arc<Shared>,
    /// The issuer URL (`iss`).
    pub url: String,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Host {
    /// Serves on `listener`; `url` is the issuer URL (its path, if any, prefixes every route).
    pub fn start(listener: TcpListener, url: &str, jwks: Published) -> Host {
        let idp = format!("{url}{IDP_PATH}");
        let shared = Arc::new(Shared {
            issuer_jwks: jwks.issuer,
            client_jwks: jwks.client,
            idp_jwks: jwks.idp,
            federation: jwks.federation,
            udap_issuer: jwks.udap_issuer,
            idp_metadata: json!({
                "issuer": idp,
                "jwks_uri": format!("{idp}{IDP_JWKS}"),
                "id_token_signing_alg_values_supported": ["ES256"],
            }),
            bits: Mutex::new(vec![0; (LIST_BITS / 8) as usize]),
            jwks_down: AtomicBool::new(false),
            next_index: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
        });
        let routes = Router::new()
            .route(JWKS_PATH, get(issuer_jwks_handler))
            .route("/client/jwks.json", get(client_jwks_handler))
            .route(
                &format!("{UNTRUSTED_PREFIX}{JWKS_PATH}"),
                get(issuer_jwks_handler),
            )
            .route(
                &format!("{SELF_ISSUER_PATH}{JWKS_PATH}"),
                get(issuer_jwks_handler),
            )
            .route("/status/{name}", get(status_handler))
            .route(
                &format!("{IDP_PATH}/.well-known/openid-configuration"),
                get(idp_metadata_handler),
            )
            .route(&format!("{IDP_PATH}{IDP_JWKS}"), get(idp_jwks_handler))
            .route(
                &format!("{UDAP_ISSUER_PATH}/.well-known/udap"),
                get(udap_issuer_handler),
            )
            .route(
                &format!("{FEDERATION_PATH}/{{*rest}}"),
                get(federation_handler),
            )
            .route(
                &format!("{WELL_KNOWN_CLIENT_PATH}{JWKS_PATH}"),
                get(client_jwks_handler),
            )
            .route(
                &format!("{UNLISTED_CLIENT_PATH}{JWKS_PATH}"),
                get(client_jwks_handler),
            );
        let prefix = url::Url::parse(url)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        let app = if prefix.is_empty() {
            routes
        } else {
            Router::new().nest(&prefix, routes)
        }
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            log_request,
        ))
        .with_state(shared.clone());
        let (stop, mut rx) = watch::channel(false);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.wait_for(|s| *s).await;
                })
                .await;
        });
        Host {
            shared,
            url: url.to_owned(),
            stop,
            task,
        }
    }

    /// A fresh status-list index (never reused within a run).
    pub fn allocate_index(&self) -> u64 {
        self.shared.next_index.fetch_add(1, Ordering::Relaxed) % RESERVED_FROM
    }

    /// Sets or clears one bit of the main list (LSB-first within each byte).
    pub fn set_bit(&self, index: u64, revoked: bool) {
        let mut bits = self
            .shared
            .bits
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(byte) = bits.get_mut((index / 8) as usize) {
            let mask = 1u8 << (index % 8);
            if revoked {
                *byte |= mask;
            } else {
                *byte &= !mask;
            }
        }
    }

    /// Makes the issuer JWKS answer 503 (or serve again).
    pub fn set_jwks_down(&self, down: bool) {
        self.shared.jwks_down.store(down, Ordering::SeqCst);
    }

    /// The URL of a status list served here (`main`, or a broken variant).
    pub fn status_url(&self, name: &str) -> String {
        format!("{}/status/{name}", self.url)
    }

    /// How many requests so far had a path containing `needle`.
    pub fn requests_matching(&self, needle: &str) -> usize {
        self.shared
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|p| p.contains(needle))
            .count()
    }

    /// Stops the server.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn log_request(
    State(s): State<Arc<Shared>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    s.log
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(req.uri().path().to_owned());
    next.run(req).await
}

/// Every response of the host is uncacheable: a flipped bit or a restored JWKS must show on the
/// target's next fetch.
fn no_store(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn json_response(v: &Value) -> Response {
    no_store(
        StatusCode::OK,
        "application/json",
        v.to_string().into_bytes(),
    )
}

async fn issuer_jwks_handler(State(s): State<Arc<Shared>>) -> Response {
    if s.jwks_down.load(Ordering::SeqCst) {
        return no_store(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            b"down".to_vec(),
        );
    }
    json_response(&s.issuer_jwks)
}

async fn client_jwks_handler(State(s): State<Arc<Shared>>) -> Response {
    json_response(&s.client_jwks)
}

async fn federation_handler(State(s): State<Arc<Shared>>, uri: axum::http::Uri) -> Response {
    let sub = uri.query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "sub")
            .map(|(_, v)| v.into_owned())
    });
    match s.federation.get(&(uri.path().to_owned(), sub)) {
        Some(body) => no_store(StatusCode::OK, ENTITY_STATEMENT, body.clone().into_bytes()),
        None => no_store(StatusCode::NOT_FOUND, "text/plain", Vec::new()),
    }
}

async fn udap_issuer_handler(State(s): State<Arc<Shared>>) -> Response {
    match &s.udap_issuer {
        Some(doc) => json_response(doc),
        None => no_store(StatusCode::NOT_FOUND, "text/plain", Vec::new()),
    }
}

async fn idp_jwks_handler(State(s): State<Arc<Shared>>) -> Response {
    json_response(&s.idp_jwks)
}

async fn idp_metadata_handler(State(s): State<Arc<Shared>>) -> Response {
    json_response(&s.idp_metadata)
}

async fn status_handler(State(s): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    match name.as_str() {
        "main" => {
            let bits = s
                .bits
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            json_response(&json!({"kid": "kit", "bits": b64::encode(gzip(&bits))}))
        }
        "down" => no_store(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            b"down".to_vec(),
        ),
        "not-json" => no_store(StatusCode::OK, "application/json", b"not json".to_vec()),
        "no-bits" => json_response(&json!({"kid": "kit"})),
        "bad-base64" => json_response(&json!({"bits": "!!not base64url!!"})),
        "bad-gzip" => json_response(&json!({"bits": b64::encode(b"not a gzip stream")})),
        "bad-crc" => {
            let mut z = gzip(&[0u8; 16]);
            let n = z.len();
            if let Some(b) = z.get_mut(n.saturating_sub(8)) {
                *b ^= 0xff;
            }
            json_response(&json!({"bits": b64::encode(z)}))
        }
        _ => no_store(StatusCode::NOT_FOUND, "text/plain", Vec::new()),
    }
}

/// gzip of `bytes` (the status list's `bits` before base64url).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}
