//! Operable nodes (issue 13, part 7) on the real `tessera serve` process: graceful shutdown
//! on SIGTERM finishes an in-flight redemption and its commit and exits 0; inbound TLS with a
//! configured certificate, and clear start-up errors naming a bad TLS file; `--log-format`
//! (json and text) never writes a whole token.
//!
//! Bounded: every wait has a deadline that only stops a hung run; nothing asserts a duration.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::get;
use serde_json::{Map, Value, json};
use tessera_jose::{Alg, PrivateJwk, sign_compact};
use tessera_store::token_db::TokenDb;

const BASE: &str = "https://dh.example.org/fhir";
const ISSUER: &str = "https://issuer.example";
const T_SELF: &str = "https://smarthealthit.org/permission-ticket-type/patient-self-access-v1";
const HANG_GUARD: Duration = Duration::from_secs(120);

/// A running `tessera serve`; killed if a test fails half way.
struct Server {
    child: Child,
    addr: String,
    /// Every stderr line so far (ANSI colour codes are off: NO_COLOR).
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Sends SIGTERM (what an orchestrator sends).
    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit (bounded) and returns its exit code.
    fn wait_exit(&mut self) -> Option<i32> {
        for _ in 0..(HANG_GUARD.as_millis() / 20) {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the server did not exit");
    }

    fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

/// Starts `tessera serve --config <config> <extra args>` and waits for its address.
fn start(config: &Path, extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .args(extra)
        .env("RUST_LOG", "debug")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let lines = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let line = strip_ansi(&line);
            // Recorded before it is reported, so the caller sees the line in `log`.
            lines.lock().unwrap().push(line.clone());
            if line.contains("Data Holder listening") {
                let _ = tx.send(Ok(listen_addr(&line)));
            } else if line.starts_with("error") {
                let _ = tx.send(Err(line));
            }
        }
    });
    let addr = rx
        .recv_timeout(HANG_GUARD)
        .expect("server did not report its address")
        .expect("server failed to start");
    Server { child, addr, log }
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

/// The bound address of the "listening" line, text (`listen=ADDR`) or JSON (`"listen":"ADDR"`).
fn listen_addr(line: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(line) {
        return v["listen"].as_str().unwrap().to_owned();
    }
    let rest = line.split("listen=").nth(1).unwrap();
    rest.chars().take_while(|c| !c.is_whitespace()).collect()
}

fn sign(key: &PrivateJwk, payload: &Value) -> String {
    sign_compact(
        &Map::new(),
        &serde_json::to_vec(payload).unwrap(),
        &key.signer().unwrap(),
    )
    .unwrap()
}

/// The server under test runs on the system clock, so tickets are dated by it too.
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
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            issuer: PrivateJwk::generate(Alg::Es256).unwrap(),
            client: PrivateJwk::generate(Alg::Es256).unwrap(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn ticket(&self, jti: &str, aud: &str) -> String {
        let t = now();
        sign(
            &self.issuer,
            &json!({
                "iss": ISSUER, "aud": aud, "exp": t + 3600, "iat": t - 5, "jti": jti,
                "ticket_type": T_SELF,
                "presenter_binding": {"method": "jkt", "jkt": self.client.public().thumbprint()},
                "subject": {"patient": {"resourceType": "Patient",
                    "identifier": [{"system": "http://hospital.example.org/mrn", "value": "A12345"}],
                    "birthDate": "1989-09-14", "name": [{"family": "Reyes", "given": ["Elena"]}]}},
                "access": {"smart_scopes": ["patient/Patient.rs"]}
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

    /// Writes keys, one Patient and `holder.toml`; `issuer_keys` is the `[[issuer]]` key line,
    /// `extra` top-level lines (before any table).
    fn write_config(&self, issuer_keys: &str, extra: &str) -> PathBuf {
        let set = |k: &PrivateJwk| json!({ "keys": [k.public().to_value()] }).to_string();
        std::fs::write(self.path("issuer.json"), set(&self.issuer)).unwrap();
        std::fs::write(self.path("client.json"), set(&self.client)).unwrap();
        let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"fullUrl": "Patient/elena", "resource": {"resourceType": "Patient", "id": "elena",
                "gender": "female", "birthDate": "1989-09-14",
                "name": [{"family": "Reyes", "given": ["Elena", "Marisol"]}],
                "identifier": [{"system": "http://hospital.example.org/mrn", "value": "A12345"}]}}]});
        std::fs::write(self.path("bundle.json"), bundle.to_string()).unwrap();
        let config = format!(
            r#"
listen = "127.0.0.1:0"
base_url = "{BASE}"
store = "sqlite://{store}"
load = ["{bundle}"]
{extra}
[holder]
organization = [{{ system = "http://hl7.org/fhir/sid/us-npi", value = "1234567893" }}]
address = {{ country = "US", state = "CA" }}
[[issuer]]
iss = "{ISSUER}"
{issuer_keys}
ticket_types = ["{T_SELF}"]
[[client]]
client_id = "app1"
jwks_file = "client.json"
"#,
            store = self.path("holder.db").display(),
            bundle = self.path("bundle.json").display(),
        );
        let path = self.path("holder.toml");
        std::fs::write(&path, config).unwrap();
        path
    }

    fn form(&self, ticket: &str, assertion: &str) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
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
            .finish()
    }
}

