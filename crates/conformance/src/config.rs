//! `kit.toml`: what the operator registered at the target (the kit's issuer and client), who the
//! test patient is, and what to probe. Strict: unknown keys are errors, so a typo never turns a
//! test into a silent skip.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Value, json};

/// Self-access ticket type URI.
pub const SELF_ACCESS: &str =
    "https://smarthealthit.org/permission-ticket-type/patient-self-access-v1";
/// Delegated-access ticket type URI.
pub const DELEGATED_ACCESS: &str =
    "https://smarthealthit.org/permission-ticket-type/patient-delegated-access-v1";

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KitConfig {
    /// The target's FHIR base URL, no trailing slash (`--fhir-base` overrides it).
    pub fhir_base: String,
    /// The token endpoint; absent: discovered from `.well-known/smart-configuration`.
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// The kit's private keys (written by `tessera conformance init`), relative to this file.
    pub keys: PathBuf,
    /// Per-request timeout.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Largest response body the kit reads.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Clock leeway the target is assumed to allow; expired/future tickets are made well
    /// beyond it.
    #[serde(default = "default_leeway")]
    pub leeway_seconds: i64,
    /// The operator's skip list (the built-in one when absent), relative to this file.
    #[serde(default)]
    pub skips: Option<PathBuf>,
    /// The kit as a ticket issuer.
    pub issuer: IssuerConfig,
    /// The kit as a client.
    pub client: ClientConfig,
    /// The test patient: exactly one local patient must match.
    pub patient: PatientConfig,
    /// Demographics of a second, different local patient (cross-patient reads), optional.
    #[serde(default)]
    pub other_patient: Option<PatientConfig>,
    /// Demographics that match more than one local patient (ambiguous subject), optional.
    #[serde(default)]
    pub ambiguous_patient: Option<PatientConfig>,
    /// What to search and read.
    #[serde(default)]
    pub probe: ProbeConfig,
    /// Trust frameworks the target is a member of (framework `aud`), optional.
    #[serde(default)]
    pub target_frameworks: Vec<String>,
    /// The kit as an identity provider the target trusts for evidence, optional (PT-EVID).
    #[serde(default)]
    pub identity_provider: Option<IdpConfig>,
    /// The kit as a member of its own UDAP community the target trusts, optional (PT-CA-10,
    /// PT-BIND-06).
    #[serde(default)]
    pub udap: Option<UdapConfig>,
    /// The kit as a Proposal 006 well-known client, optional (PT-CA-09, PT-BIND-07).
    #[serde(default)]
    pub well_known: Option<WellKnownConfig>,
    /// The kit as an OpenID Federation client and issuer, optional (PT-BIND-08,
    /// PT-TRUST-02/03).
    #[serde(default)]
    pub federation: Option<FederationConfig>,
    /// The target's own identity for `data_holder_filter`, optional (PT-DHF).
    #[serde(default)]
    pub data_holder: Option<DataHolderConfig>,
    /// Labelled records and the target's Proposal 005 support, optional (PT-SENS).
    #[serde(default)]
    pub sensitivity: Option<SensitivityConfig>,
    /// A second client registered with fewer scopes than the baseline ticket, optional
    /// (PT-ACC-07).
    #[serde(default)]
    pub restricted_client: Option<RestrictedClientConfig>,
}

fn default_timeout() -> u64 {
    20
}
fn default_max_body() -> usize {
    16 << 20
}
fn default_leeway() -> i64 {
    60
}

/// `[issuer]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// Address the kit binds for its JWKS and status lists (loopback or a reachable address).
    pub listen: SocketAddr,
    /// The `iss` of the kit's tickets: its JWKS is `{url}/.well-known/jwks.json`.
    pub url: String,
    /// Ticket types the target trusts this issuer for.
    pub ticket_types: Vec<String>,
    /// An advertised ticket type the target does NOT trust this issuer for (PT-VAL-10).
    #[serde(default)]
    pub untrusted_ticket_type: Option<String>,
}

