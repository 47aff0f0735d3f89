//! Issuer configuration: the TOML file shape ([`FileConfig`]) and the validated [`Config`] the
//! issuer runs on.
//!
//! The file layer is strict (`deny_unknown_fields`) so a typo fails at start-up; validation
//! resolves paths against the config file's directory, loads keys, and names the offending key
//! in every error. [`Config`] has no `Default`: tests build one with [`Config::new`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
pub use tessera_serve::operator::Secret;

use serde::Deserialize;
use tessera_ticket::TicketType;

use crate::keys::{KeyRing, KeySpec, KeyStatus};
use crate::lifetimes::{Lifetimes, parse_duration};
use crate::store::StoreLocation;

/// The commented example printed by `tessera issuer serve --print-example-config`.
pub const EXAMPLE_CONFIG: &str = include_str!("example-config.toml");

/// Default `Cache-Control: max-age` of status lists (seconds).
pub const DEFAULT_STATUS_MAX_AGE: u32 = 60;
/// Default `Cache-Control: max-age` of the JWK Set (seconds).
pub const DEFAULT_JWKS_MAX_AGE: u32 = 300;
/// Default capacity of a status list (bits): 16 KiB uncompressed, a few dozen bytes gzipped
/// while sparse.
pub const DEFAULT_LIST_SIZE: u64 = 131_072;
/// Largest status list (bits): 2 MiB uncompressed.
pub const MAX_LIST_SIZE: u64 = 1 << 24;

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
        /// Dotted key path, e.g. `key[0].file`.
        key: String,
        /// What is wrong.
        problem: String,
    },
}

/// `database = "file"` (SQLite, the original key) or `store = "sqlite://…" | "postgres://…"`.
fn store_location(
    database: Option<&str>,
    store: Option<&str>,
    dir: &Path,
) -> Result<StoreLocation, ConfigError> {
    match (database, store) {
        (Some(_), Some(_)) => Err(invalid("store", "give `database` or `store`, not both")),
        (None, None) => Err(invalid(
            "store",
            "missing: `store = \"sqlite://issuer.db\"`, `store = \"postgres://user@host/db\"` \
             or `database = \"issuer.db\"`",
        )),
        (Some(""), None) => Err(invalid("database", "empty path")),
        (Some(path), None) => Ok(StoreLocation::Sqlite(dir.join(path))),
        (None, Some(url)) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(StoreLocation::Postgres(url.to_owned()))
        }
        (None, Some(url)) => match url.strip_prefix("sqlite://") {
            Some(path) if !path.is_empty() => Ok(StoreLocation::Sqlite(dir.join(path))),
            Some(_) => Err(invalid("store", "missing database path")),
            None => Err(invalid(
                "store",
                "must be `sqlite://path.db` or `postgres://user@host/db`",
            )),
        },
    }
}

pub(crate) fn invalid(key: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        problem: problem.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// File layer

/// The TOML file as written by operators.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Issuer identifier (`iss`) and base URL.
    pub issuer: String,
    /// Socket address to bind.
    #[serde(default)]
    pub listen: Option<String>,
    /// SQLite database path (or give `store`).
    #[serde(default)]
    pub database: Option<String>,
    /// `sqlite://path.db` or `postgres://user@host/db` (or give `database`).
    #[serde(default)]
    pub store: Option<String>,
    /// Open minting without authentication (demos only).
    #[serde(default)]
    pub demo_mode: bool,
    /// `max-age` of the JWK Set, seconds.
    #[serde(default)]
    pub jwks_max_age: Option<u32>,
    /// `[[key]]`.
    #[serde(default)]
    pub key: Vec<FileKey>,
    /// `[status]`.
    #[serde(default)]
    pub status: FileStatus,
    /// `[[status_list]]`.
    #[serde(default)]
    pub status_list: Vec<FileStatusList>,
    /// `[lifetimes]`, by type short name.
    #[serde(default)]
    pub lifetimes: BTreeMap<String, FileLifetime>,
    /// `[[client]]`.
    #[serde(default)]
    pub client: Vec<FileClient>,
    /// Trust frameworks this issuer mints framework audiences for (PT-AUD-08).
    #[serde(default)]
    pub trust_frameworks: Vec<String>,
    /// The issuer's own OIDC client ids: evidence with such an `aud` was obtained by the issuer.
    #[serde(default)]
    pub evidence_client_ids: Vec<String>,
    /// Where the authorizing person revokes a ticket without the app; `{jti}` is replaced.
    #[serde(default)]
    pub revocation_management_url: Option<String>,
    /// Inbound TLS (certificate and key PEM files); absent: plain HTTP.
    #[serde(default)]
    pub tls: Option<tessera_serve::FileTls>,
    /// Bearer secret of the operator's workbench API (at least 16 characters).
    #[serde(default)]
    pub admin_token: Option<Secret>,
    /// `[workbench]`.
    #[serde(default)]
    pub workbench: FileWorkbench,
}

