//! `[linkage]`: the sources of person linkage this Data Holder trusts (issue 14; decisions.md,
//! "Person linkage"). Nothing links unless named here, except `Patient.link` in the data,
//! which is honoured unless `patient_link = false`. Demographics never link.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tessera_store::linkage::LinkageRules;

use super::{AddressConfig, ConfigError, IdentifierConfig, invalid};

/// Most enterprise-identifier systems.
const MAX_SYSTEMS: usize = 16;

/// `[linkage]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLinkage {
    /// Identifier systems whose shared values link the records of one person.
    #[serde(default)]
    pub enterprise_identifier_systems: Vec<String>,
    /// Honour `Patient.link` in ingested data (default true).
    #[serde(default)]
    pub patient_link: Option<bool>,
    /// Operator-maintained links (JSON), applied at start-up.
    #[serde(default)]
    pub links_file: Option<String>,
    /// Per-site identities configured instead of the one read from the site's Organization.
    #[serde(default)]
    pub site: Vec<FileSiteIdentity>,
}

/// `[[linkage.site]]`: a per-site Data Holder's identity, configured (issue 14: "read at
/// ingest or configured"); it replaces what ingest read from the site's own Organization.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSiteIdentity {
    /// The site id (`[base]/site/{id}`, the Bundle file stem).
    pub id: String,
    /// Its organization identifiers.
    #[serde(default)]
    pub organization: Vec<IdentifierConfig>,
    /// Its jurisdictions.
    #[serde(default)]
    pub address: Vec<AddressConfig>,
}

/// Validated `[linkage]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkageConfig {
    /// What links records.
    pub rules: LinkageRules,
    /// The operator links file, resolved against the config directory.
    pub links_file: Option<PathBuf>,
    /// Configured site identities (checked against the loaded sites at start-up).
    pub sites: Vec<FileSiteIdentity>,
}

impl Default for LinkageConfig {
    fn default() -> Self {
        LinkageConfig {
            rules: LinkageRules {
                enterprise_systems: Vec::new(),
                patient_link: true,
            },
            links_file: None,
            sites: Vec::new(),
        }
    }
}

pub(super) fn validate_linkage(f: FileLinkage, dir: &Path) -> Result<LinkageConfig, ConfigError> {
    if f.enterprise_identifier_systems.len() > MAX_SYSTEMS {
        return Err(invalid(
            "linkage.enterprise_identifier_systems",
            format!("at most {MAX_SYSTEMS} systems"),
        ));
    }
    let mut systems = Vec::new();
    for (i, s) in f.enterprise_identifier_systems.into_iter().enumerate() {
        let key = format!("linkage.enterprise_identifier_systems[{i}]");
        if s.trim().is_empty() || s.len() > 1024 || s.contains('|') {
            return Err(invalid(key, "must be a non-empty system URI without `|`"));
        }
        if systems.contains(&s) {
            return Err(invalid(key, "listed twice"));
        }
        systems.push(s);
    }
    let links_file = match f.links_file {
        None => None,
        Some(p) if p.trim().is_empty() => {
            return Err(invalid("linkage.links_file", "empty path"));
        }
        Some(p) => Some(dir.join(p)),
    };
    for (i, site) in f.site.iter().enumerate() {
        if site.id.is_empty()
            || site.id.len() > 64
            || !site
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(invalid(
                format!("linkage.site[{i}].id"),
                "must be [a-z0-9-]{1,64}",
            ));
        }
        if f.site[..i].iter().any(|s| s.id == site.id) {
            return Err(invalid(format!("linkage.site[{i}].id"), "listed twice"));
        }
    }
    Ok(LinkageConfig {
        rules: LinkageRules {
            enterprise_systems: systems,
            patient_link: f.patient_link.unwrap_or(true),
        },
        links_file,
        sites: f.site,
    })
}
