//! HTTP toward the target: no redirects followed, a timeout per request, bounded body reads, and
//! every exchange recorded (secrets shortened) so a failure shows what was sent and received.
//! A hostile or broken server yields an [`Exchange`] with `error` set, never a panic.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

/// Bytes of a response body kept in a report.
const REPORT_BODY: usize = 2000;

/// One request and what came back.
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    /// `GET` / `POST`.
    pub method: String,
    /// The URL.
    pub url: String,
    /// Request headers worth showing (credentials shortened).
    pub request_headers: Vec<(String, String)>,
    /// The request body (form values that are tokens shortened).
    pub request_body: Option<String>,
    /// Status code, when a response arrived.
    pub status: Option<u16>,
    /// Response headers.
    pub response_headers: Vec<(String, String)>,
    /// The response body as text (truncated in reports).
    pub response_body: String,
    /// Transport-level failure (timeout, refused, too large).
    pub error: Option<String>,
    #[serde(skip)]
    bytes: Vec<u8>,
}

impl Exchange {
    /// The body parsed as JSON, if it is.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.bytes).ok()
    }

    /// The raw body.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A response header (first value).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.response_headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `status` or 0 when the request failed.
    pub fn code(&self) -> u16 {
        self.status.unwrap_or(0)
    }

    /// One line: `POST url -> 400` or the transport error.
    pub fn summary(&self) -> String {
        match (&self.error, self.status) {
            (Some(e), _) => format!("{} {} -> {e}", self.method, self.url),
            (None, Some(s)) => format!("{} {} -> {s}", self.method, self.url),
            (None, None) => format!("{} {}", self.method, self.url),
        }
    }

    /// Multi-line rendering for reports.
    pub fn render(&self) -> String {
        let mut s = format!("    > {} {}\n", self.method, self.url);
        for (k, v) in &self.request_headers {
            s.push_str(&format!("    > {k}: {v}\n"));
        }
        if let Some(b) = &self.request_body {
            s.push_str(&format!("    > {}\n", clip(b, REPORT_BODY)));
        }
        match &self.error {
            Some(e) => s.push_str(&format!("    < (no response: {e})\n")),
            None => {
                s.push_str(&format!("    < {}\n", self.status.unwrap_or(0)));
                for (k, v) in &self.response_headers {
                    s.push_str(&format!("    < {k}: {v}\n"));
                }
                if !self.response_body.is_empty() {
                    s.push_str(&format!(
                        "    < {}\n",
                        clip(&self.response_body, REPORT_BODY)
                    ));
                }
            }
        }
        s
    }
}

/// Cuts text to `n` characters.
pub fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let cut: String = s.chars().take(n).collect();
        format!("{cut}… ({} bytes)", s.len())
    }
}

/// Shortens a credential: enough to recognise it, never the whole token.
pub fn redact(secret: &str) -> String {
    if secret.len() <= 16 {
        "…".into()
    } else {
        format!(
            "{}…({} bytes)",
            &secret[..secret.char_indices().nth(12).map_or(0, |(i, _)| i)],
            secret.len()
        )
    }
}

/// The HTTP side.
pub struct Probe {
    http: reqwest::Client,
    max_body: usize,
    log: Mutex<Vec<Exchange>>,
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probe").finish_non_exhaustive()
    }
}

/// A request to send.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The URL.
    pub url: String,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Option<Vec<u8>>,
    /// How the body is shown in reports.
    pub shown_body: Option<String>,
}

impl Probe {
    /// A client that never follows redirects and gives up after `timeout`.
    pub fn new(timeout: Duration, max_body: usize) -> Result<Probe, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("tessera-conformance/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build HTTP client: {e}"))?;
        Ok(Probe {
            http,
            max_body,
            log: Mutex::new(Vec::new()),
        })
    }

    /// Sends, reads at most `max_body` bytes, records the exchange.
    pub async fn send(&self, req: Request) -> Exchange {
        let mut ex = Exchange {
            method: req.method.clone(),
            url: req.url.clone(),
            request_headers: req
                .headers
                .iter()
                .map(|(k, v)| {
                    let shown = if k.eq_ignore_ascii_case("authorization") {
                        match v.split_once(' ') {
                            Some((scheme, cred)) => format!("{scheme} {}", redact(cred)),
                            None => redact(v),
                        }
                    } else if k.eq_ignore_ascii_case("dpop") {
                        redact(v)
                    } else {
                        v.clone()
                    };
                    (k.clone(), shown)
                })
                .collect(),
            request_body: req.shown_body.clone(),
            status: None,
            response_headers: Vec::new(),
            response_body: String::new(),
            error: None,
            bytes: Vec::new(),
        };
        match self.exchange(&req, &mut ex).await {
            Ok(()) => {}
            Err(e) => ex.error = Some(e),
        }
        ex.response_body = String::from_utf8_lossy(&ex.bytes).into_owned();
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(ex.clone());
        ex
    }

    async fn exchange(&self, req: &Request, ex: &mut Exchange) -> Result<(), String> {
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| format!("bad method {}", req.method))?;
        let mut b = self.http.request(method, &req.url);
        for (k, v) in &req.headers {
            b = b.header(k, v);
        }
        if let Some(body) = &req.body {
            b = b.body(body.clone());
        }
        let mut resp = b.send().await.map_err(|e| transport(&e))?;
        ex.status = Some(resp.status().as_u16());
        ex.response_headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        if resp
            .content_length()
            .is_some_and(|n| n > self.max_body as u64)
        {
            return Err(format!("body larger than {} bytes", self.max_body));
        }
        while let Some(chunk) = resp.chunk().await.map_err(|e| transport(&e))? {
            if ex.bytes.len() + chunk.len() > self.max_body {
                return Err(format!("body larger than {} bytes", self.max_body));
            }
            ex.bytes.extend_from_slice(&chunk);
        }
        Ok(())
    }

    /// Empties the exchange log and returns what it held.
    pub fn take_log(&self) -> Vec<Exchange> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

fn transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        format!("cannot connect: {}", e.without_url_ref())
    } else {
        e.without_url_ref().to_string()
    }
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut s = self.to_string();
        if let Some(u) = self.url() {
            s = s.replace(&format!(" for url ({u})"), "");
        }
        s
    }
}
