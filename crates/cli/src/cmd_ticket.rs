//! `tessera ticket inspect | verify | mint`.
//!
//! Failures of the ticket itself print `<error>: <description>` exactly as the token endpoint
//! would answer (`TicketError::oauth_error`), so scripts can compare them to the spec's table.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use tessera_jose::{JwkSet, PrivateJwk};
use tessera_ticket::{AccessOptions, TicketError, VerifyOptions};

use crate::OAuthFailure;
use crate::clock::SystemClock;

/// `tessera ticket ...`.
#[derive(Debug, Subcommand)]
pub enum TicketCommand {
    /// Print header and payload WITHOUT verifying anything (labelled `"unverified": true`).
    Inspect {
        /// Ticket file, or `-` for stdin.
        file: PathBuf,
    },
    /// Verify a ticket (signature, type, times, access constraints, type rules; not the
    /// audience) and print its verified claims.
    Verify(VerifyArgs),
    /// Check claims against the type's rules and print the signed ticket.
    Mint(MintArgs),
}

/// `tessera ticket verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Issuer keys: a JWK Set or a single JWK.
    #[arg(long)]
    jwks: PathBuf,
    /// Verify as of this unix time instead of now.
    #[arg(long)]
    at: Option<i64>,
    /// Translate legacy `access` shapes (`permissions`, ...) instead of rejecting them (OP-02).
    #[arg(long)]
    legacy_access_shapes: bool,
    /// Ticket file, or `-` for stdin.
    file: PathBuf,
}

/// `tessera ticket mint`.
#[derive(Debug, Args)]
pub struct MintArgs {
    /// Private JWK to sign with (its `kid` goes into the header).
    #[arg(long)]
    key: PathBuf,
    /// JSON object of claims; `iat` and `jti` are filled in when absent.
    #[arg(long)]
    claims: PathBuf,
}

/// Runs a `ticket` subcommand.
pub fn run(cmd: TicketCommand, clock: &SystemClock) -> anyhow::Result<()> {
    match cmd {
        TicketCommand::Inspect { file } => inspect(&file),
        TicketCommand::Verify(args) => verify(&args, clock),
        TicketCommand::Mint(args) => mint(&args, clock),
    }
}

fn failure(e: &TicketError) -> anyhow::Error {
    let (code, description) = e.oauth_error();
    OAuthFailure { code, description }.into()
}

/// Reads a token from a file or stdin, bounded (tickets are at most 64 KiB).
fn read_token(path: &Path) -> anyhow::Result<String> {
    let limit = tessera_jose::jws::DEFAULT_MAX_TOKEN_LEN as u64 + 1024;
    let mut text = String::new();
    if path == Path::new("-") {
        std::io::stdin().take(limit).read_to_string(&mut text)?;
    } else {
        std::fs::File::open(path)
            .with_context(|| format!("reading {}", path.display()))?
            .take(limit)
            .read_to_string(&mut text)?;
    }
    Ok(text.trim().to_owned())
}

fn inspect(file: &Path) -> anyhow::Result<()> {
    let parts =
        tessera_ticket::danger::decode_unverified(&read_token(file)?).map_err(|e| failure(&e))?;
    let out = json!({"unverified": true, "header": parts.header, "payload": parts.payload});
    crate::out::line(serde_json::to_string_pretty(&out)?)?;
    Ok(())
}

fn verify(args: &VerifyArgs, clock: &SystemClock) -> anyhow::Result<()> {
    let keys =
        std::fs::read(&args.jwks).with_context(|| format!("reading {}", args.jwks.display()))?;
    let keys = JwkSet::from_json_set_or_key(&keys)
        .with_context(|| format!("parsing {}", args.jwks.display()))?;
    let token = read_token(&args.file)?;
    let opts = VerifyOptions {
        access: AccessOptions {
            legacy_access_shapes: args.legacy_access_shapes,
            ..AccessOptions::default()
        },
        ..VerifyOptions::default()
    };
    let now = args.at.unwrap_or_else(|| clock.now());
    let verified = tessera_ticket::verify(&token, &keys, now, &opts).map_err(|e| failure(&e))?;
    crate::out::line(serde_json::to_string_pretty(verified.claims())?)?;
    Ok(())
}

fn mint(args: &MintArgs, clock: &SystemClock) -> anyhow::Result<()> {
    let key =
        std::fs::read(&args.key).with_context(|| format!("reading {}", args.key.display()))?;
    let key = PrivateJwk::from_json(&key)
        .with_context(|| format!("parsing private key {}", args.key.display()))?;
    let signer = key.signer().context("private key")?;
    let claims = std::fs::read(&args.claims)
        .with_context(|| format!("reading {}", args.claims.display()))?;
    let Value::Object(mut claims) = serde_json::from_slice(&claims)
        .with_context(|| format!("parsing {}", args.claims.display()))?
    else {
        anyhow::bail!("{}: claims must be a JSON object", args.claims.display());
    };
    claims
        .entry("iat")
        .or_insert_with(|| Value::from(clock.now()));
    claims
        .entry("jti")
        .or_insert_with(|| Value::from(uuid::Uuid::new_v4().to_string()));
    let token = tessera_ticket::mint_payload(&claims, &signer, &VerifyOptions::default())
        .map_err(|e| failure(&e))?;
    crate::out::line(&token)?;
    Ok(())
}