/// `[workbench]`: the operator's workbench at `{issuer}/workbench` (off by default).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileWorkbench {
    /// Serve it (needs `admin_token`).
    #[serde(default)]
    pub enabled: bool,
}

/// `[[key]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileKey {
    /// Path of the JWK file.
    pub file: String,
    /// `active` or `retired`.
    pub status: String,
    /// Retirement time (unix seconds, RFC 3339 string or TOML date-time).
    #[serde(default)]
    pub retired_at: Option<toml::Value>,
}

/// `[status]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileStatus {
    /// `max-age` of served lists, seconds.
    #[serde(default)]
    pub max_age: Option<u32>,
}

/// `[[status_list]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileStatusList {
    /// Path segment.
    pub name: String,
    /// Capacity in bits.
    #[serde(default)]
    pub size: Option<u64>,
    /// Types on this list (absent: catch-all).
    #[serde(default)]
    pub ticket_types: Option<Vec<String>>,
}

/// `[lifetimes.<type>]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLifetime {
    /// Lifetime when the caller gives no `exp`.
    #[serde(default)]
    pub default: Option<toml::Value>,
    /// Longest accepted lifetime.
    #[serde(default)]
    pub max: Option<toml::Value>,
}

/// `[[client]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileClient {
    /// The client id.
    pub client_id: String,
    /// Path to its JWK Set (or single public JWK).
    #[serde(default)]
    pub jwks_file: Option<String>,
    /// Inline JWK Set.
    #[serde(default)]
    pub jwks: Option<toml::Value>,
    /// Types it may mint (absent: all).
    #[serde(default)]
    pub ticket_types: Option<Vec<String>>,
}

// ---------------------------------------------------------------------------------------------
// Validated layer

/// A revocation status list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListConfig {
    /// Path segment under `[issuer]/status/`.
    pub name: String,
    /// Capacity in bits (a multiple of 8).
    pub size: u64,
    /// Types whose tickets go on this list.
    pub ticket_types: Vec<TicketType>,
}

/// A registered minting client.
#[derive(Debug, Clone)]
pub struct MintingClient {
    /// The client id (`iss` = `sub` of its assertions).
    pub client_id: String,
    /// Its public keys.
    pub jwks: tessera_jose::JwkSet,
    /// Types it may mint.
    pub ticket_types: Vec<TicketType>,
}

/// The validated configuration.
#[derive(Debug)]
pub struct Config {
    /// Issuer identifier, no trailing slash.
    pub issuer: String,
    /// Address to bind.
    pub listen: SocketAddr,
    /// Where the records live.
    pub store: StoreLocation,
    /// Open minting (demos only).
    pub demo_mode: bool,
    /// `max-age` of the JWK Set.
    pub jwks_max_age: u32,
    /// `max-age` of status lists.
    pub status_max_age: u32,
    /// Signing and published keys.
    pub keys: KeyRing,
    /// Status lists; every type is on exactly one.
    pub status_lists: Vec<StatusListConfig>,
    /// Lifetimes per type.
    pub lifetimes: Lifetimes,
    /// Registered minting clients.
    pub clients: Vec<MintingClient>,
    /// Trust frameworks a framework `aud` may name (`aud_type` is forced for them).
    pub trust_frameworks: Vec<String>,
    /// The issuer's own OIDC client ids (issuer-obtained identity evidence).
    pub evidence_client_ids: Vec<String>,
    /// Revocation-management URL template (`{jti}` replaced), given with every ticket.
    pub revocation_management_url: Option<String>,
    /// Inbound TLS files (read by `serve`), if any.
    pub tls: Option<tessera_serve::TlsFiles>,
    /// Bearer secret of the operator's workbench API.
    pub admin_token: Option<Secret>,
    /// Serve the operator's workbench at `{issuer}/workbench`.
    pub workbench: bool,
}

