//! Starting the demo world on loopback: the network ticket issuer on its own port, and the Data
//! Holder (FHIR base `/fhir`) together with its own self-issuing issuer (`/issuer`) on a second
//! port — real HTTP, ephemeral ports, an SQLite store in the run directory.
//!
//! The Data Holder is configured through the same TOML file an operator writes
//! (`holder.toml`, kept in the run directory), so the demo exercises the real configuration
//! contract; the issuers are configured through their library `Config`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tessera_holder::HolderState;
use tessera_issuer::lifetimes::Lifetimes;
use tessera_issuer::{Issuer, KeyRing, MintingClient};
use tessera_jose::{JwkSet, PrivateJwk};
use tessera_store::{IngestOptions, IngestReport, ResourceStore, SiteMode, ingest_value};
use tessera_ticket::TicketType;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::cast::Cast;
use crate::clock::{HolderClock, Now, client_clock, issuer_clock};
use crate::error::DemoError;
use crate::federation::FederationHost;
use crate::keys::{self, BILLING_MINTER, DemoKeys, NETWORK_MINTER};
use crate::udap::UdapWorld;

/// The trust framework both the Data Holder and the network's clients belong to.
pub const FRAMEWORK: &str = "https://network.tessera.example";
/// The demo identity provider (`iss` of the ID tokens used as identity evidence).
pub const IDP_ISS: &str = "https://id.tessera.example";
/// The network issuer's OIDC client id at the identity provider (ID token `aud`).
pub const IDP_CLIENT_OF_ISSUER: &str = "network-issuer";
/// The assurance level the identity provider asserts and the Data Holder requires.
pub const IAL2: &str = "https://id.tessera.example/assurance/ial2";
/// Framework entity of the payer's quality program.
pub const QUALITY_ENTITY: &str = "https://payer.tessera.example/organizations/quality";
/// Framework entity of the public health agency's epidemiology unit.
pub const PHA_ENTITY: &str = "https://health.state.tessera.example/organizations/epi-unit";
/// NPI identifier system.
pub const NPI_SYSTEM: &str = "http://hl7.org/fhir/sid/us-npi";

