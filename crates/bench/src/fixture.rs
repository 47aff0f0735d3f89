//! The run's world: synthetic patients (tessera-synth) written to a temporary directory, an
//! issuer key and a client key, the Data Holder's configuration file, and the pre-signed
//! tickets and client assertions (signed before the clock starts, so the load measures the
//! server, not our signing).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use tessera_jose::{Alg, JwkSet, PrivateJwk, sign_compact};
use tessera_synth::write::DirSink;
use tessera_synth::{Config, Layout, generate};

use crate::BenchError;

/// The Data Holder's FHIR base as configured (token `aud`, DPoP `htu`); requests go to the
/// loopback address it binds.
pub const BASE: &str = "https://bench.tessera.example/fhir";
/// The ticket issuer.
pub const ISSUER: &str = "https://issuer.bench.tessera.example";
/// The benchmark client.
pub const CLIENT_ID: &str = "bench-client";
/// Patient-self-access ticket type.
pub const SELF_ACCESS: &str =
    "https://smarthealthit.org/permission-ticket-type/patient-self-access-v1";
/// Scopes every ticket grants.
pub const SCOPES: [&str; 3] = [
    "patient/Patient.rs",
    "patient/Observation.rs",
    "patient/Condition.rs",
];

/// A synthetic patient as the tickets name it.
#[derive(Debug, Clone)]
pub struct Subject {
    /// The Patient resource id at its site.
    pub id: String,
    /// `subject.patient` of a ticket for it (identifiers, name, birth date).
    pub patient: Value,
}

/// Keys, configuration and subjects of one run.
#[derive(Debug)]
pub struct Fixture {
    /// Ticket issuer key.
    pub issuer: PrivateJwk,
    /// Client key (`private_key_jwt`).
    pub client: PrivateJwk,
    /// The Data Holder configuration file (`None` for a target started elsewhere).
    pub config_path: Option<PathBuf>,
    /// The same without `load` (a restart on the store the first start filled).
    pub warm_config_path: Option<PathBuf>,
    /// One entry per loaded Patient record (with preloaded data: the ones tickets name).
    pub subjects: Vec<Subject>,
    /// Patients in the data: generated, or as the preloaded data's manifest says.
    pub patients: u64,
    /// The FHIR base as the Data Holder is configured: ticket `aud`, assertion `aud`
    /// (`{base}/token`), DPoP `htu`.
    pub base: String,
    /// The tickets' `iss`.
    pub issuer_id: String,
    /// The client's id.
    pub client_id: String,
    /// The tickets' `ticket_type`.
    pub ticket_type: String,
    /// The tickets' `access.smart_scopes`.
    pub scopes: Vec<String>,
}