/// `[identity_provider]`: the kit serves an OpenID provider at `{issuer.url}/idp` (discovery
/// and JWKS on its issuer host); the target trusts it for identity evidence only.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdpConfig {
    /// The `acr` the kit's ID tokens carry (one the target accepts), optional.
    #[serde(default)]
    pub acr: Option<String>,
    /// An `acr` the target's evidence profile for the baseline ticket type refuses (PT-EVID-12).
    #[serde(default)]
    pub unaccepted_acr: Option<String>,
    /// An OIDC client id the target maps to the kit's issuer (`audience_map`, PT-EVID-05).
    #[serde(default)]
    pub mapped_audience: Option<String>,
}

/// `[well_known]`: the framework whose entity list names `{issuer.url}/well-known-client`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WellKnownConfig {
    /// The framework id at the target (`trust_framework` of bindings).
    pub framework: String,
}

/// `[federation]`: the target trusts the kit's anchor `{issuer.url}/federation/anchor` and its
/// issuer entity `{issuer.url}/federation/issuer`. Nothing to set: the entities live under the
/// issuer URL.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederationConfig {}

/// `[udap]`: the community the target trusts the kit's anchor under.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UdapConfig {
    /// The community's trust framework id at the target (`trust_framework` of bindings).
    pub community: String,
    /// The registration endpoint; absent: `registration_endpoint` of SMART discovery.
    #[serde(default)]
    pub registration_endpoint: Option<String>,
    /// The scope the kit registers (a ceiling on its grants).
    #[serde(default = "default_udap_scope")]
    pub scope: String,
}

fn default_udap_scope() -> String {
    "patient/*.rs".into()
}

/// `[data_holder]`: who the target is, as its `data_holder_filter` judgement sees it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataHolderConfig {
    /// The target's own organization identifiers (PT-DHF-04, PT-DHF-07).
    #[serde(default)]
    pub organization: Vec<IdentifierConfig>,
    /// Identifiers of organizations the target is authorized to answer for (PT-DHF-05).
    #[serde(default)]
    pub served_organizations: Vec<IdentifierConfig>,
    /// Every jurisdiction the target is in (PT-DHF-01/03/06).
    #[serde(default)]
    pub jurisdictions: Vec<JurisdictionConfig>,
    /// The target accepts the older single-`Organization` entry shape (a compatibility mode,
    /// PT-DHF-10); default false.
    #[serde(default)]
    pub legacy_organization_shape: bool,
}

/// A `data_holder_filter` jurisdiction: `country` and optional `state`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JurisdictionConfig {
    /// ISO-3166 alpha-2.
    pub country: String,
    /// State code (USPS in the US), optional.
    #[serde(default)]
    pub state: Option<String>,
}

impl JurisdictionConfig {
    /// The filter entry's `address`.
    pub fn to_json(&self) -> Value {
        let mut a = json!({"country": self.country});
        if let Some(s) = &self.state {
            a["state"] = s.clone().into();
        }
        a
    }
}

/// `[sensitivity]`: Proposal 005 support and labelled records of the test patient.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensitivityConfig {
    /// The target implements Proposal 005 (`sensitivity_withhold`,
    /// `sensitivity_release_authorized`).
    pub implemented: bool,
    /// A record the target classifies as sensitive, with its category (PT-SENS-03/04).
    #[serde(default)]
    pub labelled: Option<LabelledRecord>,
    /// A record whose only sensitivity category is its `label`, which the target releases
    /// under `unlisted: true` when `sensitivity_release_authorized` names it (PT-SENS-04/07).
    #[serde(default)]
    pub authorized: Option<LabelledRecord>,
    /// A record whose only label the target does not classify (PT-SENS-05).
    #[serde(default)]
    pub unclassified: Option<LabelledRecord>,
}

/// A record of the test patient and a security label it carries.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelledRecord {
    /// `Type/id` at the target.
    pub record: String,
    /// The label (a Coding's system and code).
    pub label: LabelCoding,
}

/// A Coding's `system` and `code`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelCoding {
    /// Code system.
    pub system: String,
    /// Code.
    pub code: String,
}

impl LabelCoding {
    /// The FHIR Coding.
    pub fn to_json(&self) -> Value {
        json!({"system": self.system, "code": self.code})
    }
}

