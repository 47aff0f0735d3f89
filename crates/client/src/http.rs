//! The HTTP side of the client: one `reqwest` client (no redirects, timeouts), bounded body
//! reads and JSON parsing with the step named in every error.

use std::time::Duration;

use serde_json::Value;
use url::Url;

use crate::error::{Step, echo};
use crate::tap;
use crate::{ClientError, Clock};

/// Largest token-endpoint or discovery response read.
pub const MAX_SMALL_BODY: usize = 1 << 20;
/// Largest FHIR response (one page or resource) read.
pub const MAX_FHIR_BODY: usize = 64 << 20;
/// Per-request timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The client: HTTP plus the caller's clock. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    pub(crate) http: reqwest::Client,
    pub(crate) clock: std::sync::Arc<dyn Clock>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// A client that never follows redirects (a redirected POST would carry our assertion and
    /// ticket to wherever the redirect points) and gives up on a request after 30 s.
    pub fn new(clock: std::sync::Arc<dyn Clock>) -> Result<Client, ClientError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("tessera-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Input(format!("cannot build HTTP client: {e}")))?;
        Ok(Client { http, clock })
    }

    /// Fresh random `jti` for an assertion or proof.
    pub(crate) fn new_jti() -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// A response read into memory.
pub(crate) struct Body {
    pub status: u16,
    pub bytes: Vec<u8>,
}

/// Sends a request and reads at most `limit` bytes of its body (recorded when a
/// [`crate::tap::record`] scope is active).
pub(crate) async fn send(
    request: reqwest::RequestBuilder,
    step: Step,
    url: &Url,
    limit: usize,
) -> Result<Body, ClientError> {
    let transport = |e: reqwest::Error| ClientError::Transport {
        step,
        url: url.to_string(),
        reason: echo(&e.without_url().to_string()),
    };
    let (http, request) = request.build_split();
    let request = request.map_err(transport)?;
    let mut seen = crate::tap::active().then(|| tap::Exchange {
        step: step.to_string(),
        method: request.method().to_string(),
        url: request.url().to_string(),
        request_headers: tap::headers(request.headers()),
        request_body: request
            .body()
            .and_then(reqwest::Body::as_bytes)
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default(),
        status: None,
        response_headers: Vec::new(),
        response_body: String::new(),
        error: None,
    });
    let result = read(
        http.execute(request).await,
        &transport,
        step,
        url,
        limit,
        &mut seen,
    )
    .await;
    if let Some(mut exchange) = seen {
        if let Err(e) = &result {
            exchange.error = Some(e.to_string());
        }
        tap::push(exchange);
    }
    result
}

async fn read(
    response: Result<reqwest::Response, reqwest::Error>,
    transport: &impl Fn(reqwest::Error) -> ClientError,
    step: Step,
    url: &Url,
    limit: usize,
    seen: &mut Option<tap::Exchange>,
) -> Result<Body, ClientError> {
    let mut response = response.map_err(transport)?;
    let status = response.status().as_u16();
    if let Some(x) = seen.as_mut() {
        x.status = Some(status);
        x.response_headers = tap::headers(response.headers());
    }
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large(step, url, limit));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if bytes.len() + chunk.len() > limit {
            return Err(too_large(step, url, limit));
        }
        bytes.extend_from_slice(&chunk);
    }
    if let Some(x) = seen.as_mut() {
        x.response_body = String::from_utf8_lossy(&bytes).into_owned();
    }
    Ok(Body { status, bytes })
}

fn too_large(step: Step, url: &Url, limit: usize) -> ClientError {
    ClientError::BadResponse {
        step,
        url: url.to_string(),
        reason: format!("body larger than {limit} bytes"),
    }
}

/// Parses a body as a JSON object.
pub(crate) fn json_object(
    body: &[u8],
    step: Step,
    url: &Url,
) -> Result<serde_json::Map<String, Value>, ClientError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ClientError::BadResponse {
            step,
            url: url.to_string(),
            reason: "body is not a JSON object".into(),
        }),
        Err(e) => Err(ClientError::BadResponse {
            step,
            url: url.to_string(),
            reason: format!("body is not JSON: {e}"),
        }),
    }
}