impl Config {
    /// A configuration with the built-in defaults: one catch-all status list named `tickets`,
    /// default lifetimes, no clients, demo mode off.
    pub fn new(issuer: &str, database: PathBuf, keys: KeyRing) -> Result<Config, ConfigError> {
        Ok(Config {
            issuer: check_issuer(issuer)?,
            listen: SocketAddr::from(([127, 0, 0, 1], 8090)),
            store: StoreLocation::Sqlite(database),
            demo_mode: false,
            jwks_max_age: DEFAULT_JWKS_MAX_AGE,
            status_max_age: DEFAULT_STATUS_MAX_AGE,
            keys,
            status_lists: vec![StatusListConfig {
                name: "tickets".into(),
                size: DEFAULT_LIST_SIZE,
                ticket_types: TicketType::ALL.to_vec(),
            }],
            lifetimes: Lifetimes::default(),
            clients: Vec::new(),
            trust_frameworks: Vec::new(),
            evidence_client_ids: Vec::new(),
            revocation_management_url: None,
            tls: None,
            admin_token: None,
            workbench: false,
        })
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let file: FileConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        Config::from_file(file, dir)
    }

    /// Validates a parsed file; relative paths resolve against `dir`.
    pub fn from_file(file: FileConfig, dir: &Path) -> Result<Config, ConfigError> {
        let issuer = check_issuer(&file.issuer)?;
        let listen = file
            .listen
            .as_deref()
            .unwrap_or("127.0.0.1:8090")
            .parse()
            .map_err(|_| invalid("listen", "not a socket address like 127.0.0.1:8090"))?;
        let store = store_location(file.database.as_deref(), file.store.as_deref(), dir)?;
        let lifetimes = lifetimes(&file.lifetimes)?;
        let specs = file
            .key
            .iter()
            .enumerate()
            .map(|(i, k)| key_spec(i, k, dir))
            .collect::<Result<Vec<_>, _>>()?;
        let keys = KeyRing::new(specs, lifetimes.longest_max())?;
        for (i, c) in file.client.iter().enumerate() {
            if file
                .client
                .iter()
                .take(i)
                .any(|o| o.client_id == c.client_id)
            {
                return Err(invalid(
                    format!("client[{i}].client_id"),
                    format!("duplicate client {:?}", c.client_id),
                ));
            }
        }
        if file
            .admin_token
            .as_ref()
            .is_some_and(|t| t.chars().count() < 16)
        {
            return Err(invalid("admin_token", "must be at least 16 characters"));
        }
        if file.workbench.enabled && file.admin_token.is_none() {
            return Err(invalid(
                "workbench.enabled",
                "needs admin_token: the workbench's API answers operators holding the admin secret",
            ));
        }
        Ok(Config {
            issuer,
            listen,
            store,
            demo_mode: file.demo_mode,
            jwks_max_age: file.jwks_max_age.unwrap_or(DEFAULT_JWKS_MAX_AGE),
            status_max_age: file.status.max_age.unwrap_or(DEFAULT_STATUS_MAX_AGE),
            keys,
            status_lists: status_lists(&file.status_list)?,
            lifetimes,
            clients: file
                .client
                .iter()
                .enumerate()
                .map(|(i, c)| client(i, c, dir))
                .collect::<Result<_, _>>()?,
            trust_frameworks: non_empty_list("trust_frameworks", file.trust_frameworks)?,
            evidence_client_ids: non_empty_list("evidence_client_ids", file.evidence_client_ids)?,
            revocation_management_url: file
                .revocation_management_url
                .map(|u| check_management_url(&u))
                .transpose()?,
            tls: file
                .tls
                .as_ref()
                .map(|t| tessera_serve::TlsFiles::resolve(t, dir)),
            admin_token: file.admin_token,
            workbench: file.workbench.enabled,
        })
    }

    /// The status list a type's tickets go on.
    pub fn list_for(&self, ticket_type: TicketType) -> Option<&StatusListConfig> {
        self.status_lists
            .iter()
            .find(|l| l.ticket_types.contains(&ticket_type))
    }
}

/// The config short name of a type (`self_access`, ...).
pub fn type_name(t: TicketType) -> &'static str {
    match t {
        TicketType::SelfAccess => "self_access",
        TicketType::DelegatedAccess => "delegated_access",
        TicketType::PayerClaims => "payer_claims",
        TicketType::QualityGap => "quality_gap",
        TicketType::PublicHealth => "public_health",
    }
}

/// A type by short name or full `ticket_type` URI.
pub fn parse_type(name: &str) -> Option<TicketType> {
    TicketType::ALL
        .into_iter()
        .find(|t| type_name(*t) == name)
        .or_else(|| TicketType::from_uri(name))
}

