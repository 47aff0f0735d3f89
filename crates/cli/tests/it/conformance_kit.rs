//! `tessera conformance` against Tessera itself: a real `tessera serve` on loopback with
//! tessera-synth data and a configuration registering the kit (issuer, client), then every kit
//! test. All must pass except the expected skips; the report is docs/conformance-kit.md
//! (regenerate with `cargo xtask conformance-kit`, which sets TESSERA_UPDATE_KIT_REPORT=1).

use std::net::TcpListener as StdListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use serde_json::Value;
use tessera_conformance::init::{FEDERATION_ANCHOR_FILE, UDAP_ANCHOR_FILE, tessera_snippet};
use tessera_conformance::pki::UdapKeys;
use tessera_conformance::report::{Style, markdown, terminal};
use tessera_conformance::{KitConfig, KitKeys, RunOptions, Status};

use crate::{ok, path_str, tessera};

/// The committed report.
const REPORT: &str = "../../docs/conformance-kit.md";

#[allow(clippy::disallowed_methods)] // The test plays the operator, who runs on real time.
fn wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The test patient: the first one seen at two sites (demographics alone are then ambiguous,
/// its MRN at the first site is not), and another patient.
fn cast(manifest: &Value) -> (String, String, String) {
    let systems: std::collections::BTreeMap<&str, &str> = manifest["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["slug"].as_str().unwrap(),
                s["mrn_system"].as_str().unwrap(),
            )
        })
        .collect();
    let records = manifest["patient_records"].as_array().unwrap();
    let demographics = |p: &Value, with_mrn: bool| {
        let mut t = format!(
            "family = {}\ngiven = [{}]\nbirth_date = {}\n",
            p["family"], p["given"], p["birth_date"]
        );
        if with_mrn {
            let site = &p["sites"][0];
            t.push_str(&format!(
                "identifier = [{{ system = \"{}\", value = {} }}]\n",
                systems[site["site"].as_str().unwrap()],
                site["mrn"]
            ));
        }
        t
    };
    let main = records
        .iter()
        .find(|p| p["sites"].as_array().unwrap().len() >= 2)
        .expect("a patient seen at two sites");
    let other = records
        .iter()
        .find(|p| p["index"] != main["index"])
        .unwrap();
    (
        demographics(main, true),
        demographics(main, false),
        demographics(other, true),
    )
}

