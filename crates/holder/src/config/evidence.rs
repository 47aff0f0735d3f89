//! Identity-evidence configuration (spec-digest §10, PT-EVID-12/13): how an
//! `[[identity_provider]]` publishes its keys (a JWK Set as for any party, or OpenID Connect
//! discovery from its `iss`), and the per-ticket-type `[[evidence_profile]]` parameters —
//! evidence required per slot, accepted evidence issuers, `acr` values, required claims and
//! freshness.
//!
//! Only shape and static checks live here; applying the profile is `crate::evidence`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use tessera_ticket::claims::{SUPPORTED_TICKET_TYPES, TYPE_DELEGATED_ACCESS, TYPE_SELF_ACCESS};
use url::Url;

use super::{ConfigError, FileIdentityProvider, KeySourceConfig, invalid, validate_keys};

/// Longest accepted `max_age_seconds` (a year: evidence older than that is not "fresh").
pub const MAX_EVIDENCE_AGE: i64 = 366 * 24 * 3600;

/// How an identity provider's keys are found.
#[derive(Debug, Clone)]
pub enum IdpKeysConfig {
    /// A JWK Set (file, inline or `jwks_uri`), as for any other party.
    Keys(KeySourceConfig),
    /// OpenID Connect Discovery 1.0 §4: `{iss}/.well-known/openid-configuration`, whose
    /// `issuer` must equal `iss` exactly, names the `jwks_uri`.
    OidcDiscovery(Url),
}

/// A trusted identity provider.
#[derive(Debug, Clone)]
pub struct IdentityProviderConfig {
    /// OIDC issuer.
    pub iss: String,
    /// Keys.
    pub keys: IdpKeysConfig,
    /// OIDC client id → ticket issuer / client id.
    pub audience_map: BTreeMap<String, String>,
    /// Accepted `acr` values (this provider's own floor; empty = any).
    pub acr_values: Vec<String>,
}

/// `[[evidence_profile]]` as written by operators: one per ticket type.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEvidenceProfile {
    /// The ticket type URI this profile applies to.
    pub ticket_type: String,
    /// Evidence slots that must be present: `"subject"`, `"requester"` (delegated access).
    #[serde(default)]
    pub require: Vec<String>,
    /// Accepted evidence issuers for this type (each a configured identity provider; empty =
    /// every configured identity provider).
    #[serde(default)]
    pub issuers: Vec<String>,
    /// Accepted `acr` values for this type (empty = no type-level requirement).
    #[serde(default)]
    pub acr_values: Vec<String>,
    /// ID-token claims that must be present and non-empty.
    #[serde(default)]
    pub required_claims: Vec<String>,
    /// Freshness: largest accepted age, in seconds, of the identity verification when the
    /// ticket was issued (ticket `iat` − ID token `auth_time`, or its `iat` without one).
    #[serde(default)]
    pub max_age_seconds: Option<i64>,
}

/// A validated evidence profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvidenceProfileConfig {
    /// Ticket type URI.
    pub ticket_type: String,
    /// `subject_identity_evidence` must be present.
    pub require_subject: bool,
    /// `requester_identity_evidence` must be present.
    pub require_requester: bool,
    /// Accepted evidence issuers (empty = any configured provider).
    pub issuers: Vec<String>,
    /// Accepted `acr` values (empty = any).
    pub acr_values: Vec<String>,
    /// Claims that must be present.
    pub required_claims: Vec<String>,
    /// Freshness bound in seconds.
    pub max_age: Option<i64>,
}

/// Validates `[[identity_provider]]`.
pub(super) fn validate_idps(
    list: Vec<FileIdentityProvider>,
    dir: &Path,
) -> Result<Vec<IdentityProviderConfig>, ConfigError> {
    let mut out: Vec<IdentityProviderConfig> = Vec::with_capacity(list.len());
    for (i, f) in list.into_iter().enumerate() {
        let key = format!("identity_provider[{i}]");
        if f.iss.is_empty() {
            return Err(invalid(format!("{key}.iss"), "empty"));
        }
        if out.iter().any(|o| o.iss == f.iss) {
            return Err(invalid(
                format!("{key}.iss"),
                format!("duplicate identity provider {}", f.iss),
            ));
        }
        let keys = if f.oidc_discovery {
            let k = &f.keys;
            if k.jwks_file.is_some() || k.jwks_uri.is_some() || k.jwks.is_some() {
                return Err(invalid(
                    format!("{key}.oidc_discovery"),
                    "keys come from OpenID Connect discovery: remove jwks_file, jwks_uri and jwks",
                ));
            }
            IdpKeysConfig::OidcDiscovery(discovery_url(&key, &f.iss)?)
        } else {
            IdpKeysConfig::Keys(validate_keys(&key, f.keys, dir)?)
        };
        out.push(IdentityProviderConfig {
            iss: f.iss,
            keys,
            audience_map: f.audience_map,
            acr_values: f.acr_values,
        });
    }
    Ok(out)
}

