//! Shared harness for the token-endpoint tests: fixed keys generated once, a fixture store, a
//! configurable Data Holder with a fixed clock, and request helpers (in-process `oneshot`).

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Map, Value, json};
use tessera_holder::{Config, FixedClock, HolderState, app};
use tessera_jose::{Alg, PrivateJwk, sign_compact};
use tessera_store::token_db::TokenDb;
use tessera_store::{
    IngestOptions, IngestReport, ResourceStore, SiteMode, SqliteStore, ingest_value,
};
use tower::ServiceExt;

pub const NOW: i64 = 1_800_000_000;
pub const BASE: &str = "https://dh.example.org/fhir";
pub const ISSUER: &str = "https://issuer.example";
pub const SELF_ONLY_ISSUER: &str = "https://selfonly.example";
pub const IDP: &str = "https://idp.example";
pub const NPI: &str = "http://hl7.org/fhir/sid/us-npi";
pub const PAYER_NPI: &str = "1093817465";
pub const T_SELF: &str = "https://smarthealthit.org/permission-ticket-type/patient-self-access-v1";
pub const T_DELEGATED: &str =
    "https://smarthealthit.org/permission-ticket-type/patient-delegated-access-v1";
pub const T_CLAIMS: &str =
    "https://smarthealthit.org/permission-ticket-type/payer-claims-adjudication-v1";
pub const T_QG: &str = "https://smarthealthit.org/permission-ticket-type/payer-quality-gap-v1";
pub const SUBJECT_TOKEN_TYPE: &str = "https://smarthealthit.org/token-type/permission-ticket";
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Test-only keys, generated once per test binary.
pub struct Keys {
    pub issuer: PrivateJwk,
    pub client: PrivateJwk,
    pub payer: PrivateJwk,
    pub other: PrivateJwk,
    pub idp: PrivateJwk,
}

pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        issuer: PrivateJwk::generate(Alg::Es256).unwrap(),
        client: PrivateJwk::generate(Alg::Es256).unwrap(),
        payer: PrivateJwk::generate(Alg::Es256).unwrap(),
        other: PrivateJwk::generate(Alg::Es256).unwrap(),
        idp: PrivateJwk::generate(Alg::Es256).unwrap(),
    })
}

pub fn public_set(k: &PrivateJwk) -> String {
    json!({ "keys": [k.public().to_value()] }).to_string()
}