fn check_issuer(issuer: &str) -> Result<String, ConfigError> {
    let url = url::Url::parse(issuer).map_err(|e| invalid("issuer", format!("not a URL: {e}")))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(invalid(
                "issuer",
                "must be an https URL (http only on loopback)",
            ));
        }
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(invalid(
            "issuer",
            "must not carry a query, fragment or user info",
        ));
    }
    // The issuer string is compared exactly by verifiers: keep what the operator wrote, minus a
    // trailing slash, rather than the URL library's normalization.
    Ok(issuer.trim_end_matches('/').to_owned())
}

fn key_spec(i: usize, k: &FileKey, dir: &Path) -> Result<KeySpec, ConfigError> {
    let status = match k.status.as_str() {
        "active" => KeyStatus::Active,
        "retired" => {
            let value = k.retired_at.as_ref().ok_or_else(|| {
                invalid(format!("key[{i}].retired_at"), "required for a retired key")
            })?;
            KeyStatus::Retired {
                retired_at: timestamp(value)
                    .map_err(|p| invalid(format!("key[{i}].retired_at"), p))?,
            }
        }
        other => {
            return Err(invalid(
                format!("key[{i}].status"),
                format!("{other:?} is neither \"active\" nor \"retired\""),
            ));
        }
    };
    if matches!(status, KeyStatus::Active) && k.retired_at.is_some() {
        return Err(invalid(
            format!("key[{i}].retired_at"),
            "an active key has no retired_at",
        ));
    }
    let path = dir.join(&k.file);
    let bytes = std::fs::read(&path).map_err(|e| {
        invalid(
            format!("key[{i}].file"),
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    Ok(KeySpec {
        key: format!("key[{i}]"),
        json: bytes,
        status,
    })
}

/// A point in time: unix seconds, or RFC 3339 as a string or TOML date-time.
fn timestamp(value: &toml::Value) -> Result<i64, String> {
    let text = match value {
        toml::Value::Integer(n) => return Ok(*n),
        toml::Value::String(s) => s.clone(),
        toml::Value::Datetime(d) => d.to_string(),
        _ => return Err("expected unix seconds or an RFC 3339 date-time".into()),
    };
    time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
        .map(time::OffsetDateTime::unix_timestamp)
        .map_err(|_| format!("{text:?} is not an RFC 3339 date-time with offset"))
}

fn lifetimes(file: &BTreeMap<String, FileLifetime>) -> Result<Lifetimes, ConfigError> {
    let mut out = Lifetimes::default();
    for (name, l) in file {
        let key = format!("lifetimes.{name}");
        let t = parse_type(name).ok_or_else(|| invalid(&key, "unknown ticket type"))?;
        let mut lifetime = out.get(t);
        if let Some(v) = &l.default {
            lifetime.default =
                parse_duration(v).map_err(|p| invalid(format!("{key}.default"), p))?;
        }
        if let Some(v) = &l.max {
            lifetime.max = parse_duration(v).map_err(|p| invalid(format!("{key}.max"), p))?;
        }
        if lifetime.default > lifetime.max {
            return Err(invalid(key, "default is longer than max"));
        }
        if INTERACTIVE.contains(&t) && lifetime.default > MAX_INTERACTIVE_DEFAULT {
            // PT-ISS-09: interactive tickets SHOULD live 1-4 h; a standing authorization is
            // asked for explicitly with `exp` (up to `max`), not made the default.
            return Err(invalid(
                format!("{key}.default"),
                "at most 4h for an interactive ticket type; request a longer exp per ticket",
            ));
        }
        out.set(t, lifetime);
    }
    Ok(out)
}

/// Interactive (individual access) ticket types.
const INTERACTIVE: [TicketType; 2] = [TicketType::SelfAccess, TicketType::DelegatedAccess];
/// Longest default lifetime of an interactive type (spec-digest §16: 1-4 h).
pub const MAX_INTERACTIVE_DEFAULT: i64 = 4 * 3600;

fn non_empty_list(key: &str, list: Vec<String>) -> Result<Vec<String>, ConfigError> {
    for (i, v) in list.iter().enumerate() {
        if v.is_empty() || v.len() > 2048 || v.chars().any(char::is_control) {
            return Err(invalid(
                format!("{key}[{i}]"),
                "1-2048 printable characters",
            ));
        }
    }
    Ok(list)
}

fn check_management_url(template: &str) -> Result<String, ConfigError> {
    let key = "revocation_management_url";
    let url = url::Url::parse(&template.replace("{jti}", "x"))
        .map_err(|e| invalid(key, format!("not a URL: {e}")))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        return Err(invalid(key, "must be an https URL (http only on loopback)"));
    }
    Ok(template.to_owned())
}

fn status_lists(file: &[FileStatusList]) -> Result<Vec<StatusListConfig>, ConfigError> {
    if file.is_empty() {
        return Ok(vec![StatusListConfig {
            name: "tickets".into(),
            size: DEFAULT_LIST_SIZE,
            ticket_types: TicketType::ALL.to_vec(),
        }]);
    }
    let mut lists = Vec::new();
    let mut catch_all = None;
    for (i, l) in file.iter().enumerate() {
        let key = |k: &str| format!("status_list[{i}].{k}");
        let name_ok = !l.name.is_empty()
            && l.name.len() <= 64
            && l.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !name_ok {
            return Err(invalid(key("name"), "1-64 characters of [A-Za-z0-9_-]"));
        }
        if file.iter().take(i).any(|o| o.name == l.name) {
            return Err(invalid(key("name"), format!("duplicate list {:?}", l.name)));
        }
        let size = l.size.unwrap_or(DEFAULT_LIST_SIZE);
        if size == 0 || size % 8 != 0 || size > MAX_LIST_SIZE {
            return Err(invalid(
                key("size"),
                format!("a positive multiple of 8, at most {MAX_LIST_SIZE}"),
            ));
        }
        let types = match &l.ticket_types {
            None => {
                if catch_all.replace(i).is_some() {
                    return Err(invalid(
                        key("ticket_types"),
                        "only one list may omit ticket_types",
                    ));
                }
                Vec::new()
            }
            Some(names) => names
                .iter()
                .map(|n| {
                    parse_type(n).ok_or_else(|| {
                        invalid(key("ticket_types"), format!("unknown ticket type {n:?}"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        for t in &types {
            if lists
                .iter()
                .any(|o: &StatusListConfig| o.ticket_types.contains(t))
            {
                return Err(invalid(
                    key("ticket_types"),
                    format!("{} is already on another list", type_name(*t)),
                ));
            }
        }
        lists.push(StatusListConfig {
            name: l.name.clone(),
            size,
            ticket_types: types,
        });
    }
    let unlisted: Vec<TicketType> = TicketType::ALL
        .into_iter()
        .filter(|t| !lists.iter().any(|l| l.ticket_types.contains(t)))
        .collect();
    match (catch_all, lists.get_mut(catch_all.unwrap_or(usize::MAX))) {
        (Some(_), Some(list)) => list.ticket_types = unlisted,
        _ if unlisted.is_empty() => {}
        _ => {
            let names: Vec<&str> = unlisted.iter().map(|t| type_name(*t)).collect();
            return Err(invalid(
                "status_list",
                format!(
                    "no list for {}; add one without ticket_types",
                    names.join(", ")
                ),
            ));
        }
    }
    Ok(lists)
}

fn client(i: usize, c: &FileClient, dir: &Path) -> Result<MintingClient, ConfigError> {
    let key = |k: &str| format!("client[{i}].{k}");
    if c.client_id.is_empty()
        || c.client_id.len() > 256
        || c.client_id.chars().any(char::is_control)
    {
        return Err(invalid(key("client_id"), "1-256 printable characters"));
    }
    // The recorded names of the demo caller and the CLI operator.
    if matches!(c.client_id.as_str(), "demo" | "operator") {
        return Err(invalid(
            key("client_id"),
            "\"demo\" and \"operator\" are reserved",
        ));
    }
    let jwks = match (&c.jwks_file, &c.jwks) {
        (Some(file), None) => {
            let path = dir.join(file);
            let bytes = std::fs::read(&path).map_err(|e| {
                invalid(
                    key("jwks_file"),
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            tessera_jose::JwkSet::from_json_set_or_key(&bytes)
                .map_err(|e| invalid(key("jwks_file"), e.to_string()))?
        }
        (None, Some(inline)) => {
            let bytes =
                serde_json::to_vec(inline).map_err(|e| invalid(key("jwks"), e.to_string()))?;
            tessera_jose::JwkSet::from_json_set_or_key(&bytes)
                .map_err(|e| invalid(key("jwks"), e.to_string()))?
        }
        _ => return Err(invalid(key("jwks"), "exactly one of jwks_file and jwks")),
    };
    if jwks.keys.is_empty() {
        return Err(invalid(key("jwks"), "no keys"));
    }
    let ticket_types = match &c.ticket_types {
        None => TicketType::ALL.to_vec(),
        Some(names) => names
            .iter()
            .map(|n| {
                parse_type(n).ok_or_else(|| {
                    invalid(key("ticket_types"), format!("unknown ticket type {n:?}"))
                })
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(MintingClient {
        client_id: c.client_id.clone(),
        jwks,
        ticket_types,
    })
}