/// The security label codes of a resource.
fn labels(r: &Value) -> Vec<&str> {
    r.pointer("/meta/security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| l["code"].as_str())
        .collect()
}

/// The `Encounter/id` a clinical resource was recorded in.
fn encounter_of(r: &Value) -> Option<&str> {
    r.pointer("/encounter/reference")
        .or_else(|| r.pointer("/context/encounter/0/reference"))
        .and_then(Value::as_str)
}

/// The resources of one patient's bundle at one site.
fn bundle(dir: &Path, record: &Value, site: usize) -> Vec<Value> {
    let file = record["sites"][site]["file"].as_str().unwrap();
    let b: Value =
        serde_json::from_slice(&std::fs::read(dir.join("data").join(file)).unwrap()).unwrap();
    b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"].clone())
        .collect()
}

/// `[payer_claims]`, `[quality_gap]` and `[public_health]` for the test patient's record at
/// its first site (the one its MRN resolves): a claimed encounter with unlabelled records of
/// its own, records of another claimed encounter, current and resolved problems linked
/// elsewhere, a self-pay (HIPAASelfPay) encounter, its Coverage's payer, another payer.
fn b2b(dir: &Path, manifest: &Value) -> String {
    let records = manifest["patient_records"].as_array().unwrap();
    let main = records
        .iter()
        .find(|p| p["sites"].as_array().unwrap().len() >= 2)
        .unwrap();
    let other = records
        .iter()
        .find(|p| p["index"] != main["index"])
        .unwrap();
    let rs = bundle(dir, main, 0);
    let of = |ty: &'static str| rs.iter().filter(move |r| r["resourceType"] == ty);
    let id = |r: &Value| {
        format!(
            "{}/{}",
            r["resourceType"].as_str().unwrap(),
            r["id"].as_str().unwrap()
        )
    };
    let clean = |r: &&Value| labels(r).is_empty();
    let claimed: Vec<&str> = of("Claim")
        .flat_map(|c| c["item"].as_array().unwrap())
        .flat_map(|i| i["encounter"].as_array().unwrap())
        .map(|e| e["reference"].as_str().unwrap())
        .collect();
    let problems = |status: &str| {
        of("Condition")
            .filter(clean)
            .filter(|c| {
                c.pointer("/clinicalStatus/coding/0/code")
                    .and_then(Value::as_str)
                    == Some(status)
            })
            .filter(|c| {
                status != "active"
                    || c.pointer("/category/0/coding/0/code")
                        .and_then(Value::as_str)
                        == Some("problem-list-item")
            })
            .collect::<Vec<_>>()
    };
    let (active, resolved) = (problems("active"), problems("resolved"));
    // The linked encounter: claimed, with an unlabelled Observation and a note, and a current
    // and a resolved problem recorded elsewhere.
    let linked = claimed
        .iter()
        .rev()
        .find(|e| {
            let here = |r: &&Value| encounter_of(r) == Some(**e);
            of("Observation").filter(clean).any(|r| here(&r))
                && of("DocumentReference").any(|r| here(&r))
                && active.iter().any(|c| !here(c))
                && resolved.iter().any(|c| !here(c))
        })
        .expect("a claimed encounter to link");
    let elsewhere = |r: &&&Value| encounter_of(r) != Some(*linked);
    let released = of("Observation")
        .filter(clean)
        .find(|r| encounter_of(r) == Some(*linked))
        .unwrap();
    let unlinked = of("Observation")
        .filter(clean)
        .find(|r| encounter_of(r).is_some_and(|e| e != *linked && claimed.contains(&e)))
        .unwrap();
    let current = active.iter().find(elsewhere).unwrap();
    let not_current = resolved.iter().find(elsewhere).unwrap();
    let self_pay = of("Encounter")
        .find(|e| labels(e).contains(&"HIPAASelfPay"))
        .expect("a self-pay encounter");
    let self_pay_ref = id(self_pay);
    let restricted: Vec<String> = rs
        .iter()
        .filter(|r| encounter_of(r) == Some(self_pay_ref.as_str()))
        .filter(|r| labels(r).contains(&"HIPAASelfPay"))
        .take(2)
        .map(id)
        .collect();
    assert!(!restricted.is_empty(), "self-pay records");
    let other_encounter = bundle(dir, other, 0)
        .into_iter()
        .find(|r| r["resourceType"] == "Encounter")
        .unwrap();
    // The payer of the patient's Coverage, by its Organization's NPI; another payer has none.
    let payor = of("Coverage").next().unwrap()["payor"][0]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let npi = of("Organization")
        .find(|o| id(o) == payor)
        .and_then(|o| {
            o["identifier"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["system"] == "http://hl7.org/fhir/sid/us-npi")
                .cloned()
        })
        .expect("the payer Organization's NPI");
    let npi = npi["value"].as_str().unwrap();
    let unrelated = manifest["payers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["npi"].as_str().unwrap())
        .find(|n| *n != npi)
        .unwrap();
    let list = |v: &[String]| format!("{v:?}");
    format!(
        "[payer_claims]\npayer = {{ system = \"http://hl7.org/fhir/sid/us-npi\", value = \"{npi}\" }}\n\
         encounters = [\"{linked}\"]\nother_patient_encounter = \"{}\"\n\
         released = {}\nunlinked = {}\ncurrent = {}\nnot_current = {}\n\
         restricted_encounter = \"{self_pay_ref}\"\nrestricted = {}\n\
         withheld_types = [\"DocumentReference\"]\n\
         [quality_gap]\nrequester = {{ system = \"http://hl7.org/fhir/sid/us-npi\", value = \"{npi}\" }}\n\
         unrelated_requester = {{ system = \"http://hl7.org/fhir/sid/us-npi\", value = \"{unrelated}\" }}\n\
         [public_health]\n\
         requester = {{ system = \"urn:ietf:rfc:3986\", value = \"https://public-health.conformance.invalid/epi-unit\" }}\n\
         condition = [{{ system = \"http://snomed.info/sct\", code = \"840539006\" }}, \
         {{ system = \"http://hl7.org/fhir/sid/icd-10-cm\", code = \"U07.1\" }}]\n",
        id(&other_encounter),
        list(&[id(released)]),
        list(&[id(unlinked)]),
        list(&[id(current)]),
        list(&[id(not_current)]),
        list(&restricted),
    )
}

/// A record's security labels, `(system, code)`.
type Labels = [(String, String)];

/// The test patient's record at its first site, as tessera-synth wrote it: records added for
/// the data_period tests (an Observation without effective[x], PT-DP-06; a five-day inpatient
/// Encounter, PT-DP-05; two resolved Conditions whose onset and recordedDate disagree about
/// the window, PT-DP-03), then the kit.toml sections naming the Data Holder's
/// identity (its sites), a restricted client, labelled records and the designated types.
fn records_fixture(dir: &Path, manifest: &Value) -> String {
    let main = manifest["patient_records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["sites"].as_array().unwrap().len() >= 2)
        .unwrap();
    let site = &main["sites"][0];
    let pid = site["patient_id"].as_str().unwrap();
    let file = dir.join("data").join(site["file"].as_str().unwrap());
    let mut bundle: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let subject = serde_json::json!({"reference": format!("Patient/{pid}")});
    let added = [
        serde_json::json!({"resourceType": "Observation", "id": "0c0c0c0c-0000-4000-8000-00000000d906",
            "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "social-history"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "72166-2"}], "text": "Tobacco smoking status"},
            "subject": subject}),
        serde_json::json!({"resourceType": "Encounter", "id": "0c0c0c0c-0000-4000-8000-00000000d905",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": subject,
            "period": {"start": "2022-03-10T08:00:00Z", "end": "2022-03-15T18:00:00Z"}}),
        // PT-DP-03: resolved Conditions (no currently-relevant exemption) whose onset and
        // recordedDate fall on different sides of probe.data_period (2023-2024).
        serde_json::json!({"resourceType": "Condition", "id": "0c0c0c0c-0000-4000-8000-00000000d903",
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "resolved"}]},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "195662009"}], "text": "Acute viral pharyngitis"},
            "subject": subject, "onsetDateTime": "2015-05-01", "recordedDate": "2024-03-12"}),
        serde_json::json!({"resourceType": "Condition", "id": "0c0c0c0c-0000-4000-8000-00000000d904",
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "resolved"}]},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "10509002"}], "text": "Acute bronchitis"},
            "subject": subject, "onsetDateTime": "2024-02-10", "recordedDate": "2025-06-02"}),
    ];
    let entries = bundle["entry"].as_array_mut().unwrap();
    for r in added {
        entries.push(serde_json::json!({"fullUrl": format!("urn:uuid:{}", r["id"].as_str().unwrap()), "resource": r}));
    }
    // Labelled records: a sensitive category on a non-Observation, an Observation whose only
    // label is a sensitive category, an Observation whose only label is HIPAASelfPay (which
    // Tessera classifies neither sensitive nor benign).
    let sensitive = ["ETH", "HIV", "MH", "SEX", "STD"];
    let labels = |r: &Value| -> Vec<(String, String)> {
        r.pointer("/meta/security")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["system"].as_str().unwrap().to_owned(),
                    c["code"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let pick = |want: &dyn Fn(&str, &Labels) -> bool| {
        entries
            .iter()
            .map(|e| &e["resource"])
            .find(|r| want(r["resourceType"].as_str().unwrap(), &labels(r)))
            .map(|r| {
                let (system, code) = labels(r)
                    .into_iter()
                    .find(|(_, c)| c != "HIPAASelfPay")
                    .unwrap_or_else(|| labels(r)[0].clone());
                format!(
                    "{{ record = \"{}/{}\", label = {{ system = \"{system}\", code = \"{code}\" }} }}",
                    r["resourceType"].as_str().unwrap(),
                    r["id"].as_str().unwrap()
                )
            })
            .expect("the test patient has such a labelled record")
    };
    let labelled = pick(&|ty, l| {
        ty != "Observation" && l.iter().any(|(_, c)| sensitive.contains(&c.as_str()))
    });
    let authorized =
        pick(&|ty, l| ty == "Observation" && l.len() == 1 && sensitive.contains(&l[0].1.as_str()));
    let unclassified =
        pick(&|ty, l| ty == "Observation" && l.len() == 1 && l[0].1 == "HIPAASelfPay");
    // PT-DP-03/04's second window: the year of the earliest Condition recordedDate (chronic
    // problems recorded then have their onset years before).
    let year = entries
        .iter()
        .filter_map(|e| e["resource"]["recordedDate"].as_str())
        .filter_map(|d| d.get(..4))
        .min()
        .unwrap()
        .to_owned();
    std::fs::write(&file, bundle.to_string()).unwrap();
    // The Data Holder is its sites: the first one's NPI its own, the second's served; the
    // sites' states plus one more jurisdiction (registered by the snippet's [holder]).
    let sites = manifest["sites"].as_array().unwrap();
    let npi = |s: &Value| {
        format!(
            "[{{ system = \"http://hl7.org/fhir/sid/us-npi\", value = {} }}]",
            s["npi"]
        )
    };
    let mut states: Vec<&str> = sites.iter().map(|s| s["state"].as_str().unwrap()).collect();
    states.dedup();
    if states.len() < 2 {
        states.push(if states[0] == "OK" { "NM" } else { "OK" });
    }
    let jurisdictions: Vec<String> = states
        .iter()
        .map(|s| format!("{{ country = \"US\", state = \"{s}\" }}"))
        .collect();
    format!(
        "[data_holder]\norganization = {}\nserved_organizations = {}\njurisdictions = [{}]\n\
         [restricted_client]\nclient_id = \"tessera-conformance-kit-restricted\"\n\
         scopes = [\"patient/Patient.rs\", \"patient/Condition.rs\"]\n\
         [sensitivity]\nimplemented = true\nlabelled = {labelled}\nauthorized = {authorized}\n\
         unclassified = {unclassified}\n\
         [probe]\ndesignated_types = [\"Condition\", \"MedicationRequest\", \"ServiceRequest\", \
         \"Observation\", \"DiagnosticReport\", \"Encounter\", \"Procedure\", \"Immunization\", \
         \"AllergyIntolerance\", \"DocumentReference\"]\n\
         designated_window = {{ start = \"{year}-01-01\", end = \"{year}-12-31\" }}\n",
        npi(&sites[0]),
        npi(&sites[1]),
        jurisdictions.join(", "),
    )
}

pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `tessera serve` listening on `listen`, known as `base`.
fn start_holder(dir: &Path, kit: &KitConfig, listen: u16, base: &str) -> Server {
    let toml = format!(
        "listen = \"127.0.0.1:{listen}\"\nbase_url = \"{base}\"\nstore = \"sqlite://{}\"\nload = [\"{}\"]\n{}",
        dir.join("holder.db").display(),
        dir.join("data/bundles").display(),
        tessera_snippet(kit, dir),
    );
    // Payer claims is advertised (the kit's self-issued identity is trusted for it) but not
    // trusted for the kit's issuer: PT-VAL-10 and its PT-VAL-15 pair need such a type. The
    // release policy keeps notes from payers ([payer_claims] withheld_types, PT-CL-05).
    let toml = format!(
        "{toml}\n[policy.release_types]\n\
         \"https://smarthealthit.org/permission-ticket-type/payer-claims-adjudication-v1\" = [\
         \"AllergyIntolerance\", \"Condition\", \"DiagnosticReport\", \"Encounter\", \"Immunization\", \
         \"Location\", \"MedicationRequest\", \"Observation\", \"Organization\", \"Patient\", \
         \"Practitioner\", \"Procedure\", \"ServiceRequest\"]\n"
    );
    std::fs::write(dir.join("holder.toml"), toml).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--config", path_str(&dir.join("holder.toml"))])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Server(child)
}

async fn wait_ready(base: &str) {
    let http = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(r) = http
            .get(format!("{base}/.well-known/smart-configuration"))
            .send()
            .await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("tessera serve did not come up at {base}");
}

/// Starts a proxy on a port in front of an upstream FHIR base, in the given runtime.
pub type StartProxy = dyn Fn(&tokio::runtime::Runtime, u16, String);

/// A running `tessera serve` with the kit registered, and the kit's configuration.
pub struct Fixture {
    _dir: tempfile::TempDir,
    _server: Server,
    /// The Data Holder's FHIR base (its `base_url`).
    pub base: String,
    kit_listener: std::sync::Mutex<Option<StdListener>>,
    kit_dir: std::path::PathBuf,
    /// The runtime the kit runs on.
    pub runtime: tokio::runtime::Runtime,
}

impl Fixture {
    /// Generates data and keys, starts the Data Holder, waits until it answers. With
    /// `behind`, the Data Holder's `base_url` names a port where `behind(port, upstream)`
    /// starts a proxy (in the fixture's runtime) and `tessera serve` listens elsewhere.
    pub fn start(behind: Option<&StartProxy>) -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_owned();
        ok(&tessera(
            &[
                "synth",
                "--out",
                path_str(&dir.join("data")),
                "--patients",
                "8",
                "--sites",
                "2",
            ],
            None,
        ));
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(dir.join("data/manifest.json")).unwrap())
                .unwrap();
        let (patient, ambiguous, other) = cast(&manifest);
        let b2b = b2b(&dir, &manifest);
        let records = records_fixture(&dir, &manifest);
        // Held for the fixture's life: a port released between runs can be taken by any
        // socket on the machine (CI saw AddrInUse on a later run).
        let kit_listener = StdListener::bind("127.0.0.1:0").unwrap();
        kit_listener.set_nonblocking(true).unwrap();
        let kit_addr = kit_listener.local_addr().unwrap();
        let mut keys = KitKeys::generate().unwrap();
        let udap = UdapKeys::generate(&format!("http://{kit_addr}"), wall_clock()).unwrap();
        std::fs::write(dir.join(UDAP_ANCHOR_FILE), &udap.anchor_pem).unwrap();
        std::fs::write(
            dir.join(FEDERATION_ANCHOR_FILE),
            keys.federation_anchor_jwks().to_value().to_string(),
        )
        .unwrap();
        keys.udap = Some(udap);
        keys.save(&dir.join("kit-keys.json")).unwrap();
        std::fs::write(
            dir.join("kit-client.jwks.json"),
            keys.client_jwks().to_value().to_string(),
        )
        .unwrap();
        let kit_toml = |base: &str| {
            format!(
                "fhir_base = \"{base}\"\nkeys = \"kit-keys.json\"\n\
                 target_frameworks = [\"https://network.conformance.invalid\"]\n\
                 [issuer]\nlisten = \"{kit_addr}\"\nurl = \"http://{kit_addr}\"\n\
                 ticket_types = [\"https://smarthealthit.org/permission-ticket-type/patient-self-access-v1\", \
                 \"https://smarthealthit.org/permission-ticket-type/patient-delegated-access-v1\", \
                 \"https://smarthealthit.org/permission-ticket-type/payer-quality-gap-v1\", \
                 \"https://smarthealthit.org/permission-ticket-type/public-health-investigation-v1\"]\n\
                 untrusted_ticket_type = \"https://smarthealthit.org/permission-ticket-type/payer-claims-adjudication-v1\"\n\
                 [client]\nclient_id = \"tessera-conformance-kit\"\n\
                 [identity_provider]\nacr = \"urn:kit:acr:strong\"\nunaccepted_acr = \"urn:kit:acr:weak\"\n\
                 mapped_audience = \"kit-issuer-app\"\n\
                 required_for = \"https://smarthealthit.org/permission-ticket-type/patient-delegated-access-v1\"\n\
                 [udap]\ncommunity = \"https://udap.conformance.invalid\"\n\
                 [well_known]\nframework = \"https://well-known.conformance.invalid\"\n\
                 [federation]\n\
                 [continuation]\nrefresh_tokens = true\n[proposal_001]\n\
                 {b2b}{records}[patient]\n{patient}[ambiguous_patient]\n{ambiguous}[other_patient]\n{other}"
            )
        };
        // The holder's configuration needs the kit's issuer URL; the kit's needs the holder's base.
        let placeholder = KitConfig::parse(&kit_toml("http://127.0.0.1:1/fhir")).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let public = free_port();
        let base = format!("http://127.0.0.1:{public}/fhir");
        let listen = if behind.is_some() {
            free_port()
        } else {
            public
        };
        let upstream = format!("http://127.0.0.1:{listen}/fhir");
        if let Some(start_proxy) = behind {
            start_proxy(&runtime, public, upstream.clone());
        }
        let server = start_holder(&dir, &placeholder, listen, &base);
        std::fs::write(dir.join("kit.toml"), kit_toml(&base)).unwrap();
        runtime.block_on(wait_ready(&base));
        Fixture {
            _dir: tmp,
            _server: server,
            base,
            kit_listener: std::sync::Mutex::new(Some(kit_listener)),
            kit_dir: dir,
            runtime,
        }
    }

    /// Closes the kit's issuer socket so that `tessera conformance` (which binds
    /// `issuer.listen` itself) can take the port; `run` cannot be called afterwards.
    pub fn release_kit_port(&self) {
        self.kit_listener.lock().unwrap().take();
    }

    /// The kit's configuration file.
    pub fn kit_toml(&self) -> std::path::PathBuf {
        self.kit_dir.join("kit.toml")
    }

    /// Runs the kit against `fhir_base` (the Data Holder, or something in front of it).
    pub fn run(&self, fhir_base: &str, only: &[&str]) -> tessera_conformance::Report {
        let mut config = KitConfig::load(&self.kit_dir.join("kit.toml")).unwrap();
        config.fhir_base = fhir_base.to_owned();
        let keys = KitKeys::load(&config.keys).unwrap();
        let socket = self
            .kit_listener
            .lock()
            .unwrap()
            .as_ref()
            .expect("the kit's port was released for the binary")
            .try_clone()
            .unwrap();
        self.runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(socket).unwrap();
            let opts = RunOptions {
                only: only.iter().map(|s| (*s).to_owned()).collect(),
                progress: false,
            };
            tessera_conformance::run(config, keys, Some(listener), Arc::new(wall_clock), &opts)
                .await
                .unwrap()
        })
    }
}

