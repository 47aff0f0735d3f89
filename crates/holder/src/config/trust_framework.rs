//! `[[trust_framework]]` and `[registration]`: the configuration contract shared by the UDAP,
//! OpenID Federation and well-known-client features.
//!
//! Only the shape and its static checks live here (which members a framework type takes, that
//! URLs are URLs, that referenced files resolve against the config directory). Reading the
//! material (PEM anchors, certificate chains, anchor JWKS) belongs to each framework's loader,
//! so this module stays free of X.509 and federation knowledge.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use url::Url;

use super::{ConfigError, invalid, resolve};

/// `[[trust_framework]]` as written by operators. Members that do not belong to the entry's
/// `framework_type` are refused at start-up, naming the member.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTrustFramework {
    /// The `trust_framework` value of bindings and of `aud` (for OIDF: the anchor's entity ID).
    pub id: String,
    /// `udap`, `oidf` or `well-known`.
    pub framework_type: String,
    /// udap: PEM file with the trust anchor certificate(s).
    #[serde(default)]
    pub anchors_file: Option<String>,
    /// udap: our community certificate chain (PEM, leaf first).
    #[serde(default)]
    pub certificate_file: Option<String>,
    /// udap: the private key of our community certificate (PEM, PKCS#8).
    #[serde(default)]
    pub key_file: Option<String>,
    /// udap: CRL files consulted besides CRLs fetched from distribution points.
    #[serde(default)]
    pub crl_files: Vec<String>,
    /// oidf: the trust anchor's JWK Set.
    #[serde(default)]
    pub anchor_jwks_file: Option<String>,
    /// oidf: this Data Holder's own federation entity ID.
    #[serde(default)]
    pub entity_id: Option<String>,
    /// oidf: trust marks every entity of this federation must carry.
    #[serde(default)]
    pub required_trust_marks: Vec<String>,
    /// oidf: resolve a client entity that sent no `trust_chain` (default off).
    #[serde(default)]
    pub online_resolution: bool,
    /// well-known: the entity URIs this framework lists.
    #[serde(default)]
    pub entities: Vec<String>,
    /// well-known: a document listing the framework's entities, fetched instead of `entities`.
    #[serde(default)]
    pub framework_document_uri: Option<String>,
}

/// `[registration]`: RFC 7591 / UDAP dynamic client registration at `[base]/register`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRegistration {
    /// Serve the registration endpoint (off by default).
    #[serde(default)]
    pub enabled: bool,
    /// Bearer token a registration request must carry; absent means open registration.
    #[serde(default)]
    pub initial_access_token: Option<String>,
    /// RFC 7591 clients may register a `jwks_uri` (fetched by this server); default: inline
    /// `jwks` only.
    #[serde(default)]
    pub allow_jwks_uri: bool,
}

/// A validated trust framework.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustFrameworkConfig {
    /// The framework identifier.
    pub id: String,
    /// What kind of framework it is, with that kind's settings.
    pub kind: TrustFrameworkKind,
}

/// Per-type settings of a trust framework.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustFrameworkKind {
    /// A UDAP community.
    Udap(UdapFrameworkConfig),
    /// An OpenID Federation, identified by its trust anchor.
    Oidf(OidfFrameworkConfig),
    /// A framework of `well-known:{entity_uri}` clients (Proposal 006).
    WellKnown(WellKnownFrameworkConfig),
}

impl TrustFrameworkKind {
    /// The `framework_type` string of bindings (`udap`, `oidf`, `well-known`).
    pub fn framework_type(&self) -> &'static str {
        match self {
            TrustFrameworkKind::Udap(_) => "udap",
            TrustFrameworkKind::Oidf(_) => "oidf",
            TrustFrameworkKind::WellKnown(_) => "well-known",
        }
    }
}

/// A UDAP community's anchors and our own membership material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdapFrameworkConfig {
    /// PEM trust anchors.
    pub anchors_file: PathBuf,
    /// Our community certificate chain (PEM, leaf first), if we are a member.
    pub certificate_file: Option<PathBuf>,
    /// Its private key.
    pub key_file: Option<PathBuf>,
    /// Configured CRL files.
    pub crl_files: Vec<PathBuf>,
}

/// An OpenID Federation's anchor and our place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidfFrameworkConfig {
    /// The anchor's JWK Set file.
    pub anchor_jwks_file: PathBuf,
    /// Our own entity ID, if we are a member.
    pub entity_id: Option<Url>,
    /// Trust marks every entity must carry.
    pub required_trust_marks: Vec<String>,
    /// Resolve client entities online when no `trust_chain` is sent.
    pub online_resolution: bool,
}

/// The entities a well-known framework recognizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WellKnownFrameworkConfig {
    /// Listed entity URIs.
    pub entities: Vec<Url>,
    /// Or a document listing them.
    pub framework_document_uri: Option<Url>,
}

/// Validated `[registration]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrationConfig {
    /// The endpoint is served.
    pub enabled: bool,
    /// Required bearer token (absent: open registration).
    pub initial_access_token: Option<String>,
    /// RFC 7591 `jwks_uri` accepted.
    pub allow_jwks_uri: bool,
}