async fn redeem(http: &reqwest::Client, url: &str, body: String) -> (u16, Value) {
    let resp = http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// Polls `/readyz` until 200 (bounded).
async fn wait_ready(http: &reqwest::Client, base: &str) {
    for _ in 0..(HANG_GUARD.as_millis() / 20) {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status().as_u16() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_an_in_flight_redemption_with_its_audit_row_then_exits_0() {
    let f = Fixture::new();
    // The issuer's JWKS host: the start-up warm-up is answered at once but not cacheable, so
    // the redemption fetches again — and that fetch is held until the test releases it,
    // which keeps the redemption in flight across the SIGTERM.
    let (fetching_tx, mut fetching) = tokio::sync::mpsc::channel::<()>(4);
    let release = Arc::new(tokio::sync::Notify::new());
    let jwks = json!({ "keys": [f.issuer.public().to_value()] }).to_string();
    let calls = Arc::new(Mutex::new(0usize));
    let router = {
        let release = release.clone();
        axum::Router::new().route(
            "/jwks",
            get(move || {
                let (jwks, release, fetching_tx, calls) = (
                    jwks.clone(),
                    release.clone(),
                    fetching_tx.clone(),
                    calls.clone(),
                );
                async move {
                    let n = {
                        let mut c = calls.lock().unwrap();
                        *c += 1;
                        *c
                    };
                    if n > 1 {
                        let _ = fetching_tx.send(()).await;
                        release.notified().await;
                    }
                    ([("cache-control", "no-store")], jwks)
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jwks_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let config = f.write_config(
        &format!(r#"jwks_uri = "http://{jwks_addr}/jwks""#),
        "insecure_allow_loopback_http = true",
    );
    let mut server = start(&config, &[]);
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::builder()
        .timeout(HANG_GUARD)
        .build()
        .unwrap();
    wait_ready(&http, &base).await;

    let body = f.form(&f.ticket("in-flight-1", BASE), &f.assertion());
    let in_flight = {
        let (http, url) = (http.clone(), format!("{base}/fhir/token"));
        tokio::spawn(async move { redeem(&http, &url, body).await })
    };
    tokio::time::timeout(HANG_GUARD, fetching.recv())
        .await
        .expect("the redemption never fetched the issuer keys");

    server.terminate();
    // Shutdown has begun once the listener is gone: new connections are refused.
    let mut refused = false;
    for _ in 0..(HANG_GUARD.as_millis() / 20) {
        if tokio::net::TcpStream::connect(&server.addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "the server kept accepting after SIGTERM");
    release.notify_one();

    let (status, body) = tokio::time::timeout(HANG_GUARD, in_flight)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    let code = tokio::task::spawn_blocking(move || {
        let code = server.wait_exit();
        (code, server.log_text())
    })
    .await
    .unwrap();
    assert_eq!(code.0, Some(0), "exit status; log:\n{}", code.1);
    assert!(code.1.contains("signal=\"SIGTERM\"") || code.1.contains("signal=SIGTERM"));
    assert!(code.1.contains("Data Holder stopped"), "{}", code.1);

    let db = TokenDb::open(&f.path("holder.db")).unwrap();
    let rows = db.audit_by_jti("in-flight-1").unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| (r.event.as_str(), r.outcome.as_str()))
            .collect::<Vec<_>>(),
        [("token_exchange", "accepted")]
    );
}

/// A CA and a `localhost` / `127.0.0.1` server certificate it signed: (ca_pem, cert_pem, key_pem).
fn test_pki() -> (String, String, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, SanType,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "Tessera test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    leaf.subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    let key = KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &ca).unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_https_with_the_configured_certificate_and_names_a_bad_file() {
    let f = Fixture::new();
    let (ca, cert, key) = test_pki();
    std::fs::write(f.path("cert.pem"), &cert).unwrap();
    std::fs::write(f.path("key.pem"), &key).unwrap();
    let config = f.write_config(
        r#"jwks_file = "issuer.json""#,
        "[tls]\ncert = \"cert.pem\"\nkey = \"key.pem\"",
    );
    let server = start(&config, &[]);
    assert!(
        server.log_text().contains("scheme=\"https\"")
            || server.log_text().contains("scheme=https")
    );
    let port = server.addr.rsplit(':').next().unwrap().to_owned();
    let base = format!("https://localhost:{port}");
    // Trusting only the test CA: a response proves the configured certificate was served.
    let https = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).unwrap()])
        .timeout(HANG_GUARD)
        .build()
        .unwrap();
    let resp = https.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"status": "ok"}));
    wait_ready(&https, &base).await;
    let (status, body) = redeem(
        &https,
        &format!("{base}/fhir/token"),
        f.form(&f.ticket("tls-1", BASE), &f.assertion()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = reqwest::Client::builder()
        .timeout(HANG_GUARD)
        .build()
        .unwrap();
    assert!(
        plain
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_err()
    );
    drop(server);

    // Bad files: start-up fails, naming the key and the file.
    let (_, other_cert, _) = test_pki();
    std::fs::write(f.path("garbage.pem"), "not a certificate\n").unwrap();
    std::fs::write(f.path("other.pem"), &other_cert).unwrap();
    let missing = f.path("missing.pem");
    let cases = [
        (
            "missing.pem",
            "key.pem",
            format!("error: tls.cert {}: cannot read:", missing.display()),
        ),
        (
            "garbage.pem",
            "key.pem",
            format!(
                "error: tls.cert {}: no CERTIFICATE block",
                f.path("garbage.pem").display()
            ),
        ),
        (
            "cert.pem",
            "cert.pem",
            format!(
                "error: tls.key {}: no usable private key",
                f.path("cert.pem").display()
            ),
        ),
        (
            "other.pem",
            "key.pem",
            format!(
                "error: tls.cert {} with tls.key {}:",
                f.path("other.pem").display(),
                f.path("key.pem").display()
            ),
        ),
    ];
    for (cert, key, want) in cases {
        let config = f.write_config(
            r#"jwks_file = "issuer.json""#,
            &format!("[tls]\ncert = \"{cert}\"\nkey = \"{key}\""),
        );
        let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["serve", "--config", config.to_str().unwrap()])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{cert}/{key}: {stderr}");
        assert!(
            stderr.lines().any(|l| l.starts_with(&want)),
            "{cert}/{key}: want {want:?} in\n{stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_carry_a_token() {
    for format in ["json", "text"] {
        let f = Fixture::new();
        let config = f.write_config(
            r#"jwks_file = "issuer.json""#,
            "[metrics]\nlisten = \"127.0.0.1:0\"",
        );
        let mut server = start(&config, &["--log-format", format]);
        let base = format!("http://{}", server.addr);
        let http = reqwest::Client::builder()
            .timeout(HANG_GUARD)
            .build()
            .unwrap();
        wait_ready(&http, &base).await;
        let mut secrets = Vec::new();
        // Accepted, then refused (another audience: logged as rejected with its error).
        for (jti, aud) in [
            ("log-ok", BASE),
            ("log-refused", "https://elsewhere.example"),
        ] {
            let (ticket, assertion) = (f.ticket(jti, aud), f.assertion());
            let (status, body) = redeem(
                &http,
                &format!("{base}/fhir/token"),
                f.form(&ticket, &assertion),
            )
            .await;
            assert_eq!(status, if aud == BASE { 200 } else { 400 }, "{body}");
            if let Some(t) = body["access_token"].as_str() {
                let read = http
                    .get(format!("{base}/fhir/Patient"))
                    .bearer_auth(t)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(read.status().as_u16(), 200);
                secrets.push(t.to_owned());
            }
            secrets.push(ticket);
            secrets.push(assertion);
        }
        // The metrics listener of the real binary counted both redemptions.
        let metrics_line = server
            .log
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.contains("metrics listening"))
            .cloned()
            .expect("no metrics listener");
        let metrics_addr = match serde_json::from_str::<Value>(&metrics_line) {
            Ok(v) => v["metrics"].as_str().unwrap().to_owned(),
            Err(_) => metrics_line.split("metrics=").nth(1).unwrap().to_owned(),
        };
        let exposition = http
            .get(format!("http://{metrics_addr}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            exposition
                .lines()
                .any(|l| l == r#"tessera_redemptions_total{outcome="accepted",step="none"} 1"#),
            "{exposition}"
        );
        assert!(
            exposition.lines().any(|l| l
                .starts_with(r#"tessera_redemptions_total{outcome="rejected","#)
                && l.ends_with(" 1")),
            "{exposition}"
        );
        server.terminate();
        let (code, log) = tokio::task::spawn_blocking(move || {
            let code = server.wait_exit();
            (code, server.log_text())
        })
        .await
        .unwrap();
        assert_eq!(code, Some(0), "{log}");
        // The refusal is logged, with the ticket's jti: the log describes redemptions, without
        // their credentials.
        assert!(
            log.lines()
                .any(|l| l.contains("token request rejected") && l.contains("log-refused")),
            "{format}: {log}"
        );
        if format == "json" {
            for line in log.lines() {
                let v: Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
                assert!(
                    v["level"].is_string() && v["timestamp"].is_string(),
                    "{line}"
                );
            }
        }
        for secret in &secrets {
            // Not the whole token, nor any JWT segment of it (a payload or signature alone
            // is as good as a leak).
            for part in std::iter::once(secret.as_str()).chain(secret.split('.').skip(1)) {
                assert!(
                    part.len() < 16 || !log.contains(part),
                    "{format} log carries a token part {part:?}:\n{log}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuer_serves_tls_and_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_pki();
    std::fs::write(dir.path().join("cert.pem"), &cert).unwrap();
    std::fs::write(dir.path().join("key.pem"), &key).unwrap();
    let jwk = PrivateJwk::generate(Alg::Es256).unwrap();
    std::fs::write(
        dir.path().join("issuer.jwk.json"),
        jwk.to_value().to_string(),
    )
    .unwrap();
    let config = dir.path().join("issuer.toml");
    std::fs::write(
        &config,
        "issuer = \"https://issuer.example\"\nlisten = \"127.0.0.1:0\"\n\
         database = \"issuer.sqlite3\"\n[[key]]\nfile = \"issuer.jwk.json\"\n\
         status = \"active\"\n[tls]\ncert = \"cert.pem\"\nkey = \"key.pem\"\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["issuer", "serve", "--config", config.to_str().unwrap()])
        .args(["--log-format", "json"])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let listening: Value = lines
        .by_ref()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str::<Value>(&l).ok())
        .find(|v| v["message"] == "issuer listening")
        .expect("issuer did not report its address");
    assert_eq!(listening["scheme"], "https");
    let port = listening["addr"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    let https = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).unwrap()])
        .timeout(HANG_GUARD)
        .build()
        .unwrap();
    let resp = https
        .get(format!("https://localhost:{port}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let set: Value = resp.json().await.unwrap();
    assert_eq!(set["keys"][0]["kid"], json!(jwk.public().thumbprint()));

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // Drain the rest of stderr so the process never blocks on a full pipe, then reap it.
    let rest: Vec<String> =
        tokio::task::spawn_blocking(move || lines.map_while(Result::ok).collect())
            .await
            .unwrap();
    assert!(rest.iter().any(|l| l.contains("SIGTERM")), "{rest:?}");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
