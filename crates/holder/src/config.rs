//! Data Holder configuration: the TOML file shape (`FileConfig`) and the validated internal
//! [`Config`] the server runs on.
//!
//! The file layer is strict (`deny_unknown_fields`) so a typo fails at start-up instead of
//! silently weakening policy. Validation resolves relative paths against the config file's
//! directory, loads inline or file JWK Sets, and names the offending key in every error.
//! Test-only switches (fixed clock, loopback HTTP) live only in [`Config`], never in the file.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use url::Url;

mod continuation;
mod evidence;
mod linkage;
mod ops;
mod policy;
mod subject_resolution;
mod trust_framework;

pub use policy::{
    ContractPanel, FileDisclosure, FileMeasure, FilePanel, FilePolicy, FileSensitivity,
    LabelConfig, PolicyConfig,
};
pub use tessera_serve::operator::Secret;

pub use evidence::{
    EvidenceProfileConfig, FileEvidenceProfile, IdentityProviderConfig, IdpKeysConfig,
};
use evidence::{validate_evidence_profiles, validate_idps};
use subject_resolution::validate_subject_resolution;
pub use subject_resolution::{FileSubjectResolution, SubjectResolutionConfig};

use continuation::validate_continuation;
pub use continuation::{ContinuationConfig, FileContinuation};
use linkage::validate_linkage;
pub use linkage::{FileLinkage, LinkageConfig};
pub use ops::{FileMetrics, FileWorkbench, MetricsConfig, WorkbenchConfig};
pub use trust_framework::{
    FileRegistration, FileTrustFramework, OidfFrameworkConfig, RegistrationConfig,
    TrustFrameworkConfig, TrustFrameworkKind, UdapFrameworkConfig, WellKnownFrameworkConfig,
};
use trust_framework::{validate_registration, validate_trust_frameworks};

/// The commented example printed by `tessera serve --print-example-config`.
pub const EXAMPLE_CONFIG: &str = include_str!("example-config.toml");

/// Upper bound on a configured access-token lifetime (OP-09).
pub const MAX_ACCESS_TOKEN_TTL: i64 = 3600;

/// A configuration problem, naming the key and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// TOML syntax or an unknown/mistyped key.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The TOML parser's message (names the key and line).
        message: String,
    },
    /// A key has a value we cannot accept.
    #[error("config key `{key}`: {problem}")]
    Invalid {
        /// Dotted key path, e.g. `issuer[0].jwks_file`.
        key: String,
        /// What is wrong.
        problem: String,
    },
}