/// The running demo world.
pub struct DemoEnv {
    /// The run directory (keys, configuration, databases, tickets).
    pub dir: PathBuf,
    /// Every key.
    pub keys: DemoKeys,
    /// Who and what the scenarios are about.
    pub cast: Cast,
    /// The network issuer (`iss` = [`DemoEnv::network_iss`]).
    pub network: Arc<Issuer>,
    /// The network issuer's identifier and base URL.
    pub network_iss: String,
    /// The Data Holder's own issuer (payer claims).
    pub holder_issuer: Arc<Issuer>,
    /// Its identifier.
    pub holder_iss: String,
    /// The Data Holder (its store and token tables are what the demo explains from).
    pub holder: HolderState,
    /// The Data Holder's FHIR base.
    pub base_url: String,
    /// What the Data Holder ingested.
    pub ingest: IngestReport,
    /// The admin bearer secret of the audit endpoint.
    pub admin_token: String,
    /// The client library.
    pub client: tessera_client::Client,
    /// Plain HTTP for the issuers' minting API.
    pub http: reqwest::Client,
    /// The caller's clock.
    pub now: Now,
    /// The loopback OpenID Federation and well-known client host.
    pub federation: FederationHost,
    /// The UDAP community and the payer registered in it.
    pub udap: UdapWorld,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for DemoEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoEnv")
            .field("dir", &self.dir)
            .field("network_iss", &self.network_iss)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl DemoEnv {
    /// Generates keys, writes configuration, loads the data and starts both servers.
    pub async fn start(dir: &Path, cast: Cast, now: Now) -> Result<DemoEnv, DemoError> {
        let keys = DemoKeys::generate(dir)?;
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let bind = |what: &'static str| {
            move |e: std::io::Error| DemoError::Io(std::io::Error::other(format!("{what}: {e}")))
        };
        let issuer_listener = TcpListener::bind(loopback)
            .await
            .map_err(bind("bind issuer"))?;
        let holder_listener = TcpListener::bind(loopback)
            .await
            .map_err(bind("bind holder"))?;
        let issuer_addr = issuer_listener.local_addr()?;
        let holder_addr = holder_listener.local_addr()?;
        let network_iss = format!("http://{issuer_addr}");
        let holder_iss = format!("http://{holder_addr}/issuer");
        let base_url = format!("http://{holder_addr}/fhir");
        let mut udap = UdapWorld::generate(dir, &base_url, now())?;

        // The loopback federation and well-known host (crates/demo/src/federation.rs); the
        // network issuer may also mint for the federation's audience (PT-AUD-05).
        let federation = FederationHost::start(now()).await?;
        // One admin secret for the run: the Data Holder's audit endpoint and the operator
        // workbenches of the Data Holder and both issuers.
        let admin_token = uuid::Uuid::new_v4().simple().to_string();
        let common = IssuerCommon {
            keys: &keys,
            federation_anchor: &federation.anchor.id,
            admin_token: &admin_token,
        };
        let network = open_issuer(
            &network_iss,
            &dir.join("network-issuer.db"),
            &keys.network_issuer,
            NETWORK_MINTER,
            TicketType::ALL
                .into_iter()
                .filter(|t| *t != TicketType::PayerClaims)
                .collect(),
            &common,
        )?;
        let holder_issuer = open_issuer(
            &holder_iss,
            &dir.join("holder-issuer.db"),
            &keys.holder_issuer,
            BILLING_MINTER,
            vec![TicketType::PayerClaims],
            &common,
        )?;

        let mut toml = holder_toml(&HolderToml {
            listen: holder_addr,
            base_url: &base_url,
            store: &dir.join("holder.db"),
            admin_token: &admin_token,
            cast: &cast,
            network_iss: &network_iss,
            holder_iss: &holder_iss,
            keys: &keys,
        });
        let anchor_jwks = dir.join("federation-anchor.jwks.json");
        std::fs::write(&anchor_jwks, federation.anchor_jwks().to_string())?;
        toml.push_str(&federation.holder_toml(&anchor_jwks.display().to_string()));
        toml.push_str(&udap.holder_toml());
        let config_path = dir.join("holder.toml");
        std::fs::write(&config_path, toml)?;
        let config = tessera_holder::config::Config::load(&config_path)
            .map_err(|e| DemoError::Holder(e.to_string()))?;
        let (store, db) = tessera_holder::serve::open_stores(&config)
            .map_err(|e| DemoError::Holder(e.to_string()))?;
        let ingest = {
            let store = store.clone();
            let bundles = cast.bundles.clone();
            let at = now();
            tokio::task::spawn_blocking(move || load(store.as_ref(), bundles, at))
                .await
                .map_err(|e| DemoError::Holder(format!("ingest task: {e}")))??
        };
        let holder = HolderState::new(config, Arc::new(HolderClock(now.clone())), store, db)
            .map_err(DemoError::Holder)?;
        let holder_router = tessera_holder::app(holder.clone()).map_err(DemoError::Holder)?;
        let self_issuer_router = tessera_issuer::app(tessera_issuer::AppState {
            issuer: holder_issuer.clone(),
            clock: issuer_clock(&now),
        });
        let network_router = tessera_issuer::app(tessera_issuer::AppState {
            issuer: network.clone(),
            clock: issuer_clock(&now),
        });

        let (shutdown, rx) = watch::channel(false);
        let tasks = vec![
            spawn_server(issuer_listener, network_router, rx.clone()),
            spawn_server(holder_listener, holder_router.merge(self_issuer_router), rx),
        ];
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| DemoError::Issuer(format!("HTTP client: {e}")))?;
        let client = tessera_client::Client::new(client_clock(&now))?;
        udap.register(&client, &base_url, now()).await?;
        Ok(DemoEnv {
            dir: dir.to_owned(),
            client,
            udap,
            keys,
            cast,
            network,
            network_iss,
            holder_issuer,
            holder_iss,
            holder,
            base_url,
            ingest,
            admin_token,
            http,
            now,
            federation,
            shutdown,
            tasks,
        })
    }

    /// The token endpoint.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.base_url)
    }

    /// Stops both servers and waits for them.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        self.federation.stop().await;
    }
}