#[test]
fn the_kit_passes_against_tessera_serve() {
    let fx = Fixture::start(None);
    let report = fx.run(&fx.base, &[]);
    let text = terminal(&report, Style::Plain);
    assert!(report.passed(), "{text}");
    // Nothing skipped: the fixture configures every optional section.
    let skipped: Vec<String> = report
        .outcomes
        .iter()
        .filter(|o| o.status == Status::Skip)
        .map(|o| format!("{}/{}", o.id, o.case))
        .collect();
    assert_eq!(skipped, Vec::<String>::new(), "{text}");

    let page = markdown(
        &report,
        "Conformance kit report: Tessera",
        "`tessera conformance` run black-box against `tessera serve` (tessera-synth data, seed 42, \
         8 patients, 2 sites) by `crates/cli/tests/it/conformance_kit.rs`. Regenerate with \
         `cargo xtask conformance-kit`; `cargo test --workspace conformance_kit` fails when this \
         page is stale. The kit's IDs are those of the checklist; see README \"Conformance kit\".",
    );
    // The binary: --only, --json, --junit, exit status 0.
    let json = fx.kit_toml().with_file_name("report.json");
    let xml = fx.kit_toml().with_file_name("report.xml");
    fx.release_kit_port();
    let out = ok(&tessera(
        &[
            "conformance",
            "--config",
            path_str(&fx.kit_toml()),
            "--only",
            "PT-DISC,PT-REV-02",
            "--json",
            path_str(&json),
            "--junit",
            path_str(&xml),
        ],
        None,
    ));
    assert!(
        out.contains("PASS PT-DISC-01") && !out.contains('\x1b'),
        "{out}"
    );
    let parsed: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(parsed["outcomes"].as_array().unwrap().len(), 6);
    assert!(
        std::fs::read_to_string(&xml)
            .unwrap()
            .contains("classname=\"PT-REV-02\"")
    );

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(REPORT);
    if std::env::var_os("TESSERA_UPDATE_KIT_REPORT").is_some() {
        std::fs::write(&path, &page).unwrap();
    } else {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == page,
            "docs/conformance-kit.md is stale: run `cargo xtask conformance-kit`"
        );
    }
}