fn invalid(key: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        problem: problem.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// File layer
// ---------------------------------------------------------------------------------------------

/// The TOML file as written by operators.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Socket address to bind.
    pub listen: String,
    /// Public FHIR base URL (no trailing slash).
    pub base_url: String,
    /// Further own base URLs that ticket `aud` may name (exact match, OP-03).
    #[serde(default)]
    pub additional_base_urls: Vec<String>,
    /// `sqlite:///abs/path.db`, `sqlite://relative.db`, `sqlite::memory:` or
    /// `postgres://user@host/db` (nodes sharing one PostgreSQL database share all state).
    pub store: String,
    /// Files or directories of FHIR Bundles ingested at start-up.
    #[serde(default)]
    pub load: Vec<String>,
    /// Trust frameworks whose membership can only be configured (framework `aud`, OP-03);
    /// UDAP communities are proven by our certificate instead and may not be listed.
    #[serde(default)]
    pub trust_frameworks: Vec<String>,
    /// Clock leeway in seconds for `exp`/`iat`/assertion/evidence timing (OP-06).
    #[serde(default)]
    pub leeway_seconds: Option<i64>,
    /// Access-token lifetime in seconds (default 300, at most 3600; OP-09).
    #[serde(default)]
    pub access_token_ttl_seconds: Option<i64>,
    /// Bearer secret for the admin audit endpoint; absent disables the endpoint.
    #[serde(default)]
    pub admin_token: Option<Secret>,
    /// Allow `http://` URLs that point at loopback addresses (local demos only).
    #[serde(default)]
    pub insecure_allow_loopback_http: bool,
    /// Accept legacy `access.permissions` shapes (OP-02); off by default.
    #[serde(default)]
    pub legacy_access_shapes: bool,
    /// This Data Holder's own identity.
    #[serde(default)]
    pub holder: FileHolder,
    /// Outbound HTTP limits (JWKS, status lists).
    #[serde(default)]
    pub http: FileHttp,
    /// Trusted ticket issuers.
    #[serde(default)]
    pub issuer: Vec<FileIssuer>,
    /// Registered clients.
    #[serde(default)]
    pub client: Vec<FileClient>,
    /// Identity providers trusted for embedded identity evidence.
    #[serde(default)]
    pub identity_provider: Vec<FileIdentityProvider>,
    /// Identity-evidence parameters per ticket type.
    #[serde(default)]
    pub evidence_profile: Vec<FileEvidenceProfile>,
    /// Subject-resolution options (Proposal 001 fallback).
    #[serde(default)]
    pub subject_resolution: FileSubjectResolution,
    /// Trust frameworks (UDAP communities, OpenID Federations, well-known client lists).
    #[serde(default)]
    pub trust_framework: Vec<FileTrustFramework>,
    /// Dynamic client registration.
    #[serde(default)]
    pub registration: FileRegistration,
    /// Local release policy (defaults: the reference policy).
    #[serde(default)]
    pub policy: FilePolicy,
    /// Refresh tokens for `continuation` tickets.
    #[serde(default)]
    pub continuation: FileContinuation,
    /// Person linkage across sites (issue 14).
    #[serde(default)]
    pub linkage: FileLinkage,
    /// The Prometheus endpoint (off by default).
    #[serde(default)]
    pub metrics: FileMetrics,
    /// The operator's workbench (off by default).
    #[serde(default)]
    pub workbench: FileWorkbench,
    /// Inbound TLS (certificate and key PEM files); absent: plain HTTP.
    #[serde(default)]
    pub tls: Option<tessera_serve::FileTls>,
}

/// `[holder]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileHolder {
    /// Identifiers of this Data Holder and the organizations it answers for.
    #[serde(default)]
    pub organization: Vec<IdentifierConfig>,
    /// Jurisdiction (one address).
    #[serde(default)]
    pub address: Option<AddressConfig>,
    /// Further jurisdictions (multi-jurisdiction Data Holders).
    #[serde(default)]
    pub additional_addresses: Vec<AddressConfig>,
}

/// `system` + `value`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifierConfig {
    /// Namespace URI.
    pub system: String,
    /// Value.
    pub value: String,
}

/// `country` + optional `state`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressConfig {
    /// ISO-3166 alpha-2.
    pub country: String,
    /// USPS state code.
    #[serde(default)]
    pub state: Option<String>,
}

/// `[http]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileHttp {
    /// Per-request timeout in milliseconds (default 5000).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Largest accepted response body in bytes (default 1 MiB).
    #[serde(default)]
    pub max_response_bytes: Option<usize>,
    /// Upper bound on any cache lifetime in seconds (default 3600).
    #[serde(default)]
    pub max_cache_seconds: Option<i64>,
}

/// Where a JWK Set comes from: exactly one of the three.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileKeys {
    /// Path to a JWK Set (or single JWK) file.
    #[serde(default)]
    pub jwks_file: Option<String>,
    /// URL of a JWK Set, fetched and cached.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Inline JWK Set.
    #[serde(default)]
    pub jwks: Option<toml::Value>,
}