pub(crate) fn spawn_server(
    listener: TcpListener,
    router: axum::Router,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "demo server stopped");
        }
    })
}

/// What both demo issuers are opened with.
struct IssuerCommon<'a> {
    keys: &'a DemoKeys,
    federation_anchor: &'a str,
    admin_token: &'a str,
}

fn open_issuer(
    iss: &str,
    database: &Path,
    key: &PrivateJwk,
    minter: &str,
    types: Vec<TicketType>,
    common: &IssuerCommon<'_>,
) -> Result<Arc<Issuer>, DemoError> {
    let &IssuerCommon {
        keys,
        federation_anchor,
        admin_token,
    } = common;
    let fail = |e: String| DemoError::Issuer(format!("{iss}: {e}"));
    let ring = KeyRing::single(key, Lifetimes::default().longest_max()).map_err(fail)?;
    let mut config = tessera_issuer::Config::new(iss, database.to_owned(), ring)
        .map_err(|e| fail(e.to_string()))?;
    // A revocation must show on the very next redemption (the revoked-ticket scenario), so
    // the demo's status lists are not cacheable. Production keeps the 60 s default.
    config.status_max_age = 0;
    // The network's framework audience (aud_type completed or checked, PT-AUD-08) and the
    // issuer's own OIDC client, to which the demo IdP's ID tokens are issued (PT-EVID-15).
    config.trust_frameworks = vec![FRAMEWORK.to_owned(), federation_anchor.to_owned()];
    config.evidence_client_ids = vec![IDP_CLIENT_OF_ISSUER.to_owned()];
    config.clients = vec![MintingClient {
        client_id: minter.to_owned(),
        jwks: JwkSet::new(vec![keys.client(minter)?.jwk().public().clone()]),
        ticket_types: types,
    }];
    config.admin_token = Some(tessera_issuer::config::Secret::new(admin_token));
    config.workbench = true;
    Issuer::open(config)
        .map(Arc::new)
        .map_err(|e| fail(e.to_string()))
}

/// Ingests the Data Holder's bundles, each as its site's (the `--load` layout of `tessera
/// serve`: one site per bundle file stem).
pub(crate) fn load(
    store: &dyn ResourceStore,
    bundles: Vec<(String, serde_json::Value)>,
    now: i64,
) -> Result<IngestReport, DemoError> {
    let opts = IngestOptions {
        now,
        sites: SiteMode::PerBundleFile,
    };
    let mut report = IngestReport::default();
    for (site, bundle) in bundles {
        ingest_value(store, bundle, Some(&site), &opts, &mut report)
            .map_err(|e| DemoError::Holder(format!("ingest {site}: {e}")))?;
    }
    if let Some(e) = report.errors.first() {
        return Err(DemoError::Holder(format!(
            "ingest skipped {} entries, first: {e}",
            report.errors.len()
        )));
    }
    Ok(report)
}

pub(crate) struct HolderToml<'a> {
    pub(crate) listen: SocketAddr,
    pub(crate) base_url: &'a str,
    pub(crate) store: &'a Path,
    pub(crate) admin_token: &'a str,
    pub(crate) cast: &'a Cast,
    pub(crate) network_iss: &'a str,
    pub(crate) holder_iss: &'a str,
    pub(crate) keys: &'a DemoKeys,
}

