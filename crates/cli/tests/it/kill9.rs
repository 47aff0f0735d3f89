//! Crash consistency of the durable write path (issue 12, docs/design/002-durable-writes.md):
//! the real `tessera serve` on a file store takes concurrent redemptions (and refusals), is
//! SIGKILLed mid-run, restarts on the same store — and every answer a client received, success
//! or refusal, has its audit row (and every issued token its row). PT-AUDIT-02.
//!
//! Bounded: a fixed number of requests, the kill after a fixed number of answers; no timing
//! assertions (the deadlines below only stop a hung run).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tessera_jose::{Alg, PrivateJwk, sign_compact};
use tessera_store::token_db::TokenDb;

const BASE: &str = "https://dh.example.org/fhir";
const ISSUER: &str = "https://issuer.example";
const T_SELF: &str = "https://smarthealthit.org/permission-ticket-type/patient-self-access-v1";
/// Requests the clients try in all; the kill comes after `KILL_AFTER` answers.
const ATTEMPTS: usize = 240;
const KILL_AFTER: usize = 80;
const CONNECTIONS: usize = 8;

/// Kills the server if a test fails half way.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `tessera serve` and returns it with the address it bound.
fn start(config: &Path) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    // Drains stderr for the server's whole life, so its logging never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let line = strip_ansi(&line);
            if line.contains("Data Holder listening")
                && let Some(rest) = line.split("listen=").nth(1)
            {
                let addr: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                let _ = tx.send(Ok(addr));
            } else if line.contains("ERROR") || line.starts_with("error") {
                let _ = tx.send(Err(line));
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("server did not report its address")
        .expect("server failed to start");
    (Server(child), addr)
}

/// The text of a log line without terminal colour sequences.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn sign(key: &PrivateJwk, payload: &Value) -> String {
    sign_compact(
        &Map::new(),
        &serde_json::to_vec(payload).unwrap(),
        &key.signer().unwrap(),
    )
    .unwrap()
}

/// The wall clock: the server under test is the real binary on the system clock, so the
/// tickets and assertions it accepts must be dated by the same clock.
#[allow(clippy::disallowed_methods)]
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

struct Fixture {
    issuer: PrivateJwk,
    client: PrivateJwk,
}

impl Fixture {
    /// A ticket (`valid = false`: for another audience, so it is refused with invalid_grant).
    fn ticket(&self, jti: &str, valid: bool) -> String {
        let t = now();
        sign(
            &self.issuer,
            &json!({
                "iss": ISSUER, "aud": if valid { BASE } else { "https://elsewhere.example" },
                "exp": t + 3600, "iat": t - 5, "jti": jti, "ticket_type": T_SELF,
                "presenter_binding": {"method": "jkt", "jkt": self.client.public().thumbprint()},
                "subject": {"patient": {"resourceType": "Patient",
                    "identifier": [{"system": "http://hospital.example.org/mrn", "value": "A12345"}],
                    "birthDate": "1989-09-14", "name": [{"family": "Reyes", "given": ["Elena"]}]}},
                "access": {"smart_scopes": ["patient/Observation.rs"]}
            }),
        )
    }

    fn assertion(&self) -> String {
        let t = now();
        sign(
            &self.client,
            &json!({"iss": "app1", "sub": "app1", "aud": format!("{BASE}/token"),
                "jti": uuid::Uuid::new_v4().to_string(), "iat": t, "exp": t + 60}),
        )
    }
}