/// `[[issuer]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileIssuer {
    /// The issuer identifier (`iss`).
    pub iss: String,
    /// Key material.
    #[serde(flatten)]
    pub keys: FileKeys,
    /// Ticket types this issuer is trusted for.
    pub ticket_types: Vec<String>,
    /// This issuer is the Data Holder itself (self-issued tickets, OP-21).
    #[serde(default)]
    pub self_issued: bool,
    /// Keys come through this `[[trust_framework]]` (its `id`) instead of `jwks_*`.
    #[serde(default)]
    pub trust_framework: Option<String>,
    /// oidf: trust marks this issuer must carry for these ticket types.
    #[serde(default)]
    pub required_trust_marks: Vec<String>,
}

/// `[[client]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileClient {
    /// The client id (`iss` = `sub` of its assertions).
    pub client_id: String,
    /// Key material.
    #[serde(flatten)]
    pub keys: FileKeys,
    /// Scopes this client is eligible for (absent = no client-level limit).
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Organizations this client may act for (unbound B2B tickets, OP-33).
    #[serde(default)]
    pub acts_for: Vec<IdentifierConfig>,
    /// Trust-framework identity asserted by configuration (accepted only with
    /// `asserted = true`; verified identities come from UDAP or OpenID Federation instead).
    #[serde(default)]
    pub framework_identity: Option<FileFrameworkIdentity>,
    /// May call the introspection endpoint.
    #[serde(default)]
    pub introspection: bool,
    /// A disabled client fails authentication.
    #[serde(default)]
    pub disabled: bool,
}

/// `[[client]] framework_identity`: an identity this configuration asserts. `asserted = true`
/// is required so that taking an identity on a config line's word is a visible choice.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileFrameworkIdentity {
    /// Trust framework id.
    pub trust_framework: String,
    /// `udap`, `well-known` or `oidf`.
    pub framework_type: String,
    /// Entity URI.
    pub entity_uri: String,
    /// Must be `true`: the operator acknowledges the identity is not verified.
    #[serde(default)]
    pub asserted: bool,
}

/// A client's framework identity (`trust_framework_client` binding).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameworkIdentityConfig {
    /// Trust framework id.
    pub trust_framework: String,
    /// `udap`, `well-known` or `oidf`.
    pub framework_type: String,
    /// Entity URI.
    pub entity_uri: String,
}

/// `[[identity_provider]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileIdentityProvider {
    /// The OIDC issuer.
    pub iss: String,
    /// Key material.
    #[serde(flatten)]
    pub keys: FileKeys,
    /// OIDC client ids → ticket issuer or client id they stand for.
    #[serde(default)]
    pub audience_map: BTreeMap<String, String>,
    /// Accepted `acr` values (empty = any).
    #[serde(default)]
    pub acr_values: Vec<String>,
    /// Keys through OpenID Connect discovery from `iss` instead of `jwks_*`.
    #[serde(default)]
    pub oidc_discovery: bool,
}

// ---------------------------------------------------------------------------------------------
// Validated layer
// ---------------------------------------------------------------------------------------------

