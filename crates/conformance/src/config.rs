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
/// Payer claims adjudication ticket type URI.
pub const PAYER_CLAIMS: &str =
    "https://smarthealthit.org/permission-ticket-type/payer-claims-adjudication-v1";
/// Payer quality gap ticket type URI.
pub const QUALITY_GAP: &str =
    "https://smarthealthit.org/permission-ticket-type/payer-quality-gap-v1";
/// Public health investigation ticket type URI.
pub const PUBLIC_HEALTH: &str =
    "https://smarthealthit.org/permission-ticket-type/public-health-investigation-v1";

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
    /// Whether the target acts on `continuation` (refresh tokens), optional (PT-LIFE-03..07,
    /// PT-REV-09).
    #[serde(default)]
    pub continuation: Option<ContinuationConfig>,
    /// The target implements Proposal 001 (`interaction_required` with a `launch` value when
    /// the subject of an otherwise acceptable consumer ticket cannot be resolved), optional
    /// (PT-SUBJ-09/10; it also changes the answer PT-SUBJ-02/03 require).
    #[serde(default)]
    pub proposal_001: Option<Proposal001Config>,
    /// The kit as one of the target's own (self-issued) issuing identities, minting payer
    /// claims tickets for a payer its client acts for, optional (PT-TYPE-08..11, PT-CL,
    /// PT-BIND-10, PT-SUBJ-06).
    #[serde(default)]
    pub payer_claims: Option<PayerClaimsConfig>,
    /// Quality-gap tickets by the kit's issuer, optional (PT-TYPE-12..15).
    #[serde(default)]
    pub quality_gap: Option<QualityGapConfig>,
    /// Public-health tickets by the kit's issuer, optional (PT-TYPE-18).
    #[serde(default)]
    pub public_health: Option<PublicHealthConfig>,
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
    /// A ticket type (of `issuer.ticket_types`, not the baseline's) whose tickets the target
    /// requires subject identity evidence for (PT-EVID-13); the kit's valid tickets of that
    /// type then carry the test patient's evidence.
    #[serde(default)]
    pub required_for: Option<String>,
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

/// `[continuation]`: what the target does with a ticket's `continuation` claim.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContinuationConfig {
    /// The target issues refresh tokens for `continuation` tickets (and answers
    /// `grant_type=refresh_token`); `false`: it ignores `continuation`, so no credential may
    /// outlive the ticket.
    pub refresh_tokens: bool,
}

/// `[proposal_001]`: nothing to set; present when the target answers unresolvable subjects of
/// consumer tickets with `interaction_required` and a `launch` value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal001Config {}

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
/// Path of the kit's self-issued identity (one of the target's own issuers) under the issuer
/// URL; its JWKS is `{path}/.well-known/jwks.json`.
pub const SELF_ISSUER_PATH: &str = "/self-issuer";

impl KitConfig {
    /// The kit's identity provider `iss`.
    pub fn idp_iss(&self) -> String {
        format!("{}{IDP_PATH}", self.issuer.url)
    }

    /// The `iss` of the kit's self-issued identity (`[payer_claims]`).
    pub fn self_issuer_iss(&self) -> String {
        format!("{}{SELF_ISSUER_PATH}", self.issuer.url)
    }
}

/// `[payer_claims]`: the target registers `{issuer.url}/self-issuer` as one of its own issuing
/// identities (self-issued, trusted for payer claims adjudication) and the kit's client as
/// acting for `payer`. Records are `Type/id` at the target, all of the test patient's unless
/// said otherwise.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayerClaimsConfig {
    /// The payer Organization identifier the kit's client acts for (the tickets' requester).
    pub payer: IdentifierConfig,
    /// The test patient's Encounters the claim covers (`claim_linkage.encounter`).
    pub encounters: Vec<String>,
    /// An Encounter of another patient (PT-CL-02), optional.
    #[serde(default)]
    pub other_patient_encounter: Option<String>,
    /// Records associated with `encounters` that the target releases to the payer (PT-CL-03).
    #[serde(default)]
    pub released: Vec<String>,
    /// Records outside the linkage: another encounter's, not current (PT-CL-03).
    #[serde(default)]
    pub unlinked: Vec<String>,
    /// Current problems, medications or allergies without a link to `encounters`, which the
    /// target releases (PT-CL-04).
    #[serde(default)]
    pub current: Vec<String>,
    /// Resolved (not current) problems without a link to `encounters` (PT-CL-04).
    #[serde(default)]
    pub not_current: Vec<String>,
    /// An Encounter whose records are restricted from the payer (HIPAA self-pay), linked
    /// with `encounters` in the PT-CL-06 ticket, optional.
    #[serde(default)]
    pub restricted_encounter: Option<String>,
    /// Records restricted from the payer (e.g. labelled `HIPAASelfPay`) inside the linkage
    /// otherwise (PT-CL-06).
    #[serde(default)]
    pub restricted: Vec<String>,
    /// Resource types the target's release policy does not release to payers although they
    /// hold records linked to `encounters` (PT-CL-05).
    #[serde(default)]
    pub withheld_types: Vec<String>,
}

