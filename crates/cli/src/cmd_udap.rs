//! `tessera udap`: operator helpers for UDAP communities. `inspect` validates a certificate
//! chain against PEM anchors (and CRL files) at the current time and prints what the Data
//! Holder would see; `statement` builds a software statement (for testing a registration
//! endpoint) signed with a certificate's key, `x5c` = the chain.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use tessera_client::{StatementRequest, UdapCredentials};
use tessera_udap::{Anchors, CrlSet, Purpose, inspect, parse_pem_certs, validate};

use crate::clock::SystemClock;

/// `tessera udap …`.
#[derive(Debug, Subcommand)]
pub enum UdapCommand {
    /// Validate a PEM certificate chain (leaf first) against PEM trust anchors.
    Inspect(InspectArgs),
    /// Build and sign a UDAP software statement (prints the JWT).
    Statement(StatementArgs),
}

/// `tessera udap inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The chain (PEM, leaf first).
    #[arg(long)]
    chain: PathBuf,
    /// Trust anchors (PEM).
    #[arg(long)]
    anchors: PathBuf,
    /// CRL files (DER or PEM).
    #[arg(long)]
    crl: Vec<PathBuf>,
    /// Validate as a server/issuer certificate instead of a client certificate.
    #[arg(long)]
    server: bool,
}

/// `tessera udap statement`.
#[derive(Debug, Args)]
pub struct StatementArgs {
    /// The client certificate chain (PEM, leaf first).
    #[arg(long)]
    chain: PathBuf,
    /// Its PKCS#8 private key (PEM).
    #[arg(long)]
    key: PathBuf,
    /// `iss` = `sub`: a URI SAN of the certificate.
    #[arg(long)]
    iss: String,
    /// `aud`: the registration endpoint URL.
    #[arg(long)]
    aud: String,
    /// `client_name`.
    #[arg(long, default_value = "Tessera test client")]
    client_name: String,
    /// `scope`.
    #[arg(long)]
    scope: Option<String>,
    /// Grant types (repeat; none = cancel the registration).
    #[arg(long = "grant-type")]
    grant_types: Vec<String>,
}

fn read(p: &PathBuf) -> anyhow::Result<Vec<u8>> {
    std::fs::read(p).with_context(|| format!("reading {}", p.display()))
}

/// Runs a `udap` subcommand.
pub fn run(cmd: UdapCommand, clock: &SystemClock) -> anyhow::Result<()> {
    match cmd {
        UdapCommand::Inspect(a) => {
            let chain = parse_pem_certs(&read(&a.chain)?)?;
            let anchors = Anchors::from_pem(&read(&a.anchors)?)?;
            let mut crls = CrlSet::new();
            for c in &a.crl {
                crls.add(&read(c)?)?;
            }
            let certs = chain
                .iter()
                .map(|d| inspect(d))
                .collect::<Result<Vec<_>, _>>()?;
            for (i, c) in certs.iter().enumerate() {
                crate::out::line(format!(
                    "[{i}] subject: {}\n    issuer: {}\n    serial: {}  valid: {} .. {}\n    uri SANs: {:?}\n    CRL distribution points: {:?}",
                    c.subject,
                    c.issuer,
                    c.serial,
                    c.not_before,
                    c.not_after,
                    c.uri_sans,
                    c.crl_distribution_points
                ))?;
            }
            let purpose = if a.server {
                Purpose::Server
            } else {
                Purpose::Client
            };
            let v = validate(&chain, &anchors, &crls, clock.now(), purpose)?;
            crate::out::line(format!(
                "valid: chains to {}; key thumbprint {}",
                v.anchor_subject,
                v.leaf_key.thumbprint()
            ))?;
            Ok(())
        }
        UdapCommand::Statement(a) => {
            let creds = UdapCredentials::from_pem(&read(&a.chain)?, &read(&a.key)?)?;
            let statement = creds.software_statement(
                &StatementRequest {
                    iss: &a.iss,
                    registration_endpoint: &a.aud,
                    client_name: &a.client_name,
                    scope: a.scope.as_deref(),
                    grant_types: &a.grant_types,
                },
                clock.now(),
                &uuid::Uuid::new_v4().to_string(),
            )?;
            crate::out::line(statement)?;
            Ok(())
        }
    }
}