/// Validated configuration. Constructed by [`Config::load`] or [`Config::from_file_config`];
/// tests build it the same way and then flip the test-only fields.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind.
    pub listen: SocketAddr,
    /// Public FHIR base (no trailing slash).
    pub base_url: String,
    /// Every own base URL (first = `base_url`).
    pub base_urls: Vec<String>,
    /// Storage location.
    pub store: StoreLocation,
    /// Bundles to ingest at start-up.
    pub load: Vec<PathBuf>,
    /// Trust frameworks we are a member of.
    pub trust_frameworks: Vec<String>,
    /// Clock leeway, seconds.
    pub leeway: i64,
    /// Access-token lifetime, seconds.
    pub access_token_ttl: i64,
    /// Admin bearer secret.
    pub admin_token: Option<Secret>,
    /// `http://` to loopback hosts allowed for outbound fetches.
    pub allow_loopback_http: bool,
    /// Accept legacy access shapes.
    pub legacy_access_shapes: bool,
    /// Own identifiers (data_holder_filter, OP-25).
    pub holder_identifiers: Vec<IdentifierConfig>,
    /// Own jurisdictions.
    pub holder_addresses: Vec<AddressConfig>,
    /// Outbound HTTP limits.
    pub http: HttpLimits,
    /// Trusted issuers.
    pub issuers: Vec<IssuerConfig>,
    /// Registered clients.
    pub clients: Vec<ClientConfig>,
    /// Trusted identity providers.
    pub identity_providers: Vec<IdentityProviderConfig>,
    /// Identity-evidence parameters per ticket type.
    pub evidence_profiles: Vec<EvidenceProfileConfig>,
    /// Subject-resolution options.
    pub subject_resolution: SubjectResolutionConfig,
    /// Configured trust frameworks.
    pub trust_framework_configs: Vec<TrustFrameworkConfig>,
    /// Dynamic client registration.
    pub registration: RegistrationConfig,
    /// Local release policy and quality-gap contract panels.
    pub policy: PolicyConfig,
    /// Refresh tokens for `continuation` tickets (off by default).
    pub continuation: ContinuationConfig,
    /// Person linkage sources.
    pub linkage: LinkageConfig,
    /// The Prometheus endpoint.
    pub metrics: MetricsConfig,
    /// The operator's workbench.
    pub workbench: WorkbenchConfig,
    /// Inbound TLS files, if any.
    pub tls: Option<tessera_serve::TlsFiles>,
}

/// Where durable state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// An SQLite file.
    SqliteFile(PathBuf),
    /// A private in-memory SQLite database (tests, demos).
    SqliteMemory,
    /// A PostgreSQL database (`postgres://` or `postgresql://` connection URL), shared by
    /// every node configured with it.
    Postgres(String),
}

/// Outbound HTTP limits.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Per-request timeout.
    pub timeout_ms: u64,
    /// Largest response body.
    pub max_response_bytes: usize,
    /// Cap on cache lifetimes.
    pub max_cache_seconds: i64,
}

/// Validated key source.
#[derive(Debug, Clone)]
pub enum KeySourceConfig {
    /// A JWK Set known at start-up (from a file or inline). Always `{"keys":[...]}`.
    Static(Value),
    /// Fetched over HTTP(S) and cached.
    Remote(Url),
    /// Obtained through a configured trust framework (UDAP signed metadata, OIDF metadata).
    Framework {
        /// The `[[trust_framework]]` id.
        trust_framework: String,
        /// oidf: trust marks the entity must carry.
        required_trust_marks: Vec<String>,
    },
}

/// A trusted issuer.
#[derive(Debug, Clone)]
pub struct IssuerConfig {
    /// `iss`.
    pub iss: String,
    /// Keys.
    pub keys: KeySourceConfig,
    /// Trusted ticket types.
    pub ticket_types: Vec<String>,
    /// Self-issued.
    pub self_issued: bool,
}

/// A registered client.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Client id.
    pub client_id: String,
    /// Keys.
    pub keys: KeySourceConfig,
    /// Scope eligibility.
    pub scopes: Option<Vec<String>>,
    /// Organizations it acts for.
    pub acts_for: Vec<IdentifierConfig>,
    /// Configuration-asserted framework identity.
    pub framework_identity: Option<FrameworkIdentityConfig>,
    /// May introspect.
    pub introspection: bool,
    /// Disabled.
    pub disabled: bool,
}