fn write_setup(dir: &Path, f: &Fixture) -> std::path::PathBuf {
    let set = |k: &PrivateJwk| json!({ "keys": [k.public().to_value()] }).to_string();
    std::fs::write(dir.join("issuer.json"), set(&f.issuer)).unwrap();
    std::fs::write(dir.join("client.json"), set(&f.client)).unwrap();
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "Patient/elena", "resource": {"resourceType": "Patient", "id": "elena",
            "gender": "female", "birthDate": "1989-09-14",
            "name": [{"family": "Reyes", "given": ["Elena", "Marisol"]}],
            "identifier": [{"system": "http://hospital.example.org/mrn", "value": "A12345"}]}}]});
    std::fs::write(dir.join("bundle.json"), bundle.to_string()).unwrap();
    let config = format!(
        r#"
listen = "127.0.0.1:0"
base_url = "{BASE}"
store = "sqlite://{store}"
load = ["{bundle}"]
trust_frameworks = ["https://network.example"]
[holder]
organization = [{{ system = "http://hl7.org/fhir/sid/us-npi", value = "1234567893" }}]
address = {{ country = "US", state = "CA" }}
[[issuer]]
iss = "{ISSUER}"
jwks_file = "issuer.json"
ticket_types = ["{T_SELF}"]
[[client]]
client_id = "app1"
jwks_file = "client.json"
"#,
        store = dir.join("holder.db").display(),
        bundle = dir.join("bundle.json").display(),
    );
    let path = dir.join("holder.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// `application/x-www-form-urlencoded` (every byte outside the unreserved set escaped).
fn form_body(pairs: &[(&str, &str)]) -> String {
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

/// What a client was told about one ticket.
#[derive(Debug, Clone)]
struct Answer {
    ticket_jti: String,
    accepted: bool,
    token: Option<String>,
}

async fn redeem(
    http: &reqwest::Client,
    addr: &str,
    f: &Fixture,
    jti: &str,
    valid: bool,
) -> Option<Answer> {
    let ticket = f.ticket(jti, valid);
    let assertion = f.assertion();
    let form = [
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        (
            "subject_token_type",
            "https://smarthealthit.org/token-type/permission-ticket",
        ),
        ("subject_token", ticket.as_str()),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.as_str()),
    ];
    // A connection cut by the kill is no answer: nothing was promised.
    let resp = http
        .post(format!("http://{addr}/fhir/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&form))
        .send()
        .await
        .ok()?;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.ok()?;
    match status {
        200 => Some(Answer {
            ticket_jti: jti.to_owned(),
            accepted: true,
            token: body["access_token"].as_str().map(str::to_owned),
        }),
        400 => {
            assert_eq!(body["error"], "invalid_grant", "{body}");
            Some(Answer {
                ticket_jti: jti.to_owned(),
                accepted: false,
                token: None,
            })
        }
        other => panic!("unexpected status {other}: {body}"),
    }
}

// PT-AUDIT-02: no answer without its durable audit row, even across a SIGKILL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pt_audit_02_kill_9_mid_run_loses_no_answered_audit_row() {
    let dir = tempfile::tempdir().unwrap();
    let f = Arc::new(Fixture {
        issuer: PrivateJwk::generate(Alg::Es256).unwrap(),
        client: PrivateJwk::generate(Alg::Es256).unwrap(),
    });
    let config = write_setup(dir.path(), &f);
    let (server, addr) = start(&config);
    let server = Arc::new(Mutex::new(Some(server)));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let answers = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (http, addr, f) = (http.clone(), addr.clone(), f.clone());
        let (next, answered, answers, server) = (
            next.clone(),
            answered.clone(),
            answers.clone(),
            server.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= ATTEMPTS {
                    break;
                }
                // Every fourth request is refused: refusals must survive the crash too.
                let Some(a) = redeem(&http, &addr, &f, &format!("kill9-{i}"), i % 4 != 3).await
                else {
                    continue;
                };
                answers.lock().unwrap().push(a);
                if answered.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER {
                    // SIGKILL (std's kill on Unix): no graceful shutdown, no flush.
                    if let Some(mut s) = server.lock().unwrap().take() {
                        let _ = s.0.kill();
                        let _ = s.0.wait();
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert!(server.lock().unwrap().is_none(), "the kill happened");
    let answers = answers.lock().unwrap().clone();
    assert!(answers.len() >= KILL_AFTER);
    assert!(answers.iter().any(|a| a.accepted) && answers.iter().any(|a| !a.accepted));

    // Restart on the same store: it serves again.
    let (_server, addr) = start(&config);
    let after = redeem(&http, &addr, &f, "kill9-after", true).await.unwrap();
    assert!(after.accepted);

    let db = TokenDb::open(&dir.path().join("holder.db")).unwrap();
    for a in answers.iter().chain([&after]) {
        let rows = db.audit_by_jti(&a.ticket_jti).unwrap();
        let want = if a.accepted { "accepted" } else { "rejected" };
        assert!(
            rows.iter()
                .any(|r| r.outcome == want && r.event == "token_exchange"),
            "{} answered {want} but audited {:?}",
            a.ticket_jti,
            rows.iter().map(|r| &r.outcome).collect::<Vec<_>>()
        );
        if let Some(token) = &a.token {
            let hash = tessera_holder::token::access_token::token_hash(token);
            assert!(
                db.find_token(&hash, now()).unwrap().is_some(),
                "token of {} lost",
                a.ticket_jti
            );
        }
    }
    // The kill left the hash chain whole (issue 13): every committed batch moved its head.
    let verify = crate::tessera(
        &["audit", "verify", "--config", config.to_str().unwrap()],
        None,
    );
    let report: Value = serde_json::from_str(&crate::ok(&verify)).unwrap();
    assert_eq!(report["status"], "ok", "{report}");
}
