//! A Data Holder started elsewhere (`tessera bench --url URL --target FILE`): the description
//! says how it is configured (its base URL as the server knows it, an issuer it trusts with that
//! issuer's private key, a registered client with its key, the patients to name) so the run
//! pre-mints distinct tickets and pre-signs assertions exactly as for our own server. Loopback
//! only: the bench measures a server on this machine and never sends load anywhere else.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use tessera_jose::PrivateJwk;

use crate::BenchError;
use crate::fixture::{Fixture, SCOPES, SELF_ACCESS, Subject};

/// The description file, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    /// The FHIR base as the Data Holder is configured (ticket and assertion `aud`, DPoP
    /// `htu`); default: the `--url`.
    #[serde(default)]
    base_url: Option<String>,
    /// `iss` of an issuer the Data Holder trusts for `ticket_type`.
    issuer: String,
    /// That issuer's private JWK (a file, relative to the description).
    issuer_key: String,
    /// A client registered at the Data Holder (`private_key_jwt`).
    client_id: String,
    /// Its private JWK (a file, relative to the description).
    client_key: String,
    /// Default: patient self access.
    #[serde(default)]
    ticket_type: Option<String>,
    /// Default: `patient/Patient.rs patient/Observation.rs patient/Condition.rs`.
    #[serde(default)]
    scopes: Option<Vec<String>>,
    /// The server's process id, for its CPU time and RSS from `/proc` (optional).
    #[serde(default)]
    server_pid: Option<u32>,
    /// The patients tickets name, in turn.
    subject: Vec<FileSubject>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSubject {
    /// The Patient id at the Data Holder (reads go to `Patient/{id}`).
    id: String,
    /// `subject.patient` of the tickets (demographics and identifiers that match it alone).
    patient: Value,
}

/// A loaded description.
#[derive(Debug)]
pub struct Target {
    /// Where requests go (`--url`, loopback).
    pub url: String,
    /// The keys and subjects, as for our own server.
    pub fixture: Fixture,
    /// The server process, if given.
    pub server_pid: Option<u32>,
}

/// `url` is an `http(s)://` URL of this machine (127.0.0.1, ::1 or localhost).
pub fn check_loopback(url: &str) -> Result<String, BenchError> {
    let parsed = url::Url::parse(url).map_err(|e| BenchError(format!("--url {url:?}: {e}")))?;
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    if !matches!(parsed.scheme(), "http" | "https") || !loopback {
        return Err(BenchError(format!(
            "--url {url:?} is not an http(s) URL on this machine (127.0.0.1, ::1 or localhost): \
             tessera bench sends load only to a local server"
        )));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(BenchError(format!(
            "--url {url:?}: give the FHIR base, without query or fragment"
        )));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

impl Target {
    /// Reads the description at `path` for the Data Holder at `url`.
    pub fn load(url: &str, path: &Path) -> Result<Target, BenchError> {
        let url = check_loopback(url)?;
        let text = std::fs::read_to_string(path)
            .map_err(|e| BenchError(format!("target description {}: {e}", path.display())))?;
        let file: TargetFile = toml::from_str(&text)
            .map_err(|e| BenchError(format!("target description {}: {e}", path.display())))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let key = |field: &str, rel: &str| {
            let p = dir.join(rel);
            let bytes = std::fs::read(&p)
                .map_err(|e| BenchError(format!("{field} {}: {e}", p.display())))?;
            PrivateJwk::from_json(&bytes)
                .map_err(|e| BenchError(format!("{field} {}: not a private JWK: {e}", p.display())))
        };
        if file.subject.is_empty() {
            return Err(BenchError(
                "the target description names no [[subject]]: tickets need a patient".into(),
            ));
        }
        let ticket_type = file.ticket_type.unwrap_or_else(|| SELF_ACCESS.to_owned());
        if tessera_ticket::TicketType::from_uri(&ticket_type).is_none() {
            return Err(BenchError(format!(
                "ticket_type {ticket_type:?} is not a ticket type"
            )));
        }
        let patients = file.subject.len() as u64;
        let fixture = Fixture {
            patients,
            issuer: key("issuer_key", &file.issuer_key)?,
            client: key("client_key", &file.client_key)?,
            config_path: None,
            warm_config_path: None,
            subjects: file
                .subject
                .into_iter()
                .map(|s| Subject {
                    id: s.id,
                    patient: s.patient,
                })
                .collect(),
            base: file
                .base_url
                .map(|b| b.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| url.clone()),
            issuer_id: file.issuer,
            client_id: file.client_id,
            ticket_type,
            scopes: file
                .scopes
                .unwrap_or_else(|| SCOPES.map(str::to_owned).to_vec()),
        };
        Ok(Target {
            url,
            fixture,
            server_pid: file.server_pid,
        })
    }
}