impl Config {
    /// Reads, parses and validates a TOML config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let file: FileConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Config::from_file_config(file, dir)
    }

    /// Parses TOML text as if it were a file in `dir`.
    pub fn from_toml(text: &str, dir: &Path) -> Result<Config, ConfigError> {
        let file: FileConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: dir.join("<inline>"),
            message: e.to_string(),
        })?;
        Config::from_file_config(file, dir)
    }

    /// Validates the file layer; `dir` anchors relative paths.
    pub fn from_file_config(file: FileConfig, dir: &Path) -> Result<Config, ConfigError> {
        let listen: SocketAddr = file
            .listen
            .parse()
            .map_err(|e| invalid("listen", format!("not a socket address: {e}")))?;
        let base_url = check_base_url("base_url", &file.base_url)?;
        let mut base_urls = vec![base_url.clone()];
        for (i, u) in file.additional_base_urls.iter().enumerate() {
            base_urls.push(check_base_url(&format!("additional_base_urls[{i}]"), u)?);
        }
        let store = parse_store(&file.store, dir)?;
        let load = file.load.iter().map(|p| resolve(dir, p)).collect();
        for (i, f) in file.trust_frameworks.iter().enumerate() {
            if f.is_empty() {
                return Err(invalid(format!("trust_frameworks[{i}]"), "empty"));
            }
        }
        let leeway = file.leeway_seconds.unwrap_or(30);
        if !(0..=300).contains(&leeway) {
            return Err(invalid("leeway_seconds", "must be between 0 and 300"));
        }
        let access_token_ttl = file.access_token_ttl_seconds.unwrap_or(300);
        if !(1..=MAX_ACCESS_TOKEN_TTL).contains(&access_token_ttl) {
            return Err(invalid(
                "access_token_ttl_seconds",
                format!("must be between 1 and {MAX_ACCESS_TOKEN_TTL}"),
            ));
        }
        if let Some(t) = &file.admin_token
            && t.len() < 16
        {
            return Err(invalid("admin_token", "must be at least 16 characters"));
        }
        let http = HttpLimits {
            timeout_ms: file.http.timeout_ms.unwrap_or(5000),
            max_response_bytes: file.http.max_response_bytes.unwrap_or(1 << 20),
            max_cache_seconds: file.http.max_cache_seconds.unwrap_or(3600),
        };
        if http.timeout_ms == 0 || http.timeout_ms > 60_000 {
            return Err(invalid("http.timeout_ms", "must be between 1 and 60000"));
        }
        if http.max_response_bytes == 0 || http.max_response_bytes > (16 << 20) {
            return Err(invalid(
                "http.max_response_bytes",
                "must be between 1 and 16 MiB",
            ));
        }
        if !(0..=86_400).contains(&http.max_cache_seconds) {
            return Err(invalid(
                "http.max_cache_seconds",
                "must be between 0 and 86400",
            ));
        }
        let mut holder_addresses: Vec<AddressConfig> = file.holder.address.into_iter().collect();
        holder_addresses.extend(file.holder.additional_addresses);

        let trust_framework_configs = validate_trust_frameworks(file.trust_framework, dir)?;
        // A federation's membership is proven (our entity_id chains to its anchor), never
        // asserted by this list (docs/decisions.md).
        for (i, f) in file.trust_frameworks.iter().enumerate() {
            if trust_framework_configs
                .iter()
                .any(|t| &t.id == f && matches!(t.kind, TrustFrameworkKind::Oidf(_)))
            {
                return Err(invalid(
                    format!("trust_frameworks[{i}]"),
                    "an oidf framework's membership is verified through its entity_id, not listed",
                ));
            }
        }
        refuse_configured_udap_membership(&file.trust_frameworks, &trust_framework_configs)?;
        let registration = validate_registration(file.registration)?;
        let workbench = ops::validate_workbench(file.workbench, file.admin_token.as_deref())?;
        let continuation = validate_continuation(file.continuation)?;
        let issuers = validate_issuers(file.issuer, dir, &trust_framework_configs)?;
        let clients = validate_clients(file.client, dir)?;
        let identity_providers = validate_idps(file.identity_provider, dir)?;
        let policy = policy::validate_policy(file.policy)?;
        let evidence_profiles =
            validate_evidence_profiles(file.evidence_profile, &identity_providers)?;
        let subject_resolution = validate_subject_resolution(file.subject_resolution)?;
        let linkage = validate_linkage(file.linkage, dir)?;
        let metrics = ops::validate_metrics(file.metrics)?;
        let tls = ops::validate_tls(file.tls, dir);
        Ok(Config {
            listen,
            base_url,
            base_urls,
            store,
            load,
            trust_frameworks: file.trust_frameworks,
            leeway,
            access_token_ttl,
            admin_token: file.admin_token,
            allow_loopback_http: file.insecure_allow_loopback_http,
            legacy_access_shapes: file.legacy_access_shapes,
            holder_identifiers: file.holder.organization,
            holder_addresses,
            http,
            issuers,
            clients,
            identity_providers,
            evidence_profiles,
            subject_resolution,
            trust_framework_configs,
            registration,
            policy,
            continuation,
            linkage,
            metrics,
            workbench,
            tls,
        })
    }

    /// The token endpoint URL (`base_url + "/token"`), the required client-assertion `aud`.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.base_url)
    }
}

