//! `tessera redeem`: exchange a Permission Ticket for an access token at a Data Holder's token
//! endpoint (RFC 8693; private_key_jwt with a JWK, optional DPoP, or a UDAP client's x5c
//! assertion) and print the token response JSON.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use tessera_client::{Client, ClientAuth, ClientKey, Redemption, UdapCredentials, Url};

use crate::clock::SystemClock;

/// Arguments of `tessera redeem`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("endpoint").required(true).args(["token_endpoint", "fhir_base"])))]
#[command(group(clap::ArgGroup::new("credentials").required(true).args(["client_key", "udap_chain"])))]
pub struct RedeemArgs {
    /// The ticket (compact JWT) file; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    pub ticket: std::path::PathBuf,
    /// The token endpoint URL.
    #[arg(long, value_name = "URL")]
    pub token_endpoint: Option<Url>,
    /// A FHIR base URL: the token endpoint is discovered at
    /// `[base]/.well-known/smart-configuration`.
    #[arg(long, value_name = "URL")]
    pub fhir_base: Option<Url>,
    /// The client id (`iss` = `sub` of the client assertion): a registered id, or an OpenID
    /// Federation entity ID (with `--trust-chain`, or resolved by the Data Holder).
    #[arg(long, value_name = "ID", required_unless_present = "well_known")]
    pub client_id: Option<String>,
    /// Authenticate as the Proposal 006 client `well-known:{ENTITY_URI}` (keys at
    /// `{ENTITY_URI}/.well-known/jwks.json`).
    #[arg(long, value_name = "ENTITY_URI", conflicts_with = "client_id")]
    pub well_known: Option<String>,
    /// An OpenID Federation trust chain (JSON array, leaf first, as `tessera federation
    /// resolve --chain-out` writes) sent as the assertion's `trust_chain` header.
    #[arg(long, value_name = "FILE")]
    pub trust_chain: Option<std::path::PathBuf>,
    /// The client's private JWK file (ES256 or RS256); signs the assertion and DPoP proofs.
    #[arg(long, value_name = "JWK")]
    pub client_key: Option<std::path::PathBuf>,
    /// A UDAP client: its certificate chain (PEM, leaf first), sent in the assertion's `x5c`.
    #[arg(
        long,
        value_name = "PEM",
        requires = "udap_key",
        conflicts_with = "dpop"
    )]
    pub udap_chain: Option<std::path::PathBuf>,
    /// The UDAP certificate's PKCS#8 private key (PEM); signs the assertion.
    #[arg(long, value_name = "PEM", requires = "udap_chain")]
    pub udap_key: Option<std::path::PathBuf>,
    /// Requested scopes, space-separated (default: what the ticket allows).
    #[arg(long, value_name = "S")]
    pub scope: Option<String>,
    /// Send a DPoP proof signed with the client key (RFC 9449).
    #[arg(long)]
    pub dpop: bool,
}

impl tessera_client::Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemClock::now(self)
    }
}

/// Reads a file, or stdin for `-`.
pub fn read_input(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read stdin")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Loads a client key file.
pub fn load_key(path: &Path) -> anyhow::Result<ClientKey> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    ClientKey::from_json(&bytes).with_context(|| format!("key file {}", path.display()))
}

/// Loads UDAP credentials (a PEM chain and its PEM PKCS#8 key).
pub fn load_udap(chain: &Path, key: &Path) -> anyhow::Result<UdapCredentials> {
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("cannot read {}", p.display()));
    Ok(UdapCredentials::from_pem(&read(chain)?, &read(key)?)?)
}

/// A current-thread runtime: the client does one request at a time.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Runs the command.
pub fn run(args: RedeemArgs) -> anyhow::Result<()> {
    let ticket = read_input(&args.ticket)?;
    let key = args.client_key.as_deref().map(load_key).transpose()?;
    let udap = match (&args.udap_chain, &args.udap_key) {
        (Some(c), Some(k)) => Some(load_udap(c, k)?),
        _ => None,
    };
    let auth = match (&key, &udap) {
        (Some(k), _) => ClientAuth::Jwk(k),
        (None, Some(u)) => ClientAuth::Udap(u),
        (None, None) => anyhow::bail!("--client-key or --udap-chain/--udap-key is required"),
    };
    let client_id = match (&args.client_id, &args.well_known) {
        (_, Some(entity)) => tessera_client::federation::well_known_client_id(entity)?,
        (Some(id), None) => id.clone(),
        (None, None) => anyhow::bail!("--client-id or --well-known is required"),
    };
    let header = match &args.trust_chain {
        Some(p) => tessera_client::federation::trust_chain_header(
            &tessera_client::federation::parse_trust_chain(&read_input(p)?)?,
        ),
        None => serde_json::Map::new(),
    };
    let client = Client::new(Arc::new(SystemClock))?;
    let response = runtime()?.block_on(async {
        let endpoint = match (&args.token_endpoint, &args.fhir_base) {
            (Some(url), _) => url.clone(),
            (None, Some(base)) => client.discover_token_endpoint(base).await?,
            (None, None) => anyhow::bail!("--token-endpoint or --fhir-base is required"),
        };
        let redemption = Redemption {
            ticket: &ticket,
            client_id: &client_id,
            auth,
            scope: args.scope.as_deref(),
            dpop: args.dpop,
        };
        Ok(client
            .redeem_with_assertion_header(&endpoint, &redemption, &header)
            .await?)
    })?;
    crate::out::line(serde_json::to_string_pretty(&serde_json::Value::Object(
        response.raw,
    ))?)?;
    Ok(())
}