impl LabelledRecord {
    /// `(type, id)` of `record`.
    pub fn split(&self) -> Option<(&str, &str)> {
        self.record
            .split_once('/')
            .filter(|(t, i)| !t.is_empty() && !i.is_empty() && !i.contains('/'))
    }
}

/// `[restricted_client]`: a second client id registered at the target with scopes narrower
/// than the baseline ticket's; it authenticates with the kit's client key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestrictedClientConfig {
    /// Its client id.
    pub client_id: String,
    /// The scopes it is registered with (at most these are ever granted to it).
    pub scopes: Vec<String>,
}

/// Path of the identity provider under the issuer URL.
pub const IDP_PATH: &str = "/idp";

impl KitConfig {
    /// The kit's identity provider `iss`.
    pub fn idp_iss(&self) -> String {
        format!("{}{IDP_PATH}", self.issuer.url)
    }
}

/// `[client]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// The client id registered at the target (`private_key_jwt` with the kit's client key).
    pub client_id: String,
}

/// A patient's demographics as the ticket's `subject.patient` carries them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientConfig {
    /// Family name.
    pub family: String,
    /// Given names.
    pub given: Vec<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// Administrative gender, optional.
    #[serde(default)]
    pub gender: Option<String>,
    /// Identifiers (e.g. an MRN).
    #[serde(default)]
    pub identifier: Vec<IdentifierConfig>,
}

/// `{ system, value }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifierConfig {
    /// Identifier system.
    pub system: String,
    /// Identifier value.
    pub value: String,
}

impl PatientConfig {
    /// The FHIR Patient of `subject.patient`.
    pub fn to_fhir(&self) -> Value {
        let mut p = json!({
            "resourceType": "Patient",
            "name": [{"family": self.family, "given": self.given}],
            "birthDate": self.birth_date,
        });
        if let Some(g) = &self.gender {
            p["gender"] = g.clone().into();
        }
        if !self.identifier.is_empty() {
            p["identifier"] = self
                .identifier
                .iter()
                .map(|i| json!({"system": i.system, "value": i.value}))
                .collect();
        }
        p
    }
}

/// `[probe]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeConfig {
    /// The ticket's scopes for the broad baseline grant.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// A narrowed scope (`patient/Type.rs?param=value`) whose matches are a strict, non-empty
    /// subset of the patient's records of that type.
    #[serde(default = "default_narrow")]
    pub narrow_scope: String,
    /// Types checked under `data_period` (searched and read).
    #[serde(default = "default_dp_types")]
    pub data_period_types: Vec<String>,
    /// The `data_period` window; it should split the patient's records of those types.
    #[serde(default = "default_period")]
    pub data_period: Period,
    /// A type the baseline ticket does not grant (empty intersection, PT-ACC-04).
    #[serde(default = "default_ungranted")]
    pub ungranted_type: String,
    /// Designated date search parameter per type, overriding the specification's table.
    #[serde(default)]
    pub date_params: std::collections::BTreeMap<String, String>,
    /// Page size for paging checks.
    #[serde(default = "default_page")]
    pub page_size: u32,
    /// Types whose `data_period` filtering the kit judges from the records' own designated
    /// elements (PT-DP-03..06); absent: the dated types of `scopes`.
    #[serde(default)]
    pub designated_types: Option<Vec<String>>,
    /// A second window for PT-DP-03/04, besides `data_period` (e.g. one where a Condition's
    /// onset and its recordedDate fall on different sides), optional.
    #[serde(default)]
    pub designated_window: Option<Period>,
}

impl Default for ProbeConfig {
    fn default() -> ProbeConfig {
        ProbeConfig {
            scopes: default_scopes(),
            narrow_scope: default_narrow(),
            data_period_types: default_dp_types(),
            data_period: default_period(),
            ungranted_type: default_ungranted(),
            date_params: Default::default(),
            page_size: default_page(),
            designated_types: None,
            designated_window: None,
        }
    }
}

fn default_scopes() -> Vec<String> {
    [
        "patient/Patient.rs",
        "patient/Observation.rs",
        "patient/Encounter.rs",
        "patient/Condition.rs",
    ]
    .map(String::from)
    .to_vec()
}
fn default_narrow() -> String {
    "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory".into()
}
fn default_dp_types() -> Vec<String> {
    vec!["Observation".into(), "Encounter".into()]
}
fn default_period() -> Period {
    Period {
        start: Some("2023-01-01".into()),
        end: Some("2024-12-31".into()),
    }
}
fn default_ungranted() -> String {
    "Procedure".into()
}
fn default_page() -> u32 {
    3
}