/// UDAP membership is proven by our community certificate, so listing a UDAP community in
/// `trust_frameworks` would claim membership nothing verifies.
fn refuse_configured_udap_membership(
    listed: &[String],
    frameworks: &[TrustFrameworkConfig],
) -> Result<(), ConfigError> {
    for (i, id) in listed.iter().enumerate() {
        if frameworks
            .iter()
            .any(|f| f.id == *id && matches!(f.kind, TrustFrameworkKind::Udap(_)))
        {
            return Err(invalid(
                format!("trust_frameworks[{i}]"),
                format!(
                    "{id} is a udap [[trust_framework]]: membership is verified from its \
                     certificate_file and key_file, remove it from trust_frameworks"
                ),
            ));
        }
    }
    Ok(())
}

fn validate_issuers(
    list: Vec<FileIssuer>,
    dir: &Path,
    frameworks: &[TrustFrameworkConfig],
) -> Result<Vec<IssuerConfig>, ConfigError> {
    let mut out: Vec<IssuerConfig> = Vec::with_capacity(list.len());
    for (i, f) in list.into_iter().enumerate() {
        let key = format!("issuer[{i}]");
        if f.iss.is_empty() {
            return Err(invalid(format!("{key}.iss"), "empty"));
        }
        if out.iter().any(|o| o.iss == f.iss) {
            return Err(invalid(
                format!("{key}.iss"),
                format!("duplicate issuer {}", f.iss),
            ));
        }
        if f.ticket_types.is_empty() {
            return Err(invalid(
                format!("{key}.ticket_types"),
                "must name at least one type",
            ));
        }
        for (j, t) in f.ticket_types.iter().enumerate() {
            if !tessera_ticket::claims::SUPPORTED_TICKET_TYPES.contains(&t.as_str()) {
                return Err(invalid(
                    format!("{key}.ticket_types[{j}]"),
                    format!("unsupported ticket type {t}"),
                ));
            }
        }
        if f.ticket_types
            .iter()
            .any(|t| t == tessera_ticket::claims::TYPE_PAYER_CLAIMS)
            && !f.self_issued
        {
            // OP-21: claim_linkage is enforceable only for tickets this Data Holder issued.
            return Err(invalid(
                format!("{key}.ticket_types"),
                "payer claims adjudication tickets are accepted only from a self_issued issuer",
            ));
        }
        let keys = match f.trust_framework {
            Some(tf) => {
                issuer_framework_keys(&key, tf, f.required_trust_marks, &f.keys, frameworks)?
            }
            None if !f.required_trust_marks.is_empty() => {
                return Err(invalid(
                    format!("{key}.required_trust_marks"),
                    "needs trust_framework",
                ));
            }
            None => validate_keys(&key, f.keys, dir)?,
        };
        out.push(IssuerConfig {
            iss: f.iss,
            keys,
            ticket_types: f.ticket_types,
            self_issued: f.self_issued,
        });
    }
    Ok(out)
}