/// `[quality_gap]`: the target trusts the kit's issuer for quality-gap tickets
/// (`issuer.ticket_types`) and holds a coverage or contract relationship between `requester`
/// and the test patient.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualityGapConfig {
    /// The requesting payer's Organization identifier, related to the test patient.
    pub requester: IdentifierConfig,
    /// An Organization identifier with no coverage or contract relationship to the test
    /// patient (PT-TYPE-15), optional.
    #[serde(default)]
    pub unrelated_requester: Option<IdentifierConfig>,
    /// The `measure` codings.
    #[serde(default = "default_measure")]
    pub measure: Vec<CodingConfig>,
    /// The ticket's scopes, each narrowed by `?code=` or `?category=`.
    #[serde(default = "default_qg_scopes")]
    pub scopes: Vec<String>,
    /// The measurement period; absent: `probe.data_period`.
    #[serde(default)]
    pub data_period: Option<Period>,
}

/// `[public_health]`: the target trusts the kit's issuer for public-health tickets
/// (`issuer.ticket_types`) and has a disclosure policy for `condition`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicHealthConfig {
    /// The public-health agency's Organization identifier.
    pub requester: IdentifierConfig,
    /// The `reportable_condition` codings (a condition the target has a policy for); the
    /// released Conditions must carry one of them.
    pub condition: Vec<CodingConfig>,
    /// The ticket's scopes (a Condition scope makes the narrowing check possible).
    #[serde(default = "default_ph_scopes")]
    pub scopes: Vec<String>,
}

/// `{ system, code }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodingConfig {
    /// Code system.
    pub system: String,
    /// Code.
    pub code: String,
}

fn default_measure() -> Vec<CodingConfig> {
    vec![CodingConfig {
        system: "https://www.cms.gov/medicare/quality/measures".into(),
        code: "CMS122v12".into(),
    }]
}
fn default_qg_scopes() -> Vec<String> {
    vec!["patient/Observation.rs?code=http://loinc.org|4548-4".into()]
}
fn default_ph_scopes() -> Vec<String> {
    vec!["patient/Patient.rs".into(), "patient/Condition.rs".into()]
}

/// The `coding` array of a CodeableConcept.
pub fn codings(c: &[CodingConfig]) -> Value {
    c.iter()
        .map(|c| json!({"system": c.system, "code": c.code}))
        .collect()
}

/// `Type/id` with both parts non-empty and no further `/`.
pub fn split_record(r: &str) -> Option<(&str, &str)> {
    let (t, id) = r.split_once('/')?;
    (!t.is_empty() && !id.is_empty() && !id.contains('/')).then_some((t, id))
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
        if let Some(t) = self
            .identity_provider
            .as_ref()
            .and_then(|i| i.required_for.as_deref())
            && (t == self.baseline_type() || !self.issuer.ticket_types.iter().any(|x| x == t))
        {
            return bad(format!(
                "identity_provider.required_for must be one of issuer.ticket_types other than the \
                 baseline type {}: every other test redeems baseline tickets without evidence",
                self.baseline_type()
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
        if let Some(p) = &self.payer_claims {
            if p.encounters.is_empty() {
                return bad("payer_claims.encounters must name at least one Encounter".into());
            }
            let encounters = p
                .encounters
                .iter()
                .chain(&p.other_patient_encounter)
                .chain(&p.restricted_encounter);
            for e in encounters {
                if split_record(e).is_none_or(|(t, _)| t != "Encounter") {
                    return bad(format!("payer_claims: {e:?} is not `Encounter/id`"));
                }
            }
            for r in p
                .released
                .iter()
                .chain(&p.unlinked)
                .chain(&p.current)
                .chain(&p.not_current)
                .chain(&p.restricted)
            {
                if split_record(r).is_none() {
                    return bad(format!("payer_claims: {r:?} is not `Type/id`"));
                }
            }
        }
        if let Some(q) = &self.quality_gap
            && (q.measure.is_empty() || q.scopes.is_empty())
        {
            return bad("quality_gap.measure and quality_gap.scopes must not be empty".into());
        }
        if let Some(p) = &self.public_health
            && (p.condition.is_empty() || p.scopes.is_empty())
        {
            return bad(
                "public_health.condition and public_health.scopes must not be empty".into(),
            );
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