/// The fixture records (ids kept as written: no site mapping).
pub fn fixture_bundle() -> Value {
    let mut entries = vec![
        json!({"resourceType":"Patient","id":"elena","gender":"female","birthDate":"1989-09-14",
            "name":[{"family":"Reyes","given":["Elena","Marisol"]}],
            "identifier":[{"system":"http://hospital.example.org/mrn","value":"A12345"}]}),
        json!({"resourceType":"Observation","id":"obs-in","status":"final",
            "subject":{"reference":"Patient/elena"},"effectiveDateTime":"2023-05-01",
            "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
            "code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]}}),
        json!({"resourceType":"Observation","id":"obs-old","status":"final",
            "subject":{"reference":"Patient/elena"},"effectiveDateTime":"2019-01-01",
            "code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]}}),
        json!({"resourceType":"Condition","id":"cond-elena","subject":{"reference":"Patient/elena"},
            "recordedDate":"2022-01-01","code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006"}]}}),
        json!({"resourceType":"Patient","id":"maria","gender":"female","birthDate":"1948-06-15",
            "name":[{"family":"Reyes","given":["Maria"]}],
            "identifier":[{"system":"https://national-mpi.net","value":"pt-555"}]}),
        json!({"resourceType":"Observation","id":"obs-maria","status":"final",
            "subject":{"reference":"Patient/maria"},"effectiveDateTime":"2023-05-01",
            "code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]}}),
        json!({"resourceType":"Patient","id":"C10288","birthDate":"1957-11-02",
            "name":[{"family":"Tran","given":["Lien"]}],
            "identifier":[{"system":"http://fhir.provider.example.org/mrn","value":"C10288"}]}),
        json!({"resourceType":"Coverage","id":"cov-tran","status":"active",
            "beneficiary":{"reference":"Patient/C10288"},
            "payor":[{"identifier":{"system":NPI,"value":PAYER_NPI}}]}),
        json!({"resourceType":"Observation","id":"obs-tran","status":"final",
            "subject":{"reference":"Patient/C10288"},"effectiveDateTime":"2026-03-01",
            "code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]}}),
        json!({"resourceType":"Patient","id":"B77421","birthDate":"1962-03-09",
            "name":[{"family":"Okafor","given":["Daniel"]}],
            "identifier":[{"system":"http://fhir.provider.example.org/mrn","value":"B77421"}]}),
        json!({"resourceType":"Encounter","id":"enc-2026-0117","status":"finished",
            "class":{"code":"AMB"},"subject":{"reference":"Patient/B77421"},
            "period":{"start":"2026-01-17","end":"2026-01-17"}}),
        json!({"resourceType":"Observation","id":"obs-okafor","status":"final",
            "subject":{"reference":"Patient/B77421"},"encounter":{"reference":"Encounter/enc-2026-0117"},
            "effectiveDateTime":"2026-01-17","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]}}),
    ];
    let entries: Vec<Value> = entries
        .drain(..)
        .map(|r| json!({"fullUrl": format!("{}/{}", r["resourceType"].as_str().unwrap(), r["id"].as_str().unwrap()), "resource": r}))
        .collect();
    json!({"resourceType":"Bundle","type":"collection","entry":entries})
}

pub fn fixture_store(extra: &[Value]) -> Arc<dyn ResourceStore> {
    let store = SqliteStore::open_in_memory().unwrap();
    let opts = IngestOptions {
        now: NOW,
        sites: SiteMode::None,
    };
    let mut report = IngestReport::default();
    ingest_value(&store, fixture_bundle(), None, &opts, &mut report).unwrap();
    for r in extra {
        ingest_value(&store, r.clone(), None, &opts, &mut report).unwrap();
    }
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    Arc::new(store)
}

/// The default configuration (TOML); `extra` is appended.
pub fn config_toml(extra: &str) -> String {
    format!(
        r#"
listen = "127.0.0.1:0"
base_url = "{BASE}"
store = "sqlite::memory:"
trust_frameworks = ["https://network.example"]
leeway_seconds = 30
admin_token = "admin-secret-0123456789"
[holder]
organization = [{{ system = "{NPI}", value = "1234567893" }}]
address = {{ country = "US", state = "CA" }}
[[issuer]]
iss = "{ISSUER}"
jwks_file = "issuer.json"
ticket_types = ["{T_SELF}", "{T_DELEGATED}", "{T_QG}"]
[[issuer]]
iss = "{BASE}"
jwks_file = "issuer.json"
ticket_types = ["{T_CLAIMS}"]
self_issued = true
[[issuer]]
iss = "{SELF_ONLY_ISSUER}"
jwks_file = "issuer.json"
ticket_types = ["{T_SELF}"]
[[client]]
client_id = "app1"
jwks_file = "client.json"
introspection = true
[[client]]
client_id = "payer"
jwks_file = "payer.json"
acts_for = [{{ system = "{NPI}", value = "{PAYER_NPI}" }}]
[[identity_provider]]
iss = "{IDP}"
jwks_file = "idp.json"
audience_map = {{ "issuer-app" = "{ISSUER}" }}
{extra}
"#
    )
}

pub struct Holder {
    pub state: HolderState,
    pub router: Router,
    pub clock: Arc<FixedClock>,
    pub db: Arc<TokenDb>,
    pub _dir: tempfile::TempDir,
}

impl Holder {
    pub fn new() -> Holder {
        Holder::with_config(&config_toml(""))
    }

    pub fn with_config(toml: &str) -> Holder {
        Holder::build(toml, fixture_store(&[]))
    }

    pub fn build(toml: &str, store: Arc<dyn ResourceStore>) -> Holder {
        Holder::build_on(toml, store, |_| {
            Arc::new(TokenDb::open_in_memory().unwrap())
        })
    }

    /// `build` with the token database `open` makes in the holder's own directory.
    pub fn build_on(
        toml: &str,
        store: Arc<dyn ResourceStore>,
        open: impl FnOnce(&std::path::Path) -> Arc<TokenDb>,
    ) -> Holder {
        let k = keys();
        let dir = tempfile::tempdir().unwrap();
        for (name, key) in [
            ("issuer.json", &k.issuer),
            ("client.json", &k.client),
            ("payer.json", &k.payer),
            ("idp.json", &k.idp),
        ] {
            std::fs::write(dir.path().join(name), public_set(key)).unwrap();
        }
        let config = Config::from_toml(toml, dir.path()).unwrap();
        let clock = Arc::new(FixedClock::new(NOW));
        let db = open(dir.path());
        let state = HolderState::new(config, clock.clone(), store, db.clone()).unwrap();
        let router = app(state.clone()).unwrap();
        Holder {
            state,
            router,
            clock,
            db,
            _dir: dir,
        }
    }

    pub fn token_url(&self) -> String {
        self.state.config().token_url()
    }

    pub fn now(&self) -> i64 {
        self.state.now()
    }

    /// A fresh, valid client assertion.
    pub fn assertion(&self, client_id: &str, key: &PrivateJwk) -> String {
        let now = self.now();
        let claims = json!({"iss": client_id, "sub": client_id, "aud": self.token_url(),
            "jti": uuid::Uuid::new_v4().to_string(), "iat": now, "exp": now + 60});
        sign(key, &claims)
    }

    pub async fn post(
        &self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, Value) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut req =
            Request::post(path).header("content-type", "application/x-www-form-urlencoded");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        send(&self.router, req.body(Body::from(body)).unwrap()).await
    }

    pub async fn get(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, Value) {
        let mut req = Request::get(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        send(&self.router, req.body(Body::empty()).unwrap()).await
    }

    /// Redeems `ticket` as `app1` with a fresh assertion and optional extra parameters.
    pub async fn redeem(&self, ticket: &str, extra: &[(&str, &str)]) -> (StatusCode, Value) {
        self.redeem_as("app1", &keys().client, ticket, extra).await
    }

    pub async fn redeem_as(
        &self,
        client: &str,
        key: &PrivateJwk,
        ticket: &str,
        extra: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let assertion = self.assertion(client, key);
        let mut form = vec![
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token_type", SUBJECT_TOKEN_TYPE),
            ("subject_token", ticket),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion.as_str()),
        ];
        form.extend_from_slice(extra);
        let (status, headers, body) = self.post("/fhir/token", &form, &[]).await;
        assert_eq!(
            headers.get("cache-control").unwrap(),
            "no-store",
            "PT-REQ-08"
        );
        assert_eq!(headers.get("pragma").unwrap(), "no-cache", "PT-REQ-08");
        (status, body)
    }

    /// The audit rows of a ticket jti.
    pub fn audit(&self, jti: &str) -> Vec<tessera_store::audit::AuditRecord> {
        self.db.audit_by_jti(jti).unwrap()
    }
}

pub async fn send(router: &Router, req: Request<Body>) -> (StatusCode, HeaderMap, Value) {
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    (status, headers, body)
}

/// Signs any JSON payload as a compact JWS with `key` (header `alg`, `kid` from the key).
pub fn sign(key: &PrivateJwk, payload: &Value) -> String {
    sign_compact(
        &Map::new(),
        &serde_json::to_vec(payload).unwrap(),
        &key.signer().unwrap(),
    )
    .unwrap()
}

pub fn sign_with_header(key: &PrivateJwk, header: Value, payload: &Value) -> String {
    let Value::Object(h) = header else {
        panic!("header")
    };
    sign_compact(
        &h,
        &serde_json::to_vec(payload).unwrap(),
        &key.signer().unwrap(),
    )
    .unwrap()
}

/// The valid baseline: a self-access ticket for Elena, bound to app1's key.
pub fn baseline() -> Value {
    json!({
        "iss": ISSUER,
        "aud": BASE,
        "exp": NOW + 3600,
        "iat": NOW - 60,
        "jti": uuid::Uuid::new_v4().to_string(),
        "ticket_type": T_SELF,
        "presenter_binding": {"method": "jkt", "jkt": keys().client.public().thumbprint()},
        "subject": {"patient": {"resourceType": "Patient",
            "identifier": [{"system": "http://hospital.example.org/mrn", "value": "A12345"}],
            "birthDate": "1989-09-14", "name": [{"family": "Reyes", "given": ["Elena"]}]}},
        "access": {"smart_scopes": ["patient/Observation.rs", "patient/Condition.rs"],
            "data_period": {"start": "2021-01-01", "end": "2026-01-01"}}
    })
}

/// A delegated-access ticket: Elena (a DELEGATEE RelatedPerson) for Maria, bound to app1.
pub fn delegated() -> Value {
    let mut t = baseline();
    t["ticket_type"] = json!(T_DELEGATED);
    t["subject"]["patient"] = json!({"resourceType": "Patient", "birthDate": "1948-06-15",
        "name": [{"family": "Reyes", "given": ["Maria"]}], "identifier": [{"system": "https://national-mpi.net", "value": "pt-555"}]});
    t["requester"] = json!({"resourceType": "RelatedPerson", "name": [{"family": "Reyes", "given": ["Elena"]}],
        "relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "DELEGATEE"}]}]});
    t
}

pub fn mint(payload: &Value) -> String {
    sign(&keys().issuer, payload)
}

/// Asserts an OAuth error: status, `error`, and (when given) the exact description.
#[track_caller]
pub fn assert_error(
    got: &(StatusCode, Value),
    status: u16,
    error: &str,
    description: Option<&str>,
) {
    assert_eq!(got.0.as_u16(), status, "{}", got.1);
    assert_eq!(got.1["error"], error, "{}", got.1);
    assert!(
        got.1["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{}",
        got.1
    );
    if let Some(d) = description {
        assert_eq!(got.1["error_description"], d, "{}", got.1);
    }
}

/// An ID token from the test identity provider.
pub fn id_token(claims: Value) -> String {
    sign(&keys().idp, &claims)
}

pub fn evidence_claims(iat: i64) -> Value {
    json!({"iss": IDP, "aud": "issuer-app", "sub": "u1", "given_name": "Elena", "family_name": "Reyes",
        "birthdate": "1989-09-14", "iat": iat, "exp": iat + 300})
}

/// The token-exchange form for `ticket` with `assertion` (no extra parameters).
pub fn exchange_form<'a>(ticket: &'a str, assertion: &'a str) -> [(&'static str, &'a str); 5] {
    [
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token_type", SUBJECT_TOKEN_TYPE),
        ("subject_token", ticket),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ]
}

/// A DPoP proof (RFC 9449 §4.2) by `key` for `htm` `htu`, bound to `token` when given.
pub fn dpop_proof(key: &PrivateJwk, htm: &str, htu: &str, iat: i64, token: Option<&str>) -> String {
    dpop_proof_with(key, htm, htu, iat, token, None)
}

/// `dpop_proof` with a chosen `jti` (a fresh UUID when `None`).
pub fn dpop_proof_with(
    key: &PrivateJwk,
    htm: &str,
    htu: &str,
    iat: i64,
    token: Option<&str>,
    jti: Option<&str>,
) -> String {
    let jti = jti.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let mut claims = json!({"htm": htm, "htu": htu, "iat": iat, "jti": jti});
    if let Some(t) = token {
        let ath = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, t.as_bytes());
        claims["ath"] = json!(tessera_jose::b64::encode(ath.as_ref()));
    }
    sign_with_header(
        key,
        json!({"typ": "dpop+jwt", "jwk": key.public().to_value()}),
        &claims,
    )
}

/// Redeems `ticket` as `app1` with a DPoP proof by `key`; returns the bound token.
pub async fn dpop_token(h: &Holder, key: &PrivateJwk, ticket: &str) -> String {
    let assertion = h.assertion("app1", &keys().client);
    let p = dpop_proof(key, "POST", &h.token_url(), h.now(), None);
    let (s, _, body) = h
        .post(
            "/fhir/token",
            &exchange_form(ticket, &assertion),
            &[("dpop", p.as_str())],
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    body["access_token"].as_str().unwrap().to_owned()
}
