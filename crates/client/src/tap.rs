//! Seeing the wire: an opt-in record of every HTTP exchange the client makes while a future
//! runs inside [`record`]. The workbench uses it to show the real requests and responses of a
//! redemption instead of a reconstruction. Nothing is recorded outside a `record` scope, so
//! ordinary callers pay one task-local lookup per request.

use std::future::Future;
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// One HTTP exchange as it went over the wire (bodies as text, lossily decoded).
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    /// What the client was doing (`token exchange`, `FHIR fetch`, ...).
    pub step: String,
    /// `GET` / `POST`.
    pub method: String,
    /// The request URL.
    pub url: String,
    /// Request headers in order.
    pub request_headers: Vec<(String, String)>,
    /// Request body.
    pub request_body: String,
    /// Response status; `None` when no response arrived.
    pub status: Option<u16>,
    /// Response headers in order.
    pub response_headers: Vec<(String, String)>,
    /// Response body (as read: bounded by the client's limits).
    pub response_body: String,
    /// The transport failure, when there was one.
    pub error: Option<String>,
}

#[derive(Default)]
struct Tap(Mutex<Vec<Exchange>>);

tokio::task_local! {
    static TAP: Arc<Tap>;
}

/// Runs `f`, returning its output and every exchange the client made while it ran.
pub async fn record<F: Future>(f: F) -> (F::Output, Vec<Exchange>) {
    let tap = Arc::new(Tap::default());
    let out = TAP.scope(tap.clone(), f).await;
    let seen = match tap.0.lock() {
        Ok(mut v) => std::mem::take(&mut *v),
        Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
    };
    (out, seen)
}

/// Whether a `record` scope is active (so callers skip copying bodies otherwise).
pub(crate) fn active() -> bool {
    TAP.try_with(|_| ()).is_ok()
}

/// Adds one exchange to the active scope, if any.
pub(crate) fn push(exchange: Exchange) {
    let _ = TAP.try_with(|tap| {
        if let Ok(mut v) = tap.0.lock() {
            v.push(exchange);
        }
    });
}

/// Headers as `(name, value)` text pairs, in order (as an [`Exchange`] records them).
pub fn headers(map: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}
