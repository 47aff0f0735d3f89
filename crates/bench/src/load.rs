//! The load: `connections` tasks, each with its own HTTP connection, take request numbers from
//! one counter until the fixed count is reached or the duration is up; each request is timed
//! from send to the end of its body (a paging walk: to the end of its last page). Every ticket
//! and assertion was signed before the first request.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Mutex;

use crate::fixture::Fixture;
use crate::{BenchError, BenchOptions, Operation, Progress};

/// The mix, in turn.
const MIX: [Operation; 7] = [
    Operation::Exchange,
    Operation::ExchangeDpop,
    Operation::Read,
    Operation::Search,
    Operation::SearchCode,
    Operation::SearchDate,
    Operation::Page,
];

/// Page size of a paging walk (small, so a patient's Observations span several pages).
const PAGE_SIZE: usize = 10;
/// Most pages one walk follows (a server whose `next` never ends fails the walk).
const MAX_PAGES: usize = 1_000;

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

/// Request `i`'s place among the run's exchanges, if it is one (the pre-signed slot it takes).
fn exchange_ordinal(run: Operation, i: usize) -> Option<usize> {
    match run {
        Operation::Exchange | Operation::ExchangeDpop => Some(i),
        // The mix starts with its two exchanges.
        Operation::Mix => (i % MIX.len() < 2).then(|| i / MIX.len() * 2 + i % MIX.len()),
        _ => None,
    }
}

/// A pre-signed redemption.
struct Exchange {
    ticket: String,
    assertion: String,
    /// A DPoP proof, for [`Operation::ExchangeDpop`].
    dpop: Option<String>,
}

/// Drives the run against the Data Holders at `bases` (connection `k` to `bases[k % n]`);
/// returns the results per operation name.
pub async fn drive(
    fx: &Fixture,
    bases: &[String],
    opts: &BenchOptions,
) -> Result<BTreeMap<&'static str, OpResult>, BenchError> {
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
    // Reads go to the patient the Data Holder resolved (its id may differ from the source's).
    let patient = token["patient"]
        .as_str()
        .map_or_else(|| fx.subjects[0].id.clone(), str::to_owned);
    let token = token["access_token"]
        .as_str()
        .ok_or_else(|| BenchError("setup exchange: no access_token".into()))?
        .to_owned();
    let dpop_key = tessera_jose::PrivateJwk::generate(tessera_jose::Alg::Es256)
        .map_err(|e| BenchError::of("DPoP key", e))?;
    // Only exchanges are pre-signed (reads and searches reuse the setup token), so a long
    // run of reads allocates nothing per request.
    let mut exchanges = Vec::new();
    for i in 0..opts.requests {
        let op = op_of(opts.operation, i);
        if matches!(op, Operation::Exchange | Operation::ExchangeDpop) {
            exchanges.push(std::sync::Mutex::new(Some(Exchange {
                ticket: fx.ticket(i)?,
                assertion: fx.assertion()?,
                dpop: match op {
                    Operation::ExchangeDpop => Some(fx.dpop_proof(&dpop_key)?),
                    _ => None,
                },
            })));
        }
    }
    let progress = opts.progress.clone().unwrap_or_default();
    progress.total.store(opts.requests, Ordering::Relaxed);
    let mut work = Work {
        token,
        patient,
        exchanges,
        requests: opts.requests,
        next: AtomicUsize::new(0),
        run: opts.operation,
        results: Mutex::new(BTreeMap::new()),
        deadline: None,
        progress,
    };
    let started = Instant::now();
    work.deadline = opts.duration.map(|d| started + d);
    let work = Arc::new(work);
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
    /// The pre-signed exchanges, by [`exchange_ordinal`].
    exchanges: Vec<std::sync::Mutex<Option<Exchange>>>,
    /// Requests in all.
    requests: usize,
    next: AtomicUsize,
    run: Operation,
    results: Mutex<BTreeMap<&'static str, OpResult>>,
    /// No request starts after this instant.
    deadline: Option<Instant>,
    progress: Arc<Progress>,
}