/// Validates `[[trust_framework]]` entries.
pub(super) fn validate_trust_frameworks(
    list: Vec<FileTrustFramework>,
    dir: &Path,
) -> Result<Vec<TrustFrameworkConfig>, ConfigError> {
    let mut out: Vec<TrustFrameworkConfig> = Vec::with_capacity(list.len());
    for (i, f) in list.into_iter().enumerate() {
        let key = format!("trust_framework[{i}]");
        if f.id.is_empty() {
            return Err(invalid(format!("{key}.id"), "empty"));
        }
        if out.iter().any(|o| o.id == f.id) {
            return Err(invalid(
                format!("{key}.id"),
                format!("duplicate trust framework {}", f.id),
            ));
        }
        let kind = match f.framework_type.as_str() {
            "udap" => TrustFrameworkKind::Udap(udap(&key, &f, dir)?),
            "oidf" => TrustFrameworkKind::Oidf(oidf(&key, &f, dir)?),
            "well-known" => TrustFrameworkKind::WellKnown(well_known(&key, &f)?),
            other => {
                return Err(invalid(
                    format!("{key}.framework_type"),
                    format!("must be udap, oidf or well-known, not {other:?}"),
                ));
            }
        };
        refuse_foreign_members(&key, &f)?;
        out.push(TrustFrameworkConfig { id: f.id, kind });
    }
    Ok(out)
}

/// Validates `[registration]`.
pub(super) fn validate_registration(
    f: FileRegistration,
) -> Result<RegistrationConfig, ConfigError> {
    if let Some(t) = &f.initial_access_token
        && t.len() < 16
    {
        return Err(invalid(
            "registration.initial_access_token",
            "must be at least 16 characters",
        ));
    }
    Ok(RegistrationConfig {
        enabled: f.enabled,
        initial_access_token: f.initial_access_token,
        allow_jwks_uri: f.allow_jwks_uri,
    })
}

fn udap(key: &str, m: &FileTrustFramework, dir: &Path) -> Result<UdapFrameworkConfig, ConfigError> {
    let anchors_file = m
        .anchors_file
        .as_deref()
        .ok_or_else(|| invalid(format!("{key}.anchors_file"), "required for udap"))?;
    if m.certificate_file.is_some() != m.key_file.is_some() {
        return Err(invalid(
            format!("{key}.certificate_file"),
            "certificate_file and key_file go together",
        ));
    }
    Ok(UdapFrameworkConfig {
        anchors_file: resolve(dir, anchors_file),
        certificate_file: m.certificate_file.as_deref().map(|p| resolve(dir, p)),
        key_file: m.key_file.as_deref().map(|p| resolve(dir, p)),
        crl_files: m.crl_files.iter().map(|p| resolve(dir, p)).collect(),
    })
}

fn oidf(key: &str, f: &FileTrustFramework, dir: &Path) -> Result<OidfFrameworkConfig, ConfigError> {
    let anchor = f
        .anchor_jwks_file
        .as_deref()
        .ok_or_else(|| invalid(format!("{key}.anchor_jwks_file"), "required for oidf"))?;
    parse_url(&format!("{key}.id"), &f.id)?;
    let entity_id = f
        .entity_id
        .as_deref()
        .map(|u| parse_url(&format!("{key}.entity_id"), u))
        .transpose()?;
    for (j, m) in f.required_trust_marks.iter().enumerate() {
        if m.is_empty() {
            return Err(invalid(format!("{key}.required_trust_marks[{j}]"), "empty"));
        }
    }
    Ok(OidfFrameworkConfig {
        anchor_jwks_file: resolve(dir, anchor),
        entity_id,
        required_trust_marks: f.required_trust_marks.clone(),
        online_resolution: f.online_resolution,
    })
}

fn well_known(key: &str, f: &FileTrustFramework) -> Result<WellKnownFrameworkConfig, ConfigError> {
    let entities = f
        .entities
        .iter()
        .enumerate()
        .map(|(j, e)| parse_url(&format!("{key}.entities[{j}]"), e))
        .collect::<Result<Vec<_>, _>>()?;
    let framework_document_uri = f
        .framework_document_uri
        .as_deref()
        .map(|u| parse_url(&format!("{key}.framework_document_uri"), u))
        .transpose()?;
    if entities.is_empty() == framework_document_uri.is_none() {
        return Err(invalid(
            key,
            "well-known needs exactly one of entities or framework_document_uri",
        ));
    }
    Ok(WellKnownFrameworkConfig {
        entities,
        framework_document_uri,
    })
}

/// A member of another framework type is a configuration mistake, not something to ignore.
fn refuse_foreign_members(key: &str, f: &FileTrustFramework) -> Result<(), ConfigError> {
    let t = f.framework_type.as_str();
    let members: [(&str, bool, &str); 10] = [
        ("anchors_file", f.anchors_file.is_some(), "udap"),
        ("certificate_file", f.certificate_file.is_some(), "udap"),
        ("key_file", f.key_file.is_some(), "udap"),
        ("crl_files", !f.crl_files.is_empty(), "udap"),
        ("anchor_jwks_file", f.anchor_jwks_file.is_some(), "oidf"),
        ("entity_id", f.entity_id.is_some(), "oidf"),
        (
            "required_trust_marks",
            !f.required_trust_marks.is_empty(),
            "oidf",
        ),
        ("online_resolution", f.online_resolution, "oidf"),
        ("entities", !f.entities.is_empty(), "well-known"),
        (
            "framework_document_uri",
            f.framework_document_uri.is_some(),
            "well-known",
        ),
    ];
    for (name, present, owner) in members {
        if present && owner != t {
            return Err(invalid(
                format!("{key}.{name}"),
                format!("belongs to {owner} frameworks, not {t}"),
            ));
        }
    }
    Ok(())
}

fn parse_url(key: &str, s: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(s).map_err(|e| invalid(key, format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(invalid(key, "must be an https URL"));
    }
    Ok(url)
}
