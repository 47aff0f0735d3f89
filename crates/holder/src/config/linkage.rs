//! `[linkage]`: the sources of person linkage this Data Holder trusts (issue 14; decisions.md,
//! "Person linkage"). Nothing links unless named here, except `Patient.link` in the data,
//! which is honoured unless `patient_link = false`. Demographics never link.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tessera_store::linkage::LinkageRules;

use super::{ConfigError, invalid};

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
}

/// Validated `[linkage]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkageConfig {
    /// What links records.
    pub rules: LinkageRules,
    /// The operator links file, resolved against the config directory.
    pub links_file: Option<PathBuf>,
}

impl Default for LinkageConfig {
    fn default() -> Self {
        LinkageConfig {
            rules: LinkageRules {
                enterprise_systems: Vec::new(),
                patient_link: true,
            },
            links_file: None,
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
    Ok(LinkageConfig {
        rules: LinkageRules {
            enterprise_systems: systems,
            patient_link: f.patient_link.unwrap_or(true),
        },
        links_file,
    })
}
