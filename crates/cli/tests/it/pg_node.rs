//! Shared pieces of the PostgreSQL node tests: a Data Holder configuration on one PostgreSQL
//! schema, `tessera serve` processes on it, and the client side (tickets, assertions,
//! redemptions, FHIR searches) over real loopback HTTP.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tessera_jose::{Alg, PrivateJwk, sign_compact};

pub const BASE: &str = "https://dh.example.org/fhir";
const ISSUER: &str = "https://issuer.example";
const T_SELF: &str = "https://smarthealthit.org/permission-ticket-type/patient-self-access-v1";

/// A `tessera serve` process, killed (SIGKILL) and reaped when dropped.
pub struct Node {
    child: Option<Child>,
    /// `host:port` it bound.
    pub addr: String,
    /// `host:port` of its metrics listener, once it has logged one (`[metrics] listen`).
    pub metrics: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl Node {
    /// Starts `tessera serve --config config` and waits for the address it bound.
    pub fn start(config: &Path) -> Node {
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
        let metrics = std::sync::Arc::new(std::sync::Mutex::new(None));
        let metrics_seen = metrics.clone();
        // Drains stderr for the server's whole life, so its logging never blocks on a pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("Data Holder listening")
                    && let Some(rest) = line.split("listen=").nth(1)
                {
                    let addr: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                    let _ = tx.send(Ok(addr));
                } else if line.contains("metrics listening")
                    && let Some(rest) = line.split("metrics=").nth(1)
                {
                    let addr: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                    *metrics_seen.lock().unwrap() = Some(addr);
                } else if line.contains("ERROR") || line.starts_with("error") {
                    let _ = tx.send(Err(line));
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("server did not report its address")
            .expect("server failed to start");
        Node {
            child: Some(child),
            addr,
            metrics,
        }
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL: no graceful shutdown, no flush.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

fn sign(key: &PrivateJwk, payload: &Value) -> String {
    sign_compact(
        &Map::new(),
        &serde_json::to_vec(payload).unwrap(),
        &key.signer().unwrap(),
    )
    .unwrap()
}

/// The wall clock: the servers under test are the real binary on the system clock.
#[allow(clippy::disallowed_methods)]
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The issuer's and the client's keys.
pub struct Fixture {
    issuer: PrivateJwk,
    client: PrivateJwk,
}

impl Fixture {
    pub fn new() -> Fixture {
        Fixture {
            issuer: PrivateJwk::generate(Alg::Es256).unwrap(),
            client: PrivateJwk::generate(Alg::Es256).unwrap(),
        }
    }

    /// A ticket (`valid = false`: for another audience, so it is refused with invalid_grant).
    pub fn ticket(&self, jti: &str, valid: bool) -> String {
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

    /// A client assertion with a fresh `jti`.
    pub fn assertion(&self) -> String {
        self.assertion_as("app1")
    }

    /// A client assertion by the same key for another client id (a registered one, say).
    pub fn assertion_as(&self, client_id: &str) -> String {
        let t = now();
        sign(
            &self.client,
            &json!({"iss": client_id, "sub": client_id, "aud": format!("{BASE}/token"),
                "jti": uuid::Uuid::new_v4().to_string(), "iat": t, "exp": t + 60}),
        )
    }

    /// The client key's public JWK.
    pub fn client_jwk(&self) -> Value {
        self.client.public().to_value()
    }

    /// Key files, one patient with one Observation, and a `holder.toml` on `store`.
    pub fn write_config(&self, dir: &Path, store: &str) -> PathBuf {
        self.write_config_with(dir, store, "")
    }

    /// [`Fixture::write_config`] with `extra` TOML tables appended.
    pub fn write_config_with(&self, dir: &Path, store: &str, extra: &str) -> PathBuf {
        let set = |k: &PrivateJwk| json!({ "keys": [k.public().to_value()] }).to_string();
        std::fs::write(dir.join("issuer.json"), set(&self.issuer)).unwrap();
        std::fs::write(dir.join("client.json"), set(&self.client)).unwrap();
        std::fs::write(dir.join("bundle.json"), bundle().to_string()).unwrap();
        let config = format!(
            r#"
listen = "127.0.0.1:0"
base_url = "{BASE}"
store = "{store}"
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
{extra}
"#,
            bundle = dir.join("bundle.json").display(),
        );
        let path = dir.join("holder.toml");
        std::fs::write(&path, config).unwrap();
        path
    }
}

fn bundle() -> Value {
    json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "Patient/elena", "resource": {"resourceType": "Patient", "id": "elena",
            "gender": "female", "birthDate": "1989-09-14",
            "name": [{"family": "Reyes", "given": ["Elena", "Marisol"]}],
            "identifier": [{"system": "http://hospital.example.org/mrn", "value": "A12345"}]}},
        {"fullUrl": "Observation/bp", "resource": {"resourceType": "Observation", "id": "bp",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
            "subject": {"reference": "Patient/elena"},
            "effectiveDateTime": "2024-03-01"}}]})
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

/// A token-endpoint answer: status and JSON body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    /// The access token of a 200.
    pub fn token(&self) -> Option<&str> {
        (self.status == 200)
            .then(|| self.body["access_token"].as_str())
            .flatten()
    }
}

/// Redeems `ticket` with `assertion` at `addr`; `None` when no answer arrived (connection
/// refused or cut: nothing was promised).
pub async fn redeem(
    http: &reqwest::Client,
    addr: &str,
    ticket: &str,
    assertion: &str,
) -> Option<Reply> {
    let form = [
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
    ];
    let resp = http
        .post(format!("http://{addr}/fhir/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&form))
        .send()
        .await
        .ok()?;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.ok()?;
    Some(Reply { status, body })
}

/// `GET [base]/Observation` at `addr` with `token`: the status and the ids found.
pub async fn observations(http: &reqwest::Client, addr: &str, token: &str) -> (u16, Vec<String>) {
    let resp = http
        .get(format!("http://{addr}/fhir/Observation"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let ids = body["entry"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| e["resource"]["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    (status, ids)
}

/// Every audit record `tessera audit --config config` prints (the most recent 1000).
pub fn audit_records(config: &Path) -> Vec<Value> {
    let out = crate::tessera(&["audit", "--config", config.to_str().unwrap()], None);
    crate::ok(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