/// A `data_period`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// Inclusive start date.
    #[serde(default)]
    pub start: Option<String>,
    /// Inclusive end date.
    #[serde(default)]
    pub end: Option<String>,
}

impl Period {
    /// The ticket's `access.data_period`.
    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        if let Some(s) = &self.start {
            m.insert("start".into(), s.clone().into());
        }
        if let Some(e) = &self.end {
            m.insert("end".into(), e.clone().into());
        }
        Value::Object(m)
    }
}

/// The designated `data_period` search parameter of a type (data-period page; PT-DP-03/04).
pub fn designated_date_param(probe: &ProbeConfig, resource_type: &str) -> String {
    if let Some(p) = probe.date_params.get(resource_type) {
        return p.clone();
    }
    match resource_type {
        "Condition" => "recorded-date",
        "Goal" => "target-date",
        "MedicationDispense" => "whenhandedover",
        "MedicationRequest" => "authoredon",
        "Provenance" => "recorded",
        "QuestionnaireResponse" => "authored",
        "ServiceRequest" => "authored",
        _ => "date",
    }
    .into()
}

/// A configuration problem.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The TOML is invalid.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The TOML error, with its excerpt.
        message: String,
    },
    /// A value is unusable.
    #[error("{0}")]
    Invalid(String),
}

impl KitConfig {
    /// Reads and checks `kit.toml`; relative paths resolve against its directory.
    pub fn load(path: &Path) -> Result<KitConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut c = KitConfig::parse(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.to_owned(),
                message,
            },
            other => other,
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        c.keys = dir.join(&c.keys);
        c.skips = c.skips.map(|s| dir.join(s));
        Ok(c)
    }

    /// Parses and checks the TOML text (paths stay as written).
    pub fn parse(text: &str) -> Result<KitConfig, ConfigError> {
        let c: KitConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::from("kit.toml"),
            message: e.to_string(),
        })?;
        c.check()?;
        Ok(c)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        for (what, u) in [
            ("fhir_base", &self.fhir_base),
            ("issuer.url", &self.issuer.url),
        ] {
            if url::Url::parse(u).is_err() || u.ends_with('/') {
                return bad(format!(
                    "{what} must be an absolute URL without a trailing slash"
                ));
            }
        }
        if self.issuer.ticket_types.is_empty() {
            return bad("issuer.ticket_types must name at least one ticket type".into());
        }
        if !self
            .issuer
            .ticket_types
            .iter()
            .any(|t| t == SELF_ACCESS || t == DELEGATED_ACCESS)
        {
            return bad(format!(
                "issuer.ticket_types must include {SELF_ACCESS} or {DELEGATED_ACCESS}: the kit's \
                 baseline ticket is an individual-access ticket"
            ));
        }
        if !self.probe.narrow_scope.contains('?') {
            return bad("probe.narrow_scope must carry a narrowing (`?param=value`)".into());
        }
        if let Some(s) = &self.sensitivity {
            for r in [&s.labelled, &s.authorized, &s.unclassified]
                .into_iter()
                .flatten()
            {
                if r.split().is_none() {
                    return bad(format!(
                        "sensitivity: record {:?} must be `Type/id`",
                        r.record
                    ));
                }
            }
        }
        if let Some(r) = &self.restricted_client
            && r.scopes.is_empty()
        {
            return bad("restricted_client.scopes must name at least one scope".into());
        }
        if self.probe.page_size == 0 || self.timeout_seconds == 0 {
            return bad("probe.page_size and timeout_seconds must be positive".into());
        }
        Ok(())
    }

    /// The ticket type of the kit's baseline ticket (self access when trusted).
    pub fn baseline_type(&self) -> &str {
        if self.issuer.ticket_types.iter().any(|t| t == SELF_ACCESS) {
            SELF_ACCESS
        } else {
            DELEGATED_ACCESS
        }
    }
}
