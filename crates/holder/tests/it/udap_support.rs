//! Harness for the UDAP tests: two generated UDAP communities (payers, public health) with a
//! CRL distribution point served on loopback, the Data Holder served on a real loopback
//! socket with a fixed clock, and client helpers (register, x5c assertions, redeem) over
//! reqwest.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Map, Value, json};
use tessera_holder::{Config, FixedClock, HolderState, app};
use tessera_store::token_db::TokenDb;
use tessera_udap::pki::{Leaf, LeafSpec, Pki};
use tessera_udap::{Pkcs8Signer, sign_x5c};

use crate::token_support::*;

pub const SEED_BASE: &str = "https://fhir.provider.example.org";
pub const PAYERS: &str = "https://directory.example-network.org";
pub const PUBLIC_HEALTH: &str = "https://state.example.gov/trust-framework/public-health";
pub const QUALITY: &str = "https://payer.example.com/organizations/quality";
pub const CLAIMS: &str = "https://payer.example.com/organizations/claims-review";
pub const EPI: &str = "https://state.example.gov/organizations/epi-unit";
pub const T_PH: &str =
    "https://smarthealthit.org/permission-ticket-type/public-health-investigation-v1";
pub const QG_SEED: &str = "qg-7b41d6e8-90af-4c33-8d12-64e07f5a21c9.jwt";
pub const CLAIMS_SEED: &str = "uc5-2f9a7c11-5d28-4e6b-9b54-3c1f8a02d977.jwt";
pub const PH_SEED: &str = "uc3-16ff62cf-2d2d-4b30-8c86-6a13d7ab7d16.jwt";
/// The seed tickets' `iat` (qg, uc5); uc3 is earlier.
pub const SEED_IAT: i64 = 1_782_329_950;
pub const DAY: i64 = 86_400;