impl Work {
    /// One connection's loop against the node at `base`.
    async fn connection(&self, http: &reqwest::Client, base: &str) {
        loop {
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                return;
            }
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= self.requests {
                return;
            }
            let op = op_of(self.run, i);
            let taken = exchange_ordinal(self.run, i)
                .and_then(|k| self.exchanges.get(k))
                .and_then(|slot| slot.lock().unwrap_or_else(|p| p.into_inner()).take());
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
                    self.progress.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            self.progress.done.fetch_add(1, Ordering::Relaxed);
        }
    }

    async fn fhir(&self, http: &reqwest::Client, base: &str, op: Operation) -> Result<(), String> {
        if op == Operation::Page {
            return self.walk(http, base).await;
        }
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

impl Work {
    /// `Observation?_count=PAGE_SIZE`, then each `next` link (which must stay under `base`:
    /// the bench follows no link to another server) until the last page.
    async fn walk(&self, http: &reqwest::Client, base: &str) -> Result<(), String> {
        let mut url = format!("{base}/Observation?_count={PAGE_SIZE}");
        for _ in 0..MAX_PAGES {
            let resp = http
                .get(&url)
                .bearer_auth(&self.token)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = resp.status();
            let body: Value = resp.json().await.map_err(|e| format!("page: {e}"))?;
            if !status.is_success() || body["resourceType"] != "Bundle" {
                return Err(format!("page {status}: {}", clip(&body.to_string())));
            }
            let next = body["link"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|l| l["relation"] == "next")
                .and_then(|l| l["url"].as_str());
            match next {
                None => return Ok(()),
                Some(n) => url = same_server(base, n)?,
            }
        }
        Err(format!("page: more than {MAX_PAGES} pages"))
    }
}

/// A `next` link as a URL to request at `base`: it may name the server's configured base
/// (which may differ from the loopback address the bench connects to) or `base` itself; only
/// its path and query are kept, and they must lie under `base`'s path.
fn same_server(base: &str, next: &str) -> Result<String, String> {
    let base_url = url::Url::parse(base).map_err(|e| e.to_string())?;
    let next_url = url::Url::parse(next)
        .or_else(|_| base_url.join(next))
        .map_err(|e| format!("next link {next:?}: {e}"))?;
    if !next_url.path().starts_with(base_url.path()) {
        return Err(format!("next link {next:?} leaves the FHIR base"));
    }
    let mut out = base_url.clone();
    out.set_path(next_url.path());
    out.set_query(next_url.query());
    Ok(out.to_string())
}

fn clip(s: &str) -> String {
    s.chars().take(300).collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exchange_of_a_run_has_its_own_pre_signed_slot() {
        for run in [Operation::Exchange, Operation::ExchangeDpop, Operation::Mix] {
            let slots: Vec<usize> = (0..100)
                .filter(|i| {
                    matches!(
                        op_of(run, *i),
                        Operation::Exchange | Operation::ExchangeDpop
                    )
                })
                .map(|i| exchange_ordinal(run, i).unwrap())
                .collect();
            let want: Vec<usize> = (0..slots.len()).collect();
            assert_eq!(slots, want, "{run:?}");
        }
        assert_eq!(exchange_ordinal(Operation::Read, 3), None);
        assert_eq!(exchange_ordinal(Operation::Mix, 2), None);
    }

    #[test]
    fn next_links_are_followed_only_under_the_fhir_base() {
        let base = "http://127.0.0.1:8080/fhir";
        assert_eq!(
            same_server(base, "https://dh.example.org/fhir/Observation?_cursor=abc").unwrap(),
            "http://127.0.0.1:8080/fhir/Observation?_cursor=abc"
        );
        assert!(same_server(base, "https://evil.example/other/Observation").is_err());
        assert_eq!(
            same_server(base, "/fhir/Observation?page=2").unwrap(),
            "http://127.0.0.1:8080/fhir/Observation?page=2"
        );
    }
}
