//! The load: `connections` tasks, each with its own HTTP connection, take request numbers from
//! one counter until the fixed count is reached; each request is timed from send to the end of
//! its body. Every ticket and assertion was signed before the first request.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Mutex;

use crate::fixture::Fixture;
use crate::server::Server;
use crate::{BenchError, BenchOptions, Operation};

/// The mix, in turn.
const MIX: [Operation; 6] = [
    Operation::Exchange,
    Operation::ExchangeDpop,
    Operation::Read,
    Operation::Search,
    Operation::SearchCode,
    Operation::SearchDate,
];

/// Latencies and errors of one operation.
#[derive(Debug, Default, Clone)]
pub struct OpResult {
    /// Latency of every answered request.
    pub latencies: Vec<Duration>,
    /// Requests not answered as expected.
    pub errors: usize,
    /// The first error, for the report.
    pub first_error: Option<String>,
    /// Wall time from the first request of the run to the last answer.
    pub wall: Duration,
}

fn op_of(run: Operation, i: usize) -> Operation {
    match run {
        Operation::Mix => MIX[i % MIX.len()],
        other => other,
    }
}

/// A pre-signed redemption.
struct Exchange {
    ticket: String,
    assertion: String,
    /// A DPoP proof, for [`Operation::ExchangeDpop`].
    dpop: Option<String>,
}

/// Drives the run; returns the results per operation name.
pub async fn drive(
    fx: &Fixture,
    servers: &[Server],
    opts: &BenchOptions,
) -> Result<BTreeMap<&'static str, OpResult>, BenchError> {
    let bases: Vec<String> = servers
        .iter()
        .map(|s| format!("http://{}/fhir", s.addr))
        .collect();
    let base = bases
        .first()
        .cloned()
        .ok_or_else(|| BenchError("no server".into()))?;
    let setup = client()?;
    // One token for reads and searches (bound to the first subject).
    let first = Exchange {
        ticket: fx.ticket(0)?,
        assertion: fx.assertion()?,
        dpop: None,
    };
    let token = exchange(&setup, &base, &first)
        .await
        .map_err(|e| BenchError(format!("setup exchange: {e}")))?;
    let token = token["access_token"]
        .as_str()
        .ok_or_else(|| BenchError("setup exchange: no access_token".into()))?
        .to_owned();
    let dpop_key = tessera_jose::PrivateJwk::generate(tessera_jose::Alg::Es256)
        .map_err(|e| BenchError::of("DPoP key", e))?;
    let mut exchanges = Vec::new();
    for i in 0..opts.requests {
        let op = op_of(opts.operation, i);
        if matches!(op, Operation::Exchange | Operation::ExchangeDpop) {
            exchanges.push(Some(Exchange {
                ticket: fx.ticket(i)?,
                assertion: fx.assertion()?,
                dpop: match op {
                    Operation::ExchangeDpop => Some(crate::fixture::dpop_proof(&dpop_key)?),
                    _ => None,
                },
            }));
        } else {
            exchanges.push(None);
        }
    }
    let work = Arc::new(Work {
        token,
        patient: fx.subjects[0].id.clone(),
        exchanges: exchanges.into_iter().map(std::sync::Mutex::new).collect(),
        next: AtomicUsize::new(0),
        run: opts.operation,
        results: Mutex::new(BTreeMap::new()),
    });
    let started = Instant::now();
    let mut tasks = Vec::new();
    for k in 0..opts.connections.max(1) {
        let (work, http) = (work.clone(), client()?);
        let base = bases[k % bases.len()].clone();
        tasks.push(tokio::spawn(
            async move { work.connection(&http, &base).await },
        ));
    }
    for t in tasks {
        t.await.map_err(|e| BenchError::of("load task", e))?;
    }
    let wall = started.elapsed();
    let mut results = work.results.lock().await.clone();
    for r in results.values_mut() {
        r.wall = wall;
    }
    Ok(results)
}

fn client() -> Result<reqwest::Client, BenchError> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(120))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| BenchError::of("HTTP client", e))
}

struct Work {
    token: String,
    patient: String,
    exchanges: Vec<std::sync::Mutex<Option<Exchange>>>,
    next: AtomicUsize,
    run: Operation,
    results: Mutex<BTreeMap<&'static str, OpResult>>,
}

impl Work {
    /// One connection's loop against the node at `base`.
    async fn connection(&self, http: &reqwest::Client, base: &str) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(slot) = self.exchanges.get(i) else {
                return;
            };
            let op = op_of(self.run, i);
            let taken = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
            let t0 = Instant::now();
            let outcome = match (op, taken) {
                (Operation::Exchange | Operation::ExchangeDpop, Some(x)) => {
                    exchange(http, base, &x).await.map(|_| ())
                }
                (Operation::Exchange | Operation::ExchangeDpop, None) => {
                    Err("no pre-signed exchange".into())
                }
                (op, _) => self.fhir(http, base, op).await,
            };
            let elapsed = t0.elapsed();
            let mut results = self.results.lock().await;
            let r = results.entry(op.name()).or_default();
            match outcome {
                Ok(()) => r.latencies.push(elapsed),
                Err(e) => {
                    r.errors += 1;
                    r.first_error.get_or_insert(e);
                }
            }
        }
    }

    async fn fhir(&self, http: &reqwest::Client, base: &str, op: Operation) -> Result<(), String> {
        let url = match op {
            Operation::Read => format!("{base}/Patient/{}", self.patient),
            Operation::Search => format!("{base}/Observation?_count=50"),
            Operation::SearchCode => format!("{base}/Observation?code=4548-4&_count=50"),
            _ => format!("{base}/Observation?date=ge2020-01-01&_count=50"),
        };
        let resp = http
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!(
                "{} {status}: {}",
                op.name(),
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            ))
        }
    }
}

/// The token-exchange form of a ticket and an assertion.
pub fn exchange_form(ticket: &str, assertion: &str) -> String {
    form_body(&[
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        (
            "subject_token_type",
            "https://smarthealthit.org/token-type/permission-ticket",
        ),
        ("subject_token", ticket),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion),
    ])
}

async fn exchange(http: &reqwest::Client, base: &str, x: &Exchange) -> Result<Value, String> {
    let mut req = http
        .post(format!("{base}/token"))
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(proof) = &x.dpop {
        req = req.header("dpop", proof);
    }
    let resp = req
        .body(exchange_form(&x.ticket, &x.assertion))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status();
    let body: Value = resp.json().await.map_err(|e| e.to_string())?;
    let want = if x.dpop.is_some() { "DPoP" } else { "Bearer" };
    if status.is_success() && body["token_type"] == want {
        Ok(body)
    } else {
        Err(format!("exchange {status}: {body}"))
    }
}

/// `application/x-www-form-urlencoded` (every byte outside the unreserved set escaped).
pub fn form_body(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}