/// The Data Holder's configuration file. Values are written as TOML basic strings via
/// `toml_str` (JSON string escaping is valid TOML).
pub(crate) fn holder_toml(h: &HolderToml<'_>) -> String {
    use tessera_ticket::claims::{
        TYPE_DELEGATED_ACCESS, TYPE_PAYER_CLAIMS, TYPE_PUBLIC_HEALTH, TYPE_QUALITY_GAP,
        TYPE_SELF_ACCESS,
    };
    let s = |v: &str| toml_str(v);
    let path = |p: &Path| toml_str(&p.display().to_string());
    let orgs: Vec<String> = h
        .cast
        .sites
        .iter()
        .map(|site| format!("{{ system = {}, value = {} }}", s(NPI_SYSTEM), s(&site.npi)))
        .collect();
    let network_types = [
        TYPE_SELF_ACCESS,
        TYPE_DELEGATED_ACCESS,
        TYPE_QUALITY_GAP,
        TYPE_PUBLIC_HEALTH,
    ]
    .map(s)
    .join(", ");
    let names: Vec<&str> = h.cast.sites.iter().map(|x| x.name.as_str()).collect();
    let mut out = format!(
        "# Data Holder of the tessera demo: {names}.\n\
         listen = {listen}\n\
         base_url = {base}\n\
         store = {store}\n\
         trust_frameworks = [{framework}]\n\
         admin_token = {admin}\n\
         # The issuers' JWKS and status lists are served over http on loopback.\n\
         insecure_allow_loopback_http = true\n\n\
         # The operator's workbench at [base]/workbench (admin secret required).\n\
         [workbench]\nenabled = true\n\n\
         [holder]\n\
         organization = [{orgs}]\n\
         address = {{ country = \"US\", state = {state} }}\n\n\
         [[issuer]]\n\
         iss = {network}\n\
         jwks_uri = {network_jwks}\n\
         ticket_types = [{network_types}]\n\n\
         [[issuer]]\n\
         iss = {own}\n\
         jwks_file = {own_jwks}\n\
         ticket_types = [{payer}]\n\
         self_issued = true\n",
        names = names.join(", "),
        listen = s(&h.listen.to_string()),
        base = s(h.base_url),
        store = s(&format!("sqlite://{}", h.store.display())),
        framework = s(FRAMEWORK),
        admin = s(h.admin_token),
        orgs = orgs.join(", "),
        state = s(&h.cast.state),
        network = s(h.network_iss),
        network_jwks = s(&format!("{}/.well-known/jwks.json", h.network_iss)),
        own = s(h.holder_iss),
        own_jwks = path(&h.keys.public_file("holder-issuer")),
        payer = s(TYPE_PAYER_CLAIMS),
    );
    for id in keys::HOLDER_CLIENTS {
        out.push_str(&format!(
            "\n[[client]]\nclient_id = {}\njwks_file = {}\n",
            s(id),
            path(&h.keys.public_file(id))
        ));
        match id {
            keys::PAYER_CLAIMS => out.push_str(&format!(
                "acts_for = [{{ system = {}, value = {} }}]\n",
                s(NPI_SYSTEM),
                s(&h.cast.payer.npi)
            )),
            // The agency's identity is asserted by this configuration (audited as such); the
            // payer's quality program proves its own by UDAP (crate::udap).
            keys::PHA => out.push_str(&format!(
                "framework_identity = {{ trust_framework = {}, framework_type = \"udap\", entity_uri = {}, asserted = true }}\n",
                s(FRAMEWORK),
                s(PHA_ENTITY)
            )),
            _ => {}
        }
    }
    out.push_str(&format!(
        "\n[[identity_provider]]\niss = {}\njwks_file = {}\naudience_map = {{ {} = {} }}\nacr_values = [{}]\n",
        s(IDP_ISS),
        path(&h.keys.public_file("identity-provider")),
        s(IDP_CLIENT_OF_ISSUER),
        s(h.network_iss),
        s(IAL2),
    ));
    out
}

/// A TOML basic string.
fn toml_str(v: &str) -> String {
    serde_json::Value::String(v.to_owned()).to_string()
}