#[test]
fn init_writes_keys_and_a_template_and_says_what_to_register() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(&tessera(
        &["conformance", "init", "--dir", path_str(dir.path())],
        None,
    ));
    assert!(
        out.contains("Register at the Data Holder under test"),
        "{out}"
    );
    assert!(
        out.contains("[[issuer]]") && out.contains("[[client]]"),
        "{out}"
    );
    // The optional parties, commented out until kit.toml names them.
    assert!(
        out.contains("# [[identity_provider]]\n# iss = \"http://127.0.0.1:8765/idp\"")
            && out.contains("# framework_type = \"udap\"")
            && out.contains("http://127.0.0.1:8765/udap-client")
            && out.contains("# framework_type = \"well-known\"")
            && out.contains("# framework_type = \"oidf\"")
            && out.contains("# iss = \"http://127.0.0.1:8765/self-issuer\"")
            && out.contains("# self_issued = true")
            && out.contains("# acts_for = [{ system = \"http://hl7.org/fhir/sid/us-npi\""),
        "{out}"
    );
    for f in [
        "kit.toml",
        "kit-keys.json",
        "kit-issuer.jwks.json",
        "kit-client.jwks.json",
        "kit-idp.jwks.json",
        "kit-udap-anchor.pem",
        "kit-federation-anchor.jwks.json",
    ] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
    // The template parses and names the generated keys.
    let config = KitConfig::load(&dir.path().join("kit.toml")).unwrap();
    let keys = KitKeys::load(&config.keys).unwrap();
    assert!(keys.idp.is_some());
    let udap = keys.udap.expect("init makes the UDAP community");
    assert_eq!(udap.client.san, "http://127.0.0.1:8765/udap-client");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("kit-udap-anchor.pem")).unwrap(),
        udap.anchor_pem
    );
    // A second init refuses to overwrite the configuration.
    let again = tessera(
        &["conformance", "init", "--dir", path_str(dir.path())],
        None,
    );
    assert_eq!(again.status.code(), Some(1));
    let skips = ok(&tessera(&["conformance", "skips"], None));
    assert!(
        skips.contains("\"PT-AUDIT-01\" = \"not black-box:"),
        "{skips}"
    );
}