fn issuer_framework_keys(
    key: &str,
    trust_framework: String,
    required_trust_marks: Vec<String>,
    keys: &FileKeys,
    frameworks: &[TrustFrameworkConfig],
) -> Result<KeySourceConfig, ConfigError> {
    if keys.jwks_file.is_some() || keys.jwks_uri.is_some() || keys.jwks.is_some() {
        return Err(invalid(
            format!("{key}.trust_framework"),
            "keys come from the trust framework: remove jwks_file, jwks_uri and jwks",
        ));
    }
    let Some(tf) = frameworks.iter().find(|t| t.id == trust_framework) else {
        return Err(invalid(
            format!("{key}.trust_framework"),
            format!("no [[trust_framework]] has id {trust_framework}"),
        ));
    };
    if !required_trust_marks.is_empty() && !matches!(tf.kind, TrustFrameworkKind::Oidf(_)) {
        return Err(invalid(
            format!("{key}.required_trust_marks"),
            "trust marks exist only in oidf frameworks",
        ));
    }
    Ok(KeySourceConfig::Framework {
        trust_framework,
        required_trust_marks,
    })
}

fn validate_clients(list: Vec<FileClient>, dir: &Path) -> Result<Vec<ClientConfig>, ConfigError> {
    let mut out: Vec<ClientConfig> = Vec::with_capacity(list.len());
    for (i, f) in list.into_iter().enumerate() {
        let key = format!("client[{i}]");
        if f.client_id.is_empty() || f.client_id.len() > 512 {
            return Err(invalid(
                format!("{key}.client_id"),
                "must be 1..=512 characters",
            ));
        }
        if out.iter().any(|o| o.client_id == f.client_id) {
            return Err(invalid(
                format!("{key}.client_id"),
                format!("duplicate client {}", f.client_id),
            ));
        }
        let framework_identity = f
            .framework_identity
            .map(|fi| asserted_identity(&key, fi))
            .transpose()?;
        let keys = validate_keys(&key, f.keys, dir)?;
        out.push(ClientConfig {
            client_id: f.client_id,
            keys,
            scopes: f.scopes,
            acts_for: f.acts_for,
            framework_identity,
            introspection: f.introspection,
            disabled: f.disabled,
        });
    }
    Ok(out)
}

/// A configured identity is never verified, so it is accepted only when the operator says so.
fn asserted_identity(
    key: &str,
    fi: FileFrameworkIdentity,
) -> Result<FrameworkIdentityConfig, ConfigError> {
    if !fi.asserted {
        return Err(invalid(
            format!("{key}.framework_identity"),
            "a configured identity is asserted, not verified: add `asserted = true` to accept \
             trust_framework_client bindings on this configuration's word (audited as \
             `asserted`), or remove it and let the client prove its identity (UDAP dynamic \
             registration, OpenID Federation)",
        ));
    }
    if !matches!(fi.framework_type.as_str(), "udap" | "well-known" | "oidf") {
        return Err(invalid(
            format!("{key}.framework_identity.framework_type"),
            "must be udap, well-known or oidf",
        ));
    }
    for (name, v) in [
        ("trust_framework", &fi.trust_framework),
        ("entity_uri", &fi.entity_uri),
    ] {
        if v.is_empty() {
            return Err(invalid(format!("{key}.framework_identity.{name}"), "empty"));
        }
    }
    Ok(FrameworkIdentityConfig {
        trust_framework: fi.trust_framework,
        framework_type: fi.framework_type,
        entity_uri: fi.entity_uri,
    })
}