/// The wall clock: the server under test runs on the system clock, so tickets and
/// assertions are dated by it.
#[allow(clippy::disallowed_methods)]
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Fixture {
    /// Generates `patients` synthetic patients under `dir` and writes the configuration, with
    /// the store at `store` (a `postgres://` URL, say) or a SQLite file under `dir`.
    ///
    /// With `preloaded`, the data is a `tessera synth` output already ingested into `store`:
    /// nothing is generated or loaded (at 100,000 patients a load per run would take an
    /// hour), and the tickets name the first [`PRELOADED_SUBJECTS`] Patients found there.
    pub fn create(
        dir: &Path,
        patients: u64,
        store: Option<&str>,
        preloaded: Option<&Path>,
    ) -> Result<Fixture, BenchError> {
        let io = |what: &'static str| move |e: std::io::Error| BenchError::of(what, e);
        let (data, limit) = match preloaded {
            Some(d) => (d.to_owned(), PRELOADED_SUBJECTS),
            None => {
                let data = dir.join("data");
                let mut sink = DirSink::new(&data, Layout::Bundles, false);
                generate(&Config::new(42, patients.max(1)), &mut sink)
                    .map_err(|e| BenchError::of("synthetic data", e))?;
                (data, usize::MAX)
            }
        };
        let bundles = data.join("bundles");
        if !bundles.is_dir() {
            return Err(BenchError(format!(
                "{} holds no bundles/ directory (expected `tessera synth` output)",
                data.display()
            )));
        }
        let subjects = subjects(&bundles, limit)?;
        let patients = match preloaded {
            Some(d) => manifest_patients(d).unwrap_or(subjects.len() as u64),
            None => patients.max(1),
        };
        if subjects.is_empty() {
            return Err(BenchError("the synthetic data holds no Patient".into()));
        }
        let issuer = PrivateJwk::generate(Alg::Es256).map_err(|e| BenchError::of("key", e))?;
        let client = PrivateJwk::generate(Alg::Es256).map_err(|e| BenchError::of("key", e))?;
        let set = |k: &PrivateJwk| JwkSet::new(vec![k.public().clone()]).to_value().to_string();
        std::fs::write(dir.join("issuer.json"), set(&issuer)).map_err(io("issuer keys"))?;
        std::fs::write(dir.join("client.json"), set(&client)).map_err(io("client keys"))?;
        let config = |load: &str| {
            format!(
                r#"
listen = "127.0.0.1:0"
base_url = "{BASE}"
store = "{store}"
{load}
trust_frameworks = ["https://network.bench.tessera.example"]
[holder]
organization = [{{ system = "http://hl7.org/fhir/sid/us-npi", value = "1234567893" }}]
address = {{ country = "US", state = "TX" }}
[[issuer]]
iss = "{ISSUER}"
jwks_file = "{issuer_keys}"
ticket_types = ["{SELF_ACCESS}"]
[[client]]
client_id = "{CLIENT_ID}"
jwks_file = "{client_keys}"
"#,
                store = match store {
                    Some(url) => url.to_owned(),
                    None => format!("sqlite://{}", dir.join("holder.db").display()),
                },
                issuer_keys = dir.join("issuer.json").display(),
                client_keys = dir.join("client.json").display(),
            )
        };
        let load = match preloaded {
            Some(_) => String::new(),
            None => format!("load = [\"{}\"]", bundles.display()),
        };
        let config_path = dir.join("holder.toml");
        std::fs::write(&config_path, config(&load)).map_err(io("configuration"))?;
        // The same server once the data is in: nothing to load at start (a restart).
        let warm_config_path = dir.join("holder-warm.toml");
        std::fs::write(&warm_config_path, config("")).map_err(io("configuration"))?;
        Ok(Fixture {
            issuer,
            client,
            config_path: Some(config_path),
            warm_config_path: Some(warm_config_path),
            subjects,
            patients,
            base: BASE.to_owned(),
            issuer_id: ISSUER.to_owned(),
            client_id: CLIENT_ID.to_owned(),
            ticket_type: SELF_ACCESS.to_owned(),
            scopes: SCOPES.map(str::to_owned).to_vec(),
        })
    }

    /// A fresh ticket for subject `i` (modulo the subject count), bound to the client's key.
    pub fn ticket(&self, i: usize) -> Result<String, BenchError> {
        let s = &self.subjects[i % self.subjects.len()];
        let t = now();
        sign(
            &self.issuer,
            &json!({
                "iss": self.issuer_id, "aud": self.base, "exp": t + 3600, "iat": t - 5,
                "jti": uuid::Uuid::new_v4().to_string(), "ticket_type": self.ticket_type,
                "presenter_binding": {"method": "jkt", "jkt": self.client.public().thumbprint()},
                "subject": {"patient": s.patient},
                "access": {"smart_scopes": self.scopes},
            }),
        )
    }

    /// A fresh client assertion for the token endpoint.
    pub fn assertion(&self) -> Result<String, BenchError> {
        let t = now();
        sign(
            &self.client,
            &json!({"iss": self.client_id, "sub": self.client_id,
                "aud": format!("{}/token", self.base),
                "jti": uuid::Uuid::new_v4().to_string(), "iat": t, "exp": t + 300}),
        )
    }

    /// A fresh DPoP proof (RFC 9449) for the token endpoint, by `key`.
    pub fn dpop_proof(&self, key: &PrivateJwk) -> Result<String, BenchError> {
        let mut header = Map::new();
        header.insert("typ".into(), "dpop+jwt".into());
        header.insert("jwk".into(), key.public().to_value());
        let claims = json!({"htm": "POST", "htu": format!("{}/token", self.base), "iat": now(),
            "jti": uuid::Uuid::new_v4().to_string()});
        let signer = key.signer().map_err(|e| BenchError::of("signer", e))?;
        let body = serde_json::to_vec(&claims).map_err(|e| BenchError::of("payload", e))?;
        sign_compact(&header, &body, &signer).map_err(|e| BenchError::of("signing", e))
    }
}

fn sign(key: &PrivateJwk, payload: &Value) -> Result<String, BenchError> {
    let signer = key.signer().map_err(|e| BenchError::of("signer", e))?;
    let body = serde_json::to_vec(payload).map_err(|e| BenchError::of("payload", e))?;
    sign_compact(&Map::new(), &body, &signer).map_err(|e| BenchError::of("signing", e))
}

/// `patients` of a `tessera synth` manifest (the rest of it is not needed here).
fn manifest_patients(data: &Path) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Header {
        patients: u64,
    }
    let file = std::fs::File::open(data.join("manifest.json")).ok()?;
    let h: Header = serde_json::from_reader(std::io::BufReader::new(file)).ok()?;
    Some(h.patients)
}

/// Patients named by tickets when the data is preloaded: enough for distinct tickets, few
/// enough that reading them takes seconds, not the minutes all 100,000 would.
pub const PRELOADED_SUBJECTS: usize = 2_000;

/// Every Patient of the generated bundles (up to `limit`), as a ticket subject (its
/// identifiers make the match unique to one record).
fn subjects(dir: &Path, limit: usize) -> Result<Vec<Subject>, BenchError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        if out.len() >= limit {
            break;
        }
        let entries = std::fs::read_dir(&d).map_err(|e| BenchError::of("data directory", e))?;
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            if out.len() >= limit {
                break;
            }
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "json") {
                let bytes = std::fs::read(&p).map_err(|e| BenchError::of("bundle", e))?;
                let bundle: Value =
                    serde_json::from_slice(&bytes).map_err(|e| BenchError::of("bundle", e))?;
                for e in bundle["entry"].as_array().into_iter().flatten() {
                    let r = &e["resource"];
                    if r["resourceType"] == "Patient"
                        && let Some(id) = r["id"].as_str()
                    {
                        // The site's own identifiers only: the generator's cross-site person
                        // id would reach the person's records at every site (ambiguous
                        // without `[linkage]`).
                        let identifiers: Vec<&Value> = r["identifier"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter(|i| i["system"] != tessera_synth::PERSON_ID_SYSTEM)
                            .collect();
                        out.push(Subject {
                            id: id.to_owned(),
                            patient: json!({
                                "resourceType": "Patient",
                                "identifier": identifiers,
                                "name": r["name"],
                                "birthDate": r["birthDate"],
                            }),
                        });
                    }
                }
            }
        }
    }
    Ok(out)
}
