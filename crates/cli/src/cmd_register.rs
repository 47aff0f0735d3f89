//! `tessera register`: register this client at a Data Holder: RFC 7591 with a JWK (`--client-key`,
//! its public part is registered) or UDAP DCR (`--udap-chain` + `--udap-key` + `--iss`, or a
//! prebuilt `--software-statement`). Prints the registration response JSON (it holds the
//! RFC 7592 registration access token, shown once).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tessera_client::{
    Client, StatementRequest, TOKEN_EXCHANGE_GRANT, Url, jwks_registration, udap_registration,
};

use crate::clock::SystemClock;
use crate::cmd_redeem::{load_key, load_udap, read_input, runtime};

/// Arguments of `tessera register`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("endpoint").required(true).args(["registration_endpoint", "fhir_base"])))]
#[command(group(clap::ArgGroup::new("credentials").required(true).args(["client_key", "udap_chain", "software_statement"])))]
pub struct RegisterArgs {
    /// The registration endpoint URL.
    #[arg(long, value_name = "URL")]
    pub registration_endpoint: Option<Url>,
    /// A FHIR base URL: the endpoint is discovered (`registration_endpoint` of
    /// `[base]/.well-known/smart-configuration`).
    #[arg(long, value_name = "URL")]
    pub fhir_base: Option<Url>,
    /// RFC 7591: the client's private JWK file; its public key is registered.
    #[arg(long, value_name = "JWK")]
    pub client_key: Option<PathBuf>,
    /// UDAP: the client certificate chain (PEM, leaf first).
    #[arg(long, value_name = "PEM", requires_all = ["udap_key", "iss"])]
    pub udap_chain: Option<PathBuf>,
    /// UDAP: the certificate's PKCS#8 private key (PEM).
    #[arg(long, value_name = "PEM", requires = "udap_chain")]
    pub udap_key: Option<PathBuf>,
    /// UDAP: the software statement `iss` (a URI SAN of the certificate).
    #[arg(long, value_name = "URI", requires = "udap_chain")]
    pub iss: Option<String>,
    /// UDAP: a software statement built beforehand (`tessera udap statement`); `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    pub software_statement: Option<PathBuf>,
    /// `client_name`.
    #[arg(long, default_value = "Tessera client")]
    pub client_name: String,
    /// `scope` to register (a ceiling; space-separated SMART scopes).
    #[arg(long, value_name = "S")]
    pub scope: Option<String>,
    /// UDAP: cancel the registration of `--iss` (a statement with empty `grant_types`).
    #[arg(long, requires = "udap_chain")]
    pub cancel: bool,
    /// The initial access token the Data Holder's registration policy requires.
    #[arg(long, value_name = "TOKEN", env = "TESSERA_INITIAL_ACCESS_TOKEN")]
    pub initial_access_token: Option<String>,
}

/// Runs the command.
pub fn run(args: RegisterArgs) -> anyhow::Result<()> {
    let client = Client::new(Arc::new(SystemClock))?;
    let registration = runtime()?.block_on(async {
        let endpoint = match (&args.registration_endpoint, &args.fhir_base) {
            (Some(u), _) => u.clone(),
            (None, Some(base)) => client.discover_registration_endpoint(base).await?,
            (None, None) => anyhow::bail!("--registration-endpoint or --fhir-base is required"),
        };
        let body = request(&args, &endpoint)?;
        Ok(client
            .register(&endpoint, &body, args.initial_access_token.as_deref())
            .await?)
    })?;
    crate::out::line(serde_json::to_string_pretty(&serde_json::Value::Object(
        registration.raw,
    ))?)?;
    Ok(())
}

fn request(args: &RegisterArgs, endpoint: &Url) -> anyhow::Result<serde_json::Value> {
    if let Some(path) = &args.client_key {
        let key = load_key(path)?;
        return Ok(jwks_registration(
            &key,
            &args.client_name,
            args.scope.as_deref(),
        ));
    }
    if let Some(path) = &args.software_statement {
        return Ok(udap_registration(read_input(path)?.trim()));
    }
    let (Some(chain), Some(key), Some(iss)) = (&args.udap_chain, &args.udap_key, &args.iss) else {
        anyhow::bail!("--udap-chain needs --udap-key and --iss");
    };
    let creds = load_udap(chain, key)?;
    let grant_types = if args.cancel {
        Vec::new()
    } else {
        vec![TOKEN_EXCHANGE_GRANT.to_owned()]
    };
    let statement = creds
        .software_statement(
            &StatementRequest {
                iss,
                registration_endpoint: endpoint.as_str(),
                client_name: &args.client_name,
                scope: args.scope.as_deref(),
                grant_types: &grant_types,
            },
            SystemClock.now(),
            &uuid::Uuid::new_v4().to_string(),
        )
        .context("building the software statement")?;
    Ok(udap_registration(&statement))
}