fn validate_keys(key: &str, k: FileKeys, dir: &Path) -> Result<KeySourceConfig, ConfigError> {
    let given = [
        k.jwks_file.is_some(),
        k.jwks_uri.is_some(),
        k.jwks.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if given != 1 {
        return Err(invalid(
            key,
            "exactly one of jwks_file, jwks_uri, jwks must be given",
        ));
    }
    if let Some(file) = k.jwks_file {
        let path = resolve(dir, &file);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            invalid(
                format!("{key}.jwks_file"),
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| invalid(format!("{key}.jwks_file"), format!("not JSON: {e}")))?;
        return Ok(KeySourceConfig::Static(normalize_jwks(
            &format!("{key}.jwks_file"),
            v,
        )?));
    }
    if let Some(uri) = k.jwks_uri {
        let url = Url::parse(&uri)
            .map_err(|e| invalid(format!("{key}.jwks_uri"), format!("not a URL: {e}")))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(invalid(format!("{key}.jwks_uri"), "must be an https URL"));
        }
        return Ok(KeySourceConfig::Remote(url));
    }
    let inline = k.jwks.unwrap_or(toml::Value::Table(toml::map::Map::new()));
    let v = serde_json::to_value(inline)
        .map_err(|e| invalid(format!("{key}.jwks"), format!("not a JWK Set: {e}")))?;
    Ok(KeySourceConfig::Static(normalize_jwks(
        &format!("{key}.jwks"),
        v,
    )?))
}

/// Accepts a JWK Set or a single JWK (the shared vectors ship single keys) and returns a set.
/// Private members are refused: a configuration holding another party's private key is a
/// mistake that should not go unnoticed.
fn normalize_jwks(key: &str, v: Value) -> Result<Value, ConfigError> {
    let set = match &v {
        Value::Object(m) if m.contains_key("keys") => v,
        Value::Object(m) if m.contains_key("kty") => serde_json::json!({ "keys": [v] }),
        _ => {
            return Err(invalid(
                key,
                "not a JWK Set (no `keys`) nor a JWK (no `kty`)",
            ));
        }
    };
    let Some(keys) = set.get("keys").and_then(Value::as_array) else {
        return Err(invalid(key, "`keys` must be an array"));
    };
    if keys.is_empty() {
        return Err(invalid(key, "the JWK Set is empty"));
    }
    for (i, jwk) in keys.iter().enumerate() {
        let Some(obj) = jwk.as_object() else {
            return Err(invalid(format!("{key}.keys[{i}]"), "not an object"));
        };
        if obj.contains_key("d") {
            return Err(invalid(
                format!("{key}.keys[{i}]"),
                "contains a private key (`d`); configure the public key only",
            ));
        }
    }
    Ok(set)
}

fn check_base_url(key: &str, s: &str) -> Result<String, ConfigError> {
    let url = Url::parse(s).map_err(|e| invalid(key, format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(invalid(key, "must be an http(s) URL"));
    }
    if s.ends_with('/') {
        return Err(invalid(key, "must not end with `/`"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(key, "must not carry a query or fragment"));
    }
    Ok(s.to_string())
}

fn parse_store(s: &str, dir: &Path) -> Result<StoreLocation, ConfigError> {
    if s == "sqlite::memory:" {
        return Ok(StoreLocation::SqliteMemory);
    }
    if tessera_store_pg::is_postgres_url(s) {
        // Only the syntax here; whether the server answers is for `serve` to find out.
        tessera_store_pg::check_url(s).map_err(|e| invalid("store", e.to_string()))?;
        return Ok(StoreLocation::Postgres(s.to_string()));
    }
    let Some(rest) = s.strip_prefix("sqlite://") else {
        return Err(invalid(
            "store",
            "must be `sqlite:///absolute/path.db`, `sqlite://relative.db`, `sqlite::memory:` \
             or `postgres://user@host/database`",
        ));
    };
    if rest.is_empty() {
        return Err(invalid("store", "missing database path"));
    }
    Ok(StoreLocation::SqliteFile(resolve(dir, rest)))
}

fn resolve(dir: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        dir.join(path)
    }
}

#[cfg(test)]
mod tests;