/// `{iss}/.well-known/openid-configuration` (OIDC Discovery §4.1: a trailing `/` of `iss` is
/// dropped before appending).
pub fn discovery_url(key: &str, iss: &str) -> Result<Url, ConfigError> {
    let base =
        Url::parse(iss).map_err(|e| invalid(format!("{key}.iss"), format!("not a URL: {e}")))?;
    if !matches!(base.scheme(), "https" | "http")
        || base.query().is_some()
        || base.fragment().is_some()
    {
        return Err(invalid(
            format!("{key}.iss"),
            "OpenID Connect discovery needs an https issuer URL without query or fragment",
        ));
    }
    let text = format!(
        "{}/.well-known/openid-configuration",
        iss.trim_end_matches('/')
    );
    Url::parse(&text).map_err(|e| invalid(format!("{key}.iss"), e.to_string()))
}

/// Validates `[[evidence_profile]]` against the configured identity providers.
pub(super) fn validate_evidence_profiles(
    list: Vec<FileEvidenceProfile>,
    idps: &[IdentityProviderConfig],
) -> Result<Vec<EvidenceProfileConfig>, ConfigError> {
    let mut out: Vec<EvidenceProfileConfig> = Vec::with_capacity(list.len());
    for (i, f) in list.into_iter().enumerate() {
        let key = format!("evidence_profile[{i}]");
        if !SUPPORTED_TICKET_TYPES.contains(&f.ticket_type.as_str()) {
            return Err(invalid(
                format!("{key}.ticket_type"),
                format!("unsupported ticket type {}", f.ticket_type),
            ));
        }
        if out.iter().any(|o| o.ticket_type == f.ticket_type) {
            return Err(invalid(
                format!("{key}.ticket_type"),
                "one evidence_profile per ticket type",
            ));
        }
        let individual =
            [TYPE_SELF_ACCESS, TYPE_DELEGATED_ACCESS].contains(&f.ticket_type.as_str());
        let mut profile = EvidenceProfileConfig {
            ticket_type: f.ticket_type.clone(),
            ..EvidenceProfileConfig::default()
        };
        for (j, slot) in f.require.iter().enumerate() {
            match slot.as_str() {
                // Organizations carry no identity evidence (ticket-types: n/a for B2B).
                "subject" if individual => profile.require_subject = true,
                "requester" if f.ticket_type == TYPE_DELEGATED_ACCESS => {
                    profile.require_requester = true;
                }
                "subject" | "requester" => {
                    return Err(invalid(
                        format!("{key}.require[{j}]"),
                        format!("{slot} evidence does not apply to {}", f.ticket_type),
                    ));
                }
                other => {
                    return Err(invalid(
                        format!("{key}.require[{j}]"),
                        format!("unknown evidence slot {other} (subject or requester)"),
                    ));
                }
            }
        }
        for (j, iss) in f.issuers.iter().enumerate() {
            if !idps.iter().any(|p| p.iss == *iss) {
                return Err(invalid(
                    format!("{key}.issuers[{j}]"),
                    format!("{iss} is not a configured [[identity_provider]]"),
                ));
            }
        }
        for (name, list) in [
            ("acr_values", &f.acr_values),
            ("required_claims", &f.required_claims),
        ] {
            if let Some(j) = list.iter().position(String::is_empty) {
                return Err(invalid(format!("{key}.{name}[{j}]"), "empty"));
            }
        }
        if let Some(age) = f.max_age_seconds
            && !(0..=MAX_EVIDENCE_AGE).contains(&age)
        {
            return Err(invalid(
                format!("{key}.max_age_seconds"),
                format!("must be between 0 and {MAX_EVIDENCE_AGE}"),
            ));
        }
        profile.issuers = f.issuers;
        profile.acr_values = f.acr_values;
        profile.required_claims = f.required_claims;
        profile.max_age = f.max_age_seconds;
        out.push(profile);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigError};

    fn parse(extra: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("k.json"), r#"{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#).unwrap();
        let text = format!(
            "listen = \"127.0.0.1:0\"\nbase_url = \"https://dh.example/fhir\"\nstore = \"sqlite::memory:\"\n{extra}"
        );
        Config::from_toml(&text, dir.path())
    }

    fn problem(extra: &str) -> String {
        match parse(extra) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("accepted: {extra}"),
        }
    }

    const SELF: &str = "https://smarthealthit.org/permission-ticket-type/patient-self-access-v1";
    const QG: &str = "https://smarthealthit.org/permission-ticket-type/payer-quality-gap-v1";
    const IDP: &str =
        "[[identity_provider]]\niss = \"https://idp.example/\"\noidc_discovery = true\n";

    #[test]
    fn discovery_and_profiles_validate() {
        let c = parse(&format!(
            "{IDP}[[evidence_profile]]\nticket_type = \"{SELF}\"\nrequire = [\"subject\"]\nissuers = [\"https://idp.example/\"]\nacr_values = [\"ial2\"]\nrequired_claims = [\"birthdate\"]\nmax_age_seconds = 600\n"
        ))
        .unwrap();
        let super::IdpKeysConfig::OidcDiscovery(u) = &c.identity_providers[0].keys else {
            panic!("discovery")
        };
        assert_eq!(
            u.as_str(),
            "https://idp.example/.well-known/openid-configuration"
        );
        let p = &c.evidence_profiles[0];
        assert!(p.require_subject && !p.require_requester);
        assert_eq!(p.max_age, Some(600));
    }

    #[test]
    fn mistakes_name_the_key() {
        let both = problem(
            "[[identity_provider]]\niss = \"https://idp.example\"\noidc_discovery = true\njwks_file = \"k.json\"\n",
        );
        assert!(
            both.contains("identity_provider[0].oidc_discovery"),
            "{both}"
        );
        let bad_iss = problem("[[identity_provider]]\niss = \"idp\"\noidc_discovery = true\n");
        assert!(bad_iss.contains("identity_provider[0].iss"), "{bad_iss}");
        let cases = [
            (
                "[[evidence_profile]]\nticket_type = \"https://x.example\"\n".to_string(),
                "evidence_profile[0].ticket_type",
            ),
            (
                format!("[[evidence_profile]]\nticket_type = \"{QG}\"\nrequire = [\"subject\"]\n"),
                "evidence_profile[0].require[0]",
            ),
            (
                format!(
                    "[[evidence_profile]]\nticket_type = \"{SELF}\"\nrequire = [\"requester\"]\n"
                ),
                "evidence_profile[0].require[0]",
            ),
            (
                format!(
                    "[[evidence_profile]]\nticket_type = \"{SELF}\"\nrequire = [\"patient\"]\n"
                ),
                "evidence_profile[0].require[0]",
            ),
            (
                format!(
                    "[[evidence_profile]]\nticket_type = \"{SELF}\"\nissuers = [\"https://nobody.example\"]\n"
                ),
                "evidence_profile[0].issuers[0]",
            ),
            (
                format!("[[evidence_profile]]\nticket_type = \"{SELF}\"\nmax_age_seconds = -1\n"),
                "evidence_profile[0].max_age_seconds",
            ),
            (
                format!(
                    "[[evidence_profile]]\nticket_type = \"{SELF}\"\nrequired_claims = [\"\"]\n"
                ),
                "evidence_profile[0].required_claims[0]",
            ),
            (
                format!(
                    "[[evidence_profile]]\nticket_type = \"{SELF}\"\n[[evidence_profile]]\nticket_type = \"{SELF}\"\n"
                ),
                "evidence_profile[1].ticket_type",
            ),
        ];
        for (text, key) in cases {
            let p = problem(&text);
            assert!(p.contains(key), "{key}: {p}");
        }
    }
}