pub fn seed(name: &str) -> String {
    let p = format!(
        "{}/../../test-vectors/seed/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(p).unwrap().trim().to_owned()
}

/// Asserts an OAuth error: status, `error`, and a part of `error_description`.
#[track_caller]
pub fn assert_oauth(got: &(u16, Value), status: u16, code: &str, desc_part: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"], code, "{}", got.1);
    let d = got.1["error_description"].as_str().unwrap_or_default();
    assert!(d.contains(desc_part), "{d:?} lacks {desc_part:?}");
}

/// The seed issuer's private key (test-vectors/keys), for tickets derived from the seeds.
pub fn spec_issuer() -> tessera_jose::PrivateJwk {
    let p = format!(
        "{}/../../test-vectors/keys/spec-issuer.private.jwk.json",
        env!("CARGO_MANIFEST_DIR")
    );
    tessera_jose::PrivateJwk::from_json(std::fs::read_to_string(p).unwrap().as_bytes()).unwrap()
}

pub fn iat_of(ticket: &str) -> i64 {
    let payload = tessera_jose::b64::decode(ticket.split('.').nth(1).unwrap()).unwrap();
    serde_json::from_slice::<Value>(&payload).unwrap()["iat"]
        .as_i64()
        .unwrap()
}

/// The CRL the loopback distribution point serves (None: 404).
#[derive(Clone, Default)]
pub struct CrlServer(pub Arc<Mutex<Option<Vec<u8>>>>);

async fn serve_crl(State(s): State<CrlServer>) -> axum::response::Response {
    use axum::response::IntoResponse;
    match s.0.lock().unwrap().clone() {
        Some(b) => b.into_response(),
        None => http::StatusCode::NOT_FOUND.into_response(),
    }
}

pub struct Udap {
    pub payers: Arc<Pki>,
    pub public_health: Arc<Pki>,
    pub crl: CrlServer,
    pub crl_url: String,
    pub missing_crl_url: String,
    pub addr: SocketAddr,
    pub clock: Arc<FixedClock>,
    pub db: Arc<TokenDb>,
    pub http: reqwest::Client,
    pub _dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Udap {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn config_text_with(dir: &Path, registration: &str, extra: &str) -> String {
    std::fs::copy(
        format!(
            "{}/../../test-vectors/keys/spec-issuer.public.jwk.json",
            env!("CARGO_MANIFEST_DIR")
        ),
        dir.join("spec-issuer.json"),
    )
    .unwrap();
    format!(
        r#"
listen = "127.0.0.1:0"
base_url = "{SEED_BASE}"
store = "sqlite::memory:"
trust_frameworks = ["https://network.org"]
# The public-health seed (uc3) still uses the legacy `permissions` access shape.
legacy_access_shapes = true
[holder]
address = {{ country = "US", state = "TX" }}
[registration]
{registration}
[[trust_framework]]
id = "{PAYERS}"
framework_type = "udap"
anchors_file = "payers-root.pem"
certificate_file = "holder-chain.pem"
key_file = "holder-key.pem"
[[trust_framework]]
id = "{PUBLIC_HEALTH}"
framework_type = "udap"
anchors_file = "ph-root.pem"
[[issuer]]
iss = "{SEED_BASE}"
jwks_file = "spec-issuer.json"
ticket_types = ["{T_CLAIMS}", "{T_QG}"]
self_issued = true
[[issuer]]
iss = "https://issuer.state.example.gov"
jwks_file = "spec-issuer.json"
ticket_types = ["{T_PH}"]
{extra}
"#
    )
}

/// The uc3 subject, so the public-health seed resolves here.
pub fn carter() -> Value {
    json!({"resourceType":"Patient","id":"carter","birthDate":"1978-02-21",
        "name":[{"family":"Carter","given":["Monica"]}],
        "identifier":[{"system":"http://hospital.example.org/mrn","value":"M445566"}]})
}

impl Udap {
    pub async fn start() -> Udap {
        Udap::start_with("enabled = true", None).await
    }

    /// Starts a holder; `db_path` makes the token database a file (restart tests).
    pub async fn start_with(registration: &str, db_path: Option<&Path>) -> Udap {
        let from = SEED_IAT - 400 * DAY;
        let until = SEED_IAT + 400 * DAY;
        let payers = Pki::new("Payers", from, until, None).unwrap();
        let public_health = Pki::new("Public Health", from, until, None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        Udap::start_in(
            Arc::new(payers),
            Arc::new(public_health),
            dir,
            registration,
            db_path,
        )
        .await
    }

    /// As [`Udap::start_in`] with extra configuration appended.
    pub async fn start_extra(payers: Arc<Pki>, public_health: Arc<Pki>, extra: &str) -> Udap {
        Udap::start_all(
            payers,
            public_health,
            tempfile::tempdir().unwrap(),
            "enabled = true",
            None,
            extra,
        )
        .await
    }

    pub async fn start_in(
        payers: Arc<Pki>,
        public_health: Arc<Pki>,
        dir: tempfile::TempDir,
        registration: &str,
        db_path: Option<&Path>,
    ) -> Udap {
        Udap::start_all(payers, public_health, dir, registration, db_path, "").await
    }

    pub async fn start_all(
        payers: Arc<Pki>,
        public_health: Arc<Pki>,
        dir: tempfile::TempDir,
        registration: &str,
        db_path: Option<&Path>,
        extra: &str,
    ) -> Udap {
        let crl = CrlServer::default();
        let crl_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let crl_addr = crl_listener.local_addr().unwrap();
        let crl_router = Router::new()
            .route("/int.crl", get(serve_crl))
            .with_state(crl.clone());
        tokio::spawn(async move {
            let _ = axum::serve(crl_listener, crl_router).await;
        });
        let holder_leaf = payers
            .leaf(&LeafSpec::server(
                SEED_BASE,
                SEED_IAT - 400 * DAY,
                SEED_IAT + 400 * DAY,
            ))
            .unwrap();
        std::fs::write(dir.path().join("payers-root.pem"), payers.root_pem()).unwrap();
        std::fs::write(dir.path().join("ph-root.pem"), public_health.root_pem()).unwrap();
        std::fs::write(dir.path().join("holder-chain.pem"), &holder_leaf.chain_pem).unwrap();
        std::fs::write(dir.path().join("holder-key.pem"), &holder_leaf.key_pem).unwrap();
        let mut config = Config::from_toml(
            &config_text_with(dir.path(), registration, extra),
            dir.path(),
        )
        .unwrap();
        config.allow_loopback_http = true;
        let clock = Arc::new(FixedClock::new(SEED_IAT + 60));
        let db = Arc::new(match db_path {
            Some(p) => TokenDb::open(p).unwrap(),
            None => TokenDb::open_in_memory().unwrap(),
        });
        let state = HolderState::new(
            config,
            clock.clone(),
            fixture_store(&[carter()]),
            db.clone(),
        )
        .unwrap();
        let router = app(state).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Udap {
            payers,
            public_health,
            crl,
            crl_url: format!("http://{crl_addr}/int.crl"),
            missing_crl_url: format!("http://{crl_addr}/missing.crl"),
            addr,
            clock,
            db,
            http: reqwest::Client::new(),
            _dir: dir,
            server,
        }
    }

    pub fn now(&self) -> i64 {
        use tessera_holder::Clock;
        self.clock.now()
    }

    /// A client leaf of `pki` for `san`, valid around the seed time.
    pub fn client(&self, pki: &Pki, san: &str) -> Leaf {
        pki.leaf(&LeafSpec::client(
            san,
            SEED_IAT - 400 * DAY,
            SEED_IAT + 400 * DAY,
        ))
        .unwrap()
    }

    pub fn statement_claims(&self, iss: &str) -> Map<String, Value> {
        let now = self.now();
        json!({"iss": iss, "sub": iss, "aud": format!("{SEED_BASE}/register"),
            "iat": now, "exp": now + 300, "jti": uuid::Uuid::new_v4().to_string(),
            "client_name": "Payer analytics", "grant_types": [TOKEN_EXCHANGE],
            "token_endpoint_auth_method": "private_key_jwt",
            "scope": "system/Patient.rs system/Observation.rs system/Encounter.rs patient/*.rs"})
        .as_object()
        .cloned()
        .unwrap()
    }

    pub fn sign(leaf: &Leaf, claims: &Map<String, Value>) -> String {
        let signer = Pkcs8Signer::from_pem(leaf.key_pem.as_bytes()).unwrap();
        sign_x5c(claims, &leaf.chain, &signer).unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value, http::HeaderMap) {
        let r = self
            .http
            .post(format!("http://{}{path}", self.addr))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let v = r.json::<Value>().await.unwrap_or(Value::Null);
        (status, v, headers)
    }

    /// Registers with the statement `claims` signed by `leaf`.
    pub async fn register_claims(&self, leaf: &Leaf, claims: &Map<String, Value>) -> (u16, Value) {
        let st = Udap::sign(leaf, claims);
        let (s, b, h) = self
            .post_json("/register", &json!({"software_statement": st, "udap": "1"}))
            .await;
        assert_eq!(h["cache-control"], "no-store");
        (s, b)
    }

    /// Registers `leaf` as `san`; returns the client id.
    pub async fn register(&self, leaf: &Leaf, san: &str) -> String {
        let (s, b) = self
            .register_claims(leaf, &self.statement_claims(san))
            .await;
        assert_eq!(s, 201, "{b}");
        b["client_id"].as_str().unwrap().to_owned()
    }

    pub fn assertion_claims(&self, client_id: &str) -> Map<String, Value> {
        let now = self.now();
        json!({"iss": client_id, "sub": client_id, "aud": format!("{SEED_BASE}/token"),
            "iat": now, "exp": now + 300, "jti": uuid::Uuid::new_v4().to_string()})
        .as_object()
        .cloned()
        .unwrap()
    }

    pub async fn redeem_with(&self, ticket: &str, assertion: &str) -> (u16, Value) {
        let form = [
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token_type", SUBJECT_TOKEN_TYPE),
            ("subject_token", ticket),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
        ];
        let r = self
            .http
            .post(format!("http://{}/token", self.addr))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish(),
            )
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// Redeems `ticket` as the UDAP client `client_id` holding `leaf`.
    pub async fn redeem(&self, ticket: &str, leaf: &Leaf, client_id: &str) -> (u16, Value) {
        let a = Udap::sign(leaf, &self.assertion_claims(client_id));
        self.redeem_with(ticket, &a).await
    }

    pub fn audit(&self, event: &str) -> Vec<tessera_store::audit::AuditRecord> {
        self.db
            .audit_recent()
            .unwrap()
            .into_iter()
            .filter(|r| r.event == event)
            .collect()
    }
}
