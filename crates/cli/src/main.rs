//! The `tessera` binary: a thin clap front end over the library crates.
//!
//! Each subcommand lives in its own `cmd_*.rs` module and calls library functions; no domain
//! logic here. To add a command (`serve`, `issuer`, `redeem`, `fetch`, `synth`, `demo`,
//! `audit`, ...): add a variant to [`Command`], a `cmd_<name>.rs` module with a clap `Args`
//! struct and `pub fn run(args, clock) -> anyhow::Result<()>`, and one match arm in `main`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod clock;
mod cmd_audit;
mod cmd_bench;
mod cmd_conformance;
mod cmd_demo;
mod cmd_federation;
mod cmd_fetch;
mod cmd_ingest;
mod cmd_issuer;
mod cmd_keys;
mod cmd_link;
mod cmd_redeem;
mod cmd_register;
mod cmd_serve;
mod cmd_synth;
mod cmd_ticket;
mod cmd_udap;
mod errors;
mod out;
mod server;

/// The `--help` banner (given whole: clap would drop a doc comment's final period).
const ABOUT: &str = "Tessera implements SMART Permission Tickets: an issuer signs a portable grant \
                     to one patient's FHIR data, and a Data Holder redeems it for an access token \
                     that releases exactly what the ticket allows. This binary runs the issuer \
                     and the Data Holder, and is their client.";

/// Tessera implements SMART Permission Tickets: an issuer signs a portable grant to one
/// patient's FHIR data, and a Data Holder redeems it for an access token that releases exactly
/// what the ticket allows. This binary runs the issuer and the Data Holder, and is their client.
#[derive(Debug, Parser)]
// `term_width = 0`: help keeps its source line breaks whatever the terminal (a benchmark
// dependency turns on clap's `wrap_help`, which would otherwise wrap at the terminal width).
#[command(name = "tessera", version, about = ABOUT, term_width = 0)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect, verify or mint Permission Tickets.
    #[command(subcommand)]
    Ticket(cmd_ticket::TicketCommand),
    /// Generate a private JWK (kid = RFC 7638 thumbprint).
    Keygen(cmd_keys::KeygenArgs),
    /// Print the public JWK Set of one or more (public or private) JWKs.
    Jwks(cmd_keys::JwksArgs),
    /// Generate deterministic synthetic FHIR R4 data (bundles or NDJSON) and a manifest.
    Synth(cmd_synth::SynthArgs),
    /// Run the Data Holder (token endpoint, FHIR API, discovery, audit).
    Serve(cmd_serve::ServeArgs),
    /// Load FHIR Bundles and resources into a Data Holder's store (SQLite or PostgreSQL).
    Ingest(cmd_ingest::IngestArgs),
    /// Query the Data Holder's redemption audit trail.
    Audit(cmd_audit::AuditArgs),
    /// Person linkage across sites (a minimal MPI): add, remove, show links and conflicts.
    #[command(subcommand)]
    Link(cmd_link::LinkCommand),
    /// Run the ticket issuer, or mint, show and revoke tickets as its operator.
    #[command(subcommand)]
    Issuer(cmd_issuer::IssuerCommand),
    /// Redeem a ticket at a token endpoint (RFC 8693 token exchange); prints the token response.
    Redeem(cmd_redeem::RedeemArgs),
    /// Register this client at a Data Holder (RFC 7591 with a JWK, or UDAP DCR).
    Register(cmd_register::RegisterArgs),
    /// Read FHIR with an access token (Bearer or DPoP); `--all` follows paging links.
    Fetch(cmd_fetch::FetchArgs),
    /// UDAP helpers: inspect a certificate chain against anchors, build a software statement.
    #[command(subcommand)]
    Udap(cmd_udap::UdapCommand),
    /// OpenID Federation helpers: resolve an entity's trust chain to an anchor.
    #[command(subcommand)]
    Federation(cmd_federation::FederationCommand),
    /// Run every ticket type end to end: issuer + Data Holder on loopback, built-in data.
    Demo(cmd_demo::DemoArgs),
    /// Test any Permission Tickets Data Holder black-box over HTTP (`init` writes a kit.toml).
    Conformance(cmd_conformance::ConformanceArgs),
    /// Load-test our Data Holder on loopback: throughput, latency, server CPU.
    Bench(cmd_bench::BenchArgs),
    // Other engineers add their commands here (serve, issuer, redeem, fetch, synth, demo, audit).
}

/// A protocol-level failure the command reports as `<error>: <description>` on one line
/// (e.g. `invalid_grant: Ticket expired`), exit status 1.
#[derive(Debug)]
pub struct OAuthFailure {
    /// OAuth `error` code.
    pub code: &'static str,
    /// `error_description`.
    pub description: String,
}

impl std::fmt::Display for OAuthFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl std::error::Error for OAuthFailure {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let clock = clock::SystemClock;
    let result = match cli.command {
        Command::Ticket(cmd) => cmd_ticket::run(cmd, &clock),
        Command::Keygen(args) => cmd_keys::keygen(args),
        Command::Jwks(args) => cmd_keys::jwks(args),
        Command::Synth(args) => cmd_synth::run(args),
        Command::Serve(args) => cmd_serve::run(args),
        Command::Ingest(args) => cmd_ingest::run(args, &clock),
        Command::Audit(args) => cmd_audit::run(args),
        Command::Link(cmd) => cmd_link::run(cmd, &clock),
        Command::Issuer(cmd) => cmd_issuer::run(cmd, &clock),
        Command::Redeem(args) => cmd_redeem::run(args),
        Command::Register(args) => cmd_register::run(args),
        Command::Fetch(args) => cmd_fetch::run(args),
        Command::Demo(args) => cmd_demo::run(args, &clock),
        Command::Bench(args) => cmd_bench::run(args),
        Command::Udap(cmd) => cmd_udap::run(cmd, &clock),
        Command::Federation(cmd) => cmd_federation::run(cmd),
        Command::Conformance(args) => cmd_conformance::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            match err.downcast_ref::<OAuthFailure>() {
                Some(f) => eprintln!("{f}"),
                None => eprintln!("error: {}", errors::render(&err)),
            }
            ExitCode::FAILURE
        }
    }
}
