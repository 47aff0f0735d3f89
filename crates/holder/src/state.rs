//! The Data Holder's shared state: validated configuration, trust material, stores, and the
//! [`Clock`]. Built once at start-up and cloned cheaply into handlers (no globals).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use tessera_access::{HolderProfile, LocalPolicy};
use tessera_store::ResourceStore;
use tessera_store::durable::TokenStore;
use tessera_store::group_commit::GroupCommit;
use tessera_ticket::{ExpectedAudience, TicketType};

use crate::config::Config;
use crate::evidence::IdentityProviders;
use crate::federation::OidfFrameworks;
use crate::federation::well_known::WellKnownFrameworks;
use crate::ops::metrics::Metrics;
use crate::subject::LocalRecords;
use crate::subject::store_records::StoreRecords;
use crate::token::access_token::TokenCache;
use crate::token::client_auth::{ClientAuthenticator, RegisteredClients};
use crate::token::launch::LaunchRegistry;
use crate::trust::fetch::Fetcher;
use crate::trust::issuers::IssuerRegistry;
use crate::trust::keys::KeyResolver;
use crate::trust::membership::Memberships;
use crate::trust::revocation::RevocationChecker;
use crate::udap::Communities;
use crate::udap::client_auth::{Authenticators, UdapClients};
use tessera_store::registrations::RegistrationStore;

/// Source of the current time in unix seconds. The binary passes the system clock; tests a
/// [`FixedClock`].
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, unix seconds.
    fn now(&self) -> i64;
}

/// A settable clock for tests and replays.
#[derive(Debug, Default)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    /// A clock reading `t`.
    pub fn new(t: i64) -> FixedClock {
        FixedClock(AtomicI64::new(t))
    }
    /// Sets the time.
    pub fn set(&self, t: i64) {
        self.0.store(t, Ordering::SeqCst);
    }
    /// Moves the time forward.
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Everything the handlers share.
#[derive(Clone)]
pub struct HolderState {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for HolderState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HolderState")
            .field("base_url", &self.inner.config.base_url)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub config: Config,
    pub clock: Arc<dyn Clock>,
    pub issuers: IssuerRegistry,
    pub keys: Arc<KeyResolver>,
    pub revocation: RevocationChecker,
    pub clients: Arc<dyn ClientAuthenticator>,
    pub udap: Arc<Communities>,
    pub registrations: Arc<dyn RegistrationStore>,
    pub idps: IdentityProviders,
    pub records: Arc<dyn LocalRecords>,
    pub store: Arc<dyn ResourceStore>,
    pub db: Arc<dyn TokenStore>,
    /// The one writer every durable token-endpoint effect goes through (group commit).
    pub writer: GroupCommit,
    pub supported_types: Vec<TicketType>,
    pub policy: LocalPolicy,
    pub memberships: Memberships,
    pub tokens: TokenCache,
    pub launches: LaunchRegistry,
    pub network: crate::network::Network,
    /// The network base as a Data Holder: its inputs are fixed at start, so it is built once
    /// instead of per redemption (a profile clone and a merge of every site's identity).
    pub network_holder: crate::network::DataHolder,
    /// This node's metrics (served at `[metrics] listen`).
    pub metrics: Arc<Metrics>,
    /// The start-up cache warm-up has run (`/readyz`).
    pub warm: AtomicBool,
}

impl HolderState {
    /// Builds the state with the configured release policy (`[policy]`, whose defaults are
    /// [`LocalPolicy::reference_defaults`]). `store` holds FHIR resources (already ingested);
    /// `db` the token tables. Fails with a message naming the configuration key at fault.
    pub fn new(
        config: Config,
        clock: Arc<dyn Clock>,
        store: Arc<dyn ResourceStore>,
        db: Arc<dyn TokenStore>,
    ) -> Result<HolderState, String> {
        let policy = config.policy.release.clone();
        HolderState::with_policy(config, clock, store, db, policy)
    }

    /// As [`HolderState::new`], with an explicit local release policy replacing the
    /// configured one.
    pub fn with_policy(
        config: Config,
        clock: Arc<dyn Clock>,
        store: Arc<dyn ResourceStore>,
        db: Arc<dyn TokenStore>,
        mut policy: LocalPolicy,
    ) -> Result<HolderState, String> {
        // A grant may only name types the FHIR API can actually serve: a granted type that
        // answers "not supported" would make the scope string promise more than is enforced.
        policy
            .served_types
            .retain(|t| tessera_fhir::resource_def(t).is_some());
        let fetcher = Fetcher::new(config.http, config.allow_loopback_http)
            .map_err(|e| format!("HTTP client: {e}"))?;
        let udap = Arc::new(Communities::from_config(&config.trust_framework_configs)?);
        let oidf = Arc::new(OidfFrameworks::from_config(
            &config.trust_framework_configs,
            &fetcher,
        )?);
        let metrics = Arc::new(Metrics::new());
        crate::ops::metrics::register_pool_gauges(&metrics, &store, &db);
        let keys = Arc::new(
            KeyResolver::new(fetcher.clone())
                .with_cache_observer(metrics.cache_observer("jwks"))
                .with_frameworks(&config.trust_framework_configs, udap.clone())
                .with_oidf(oidf.clone()),
        );
        let issuers = IssuerRegistry::from_config(&config.issuers)?;
        let idps =
            IdentityProviders::from_config(&config.identity_providers, &config.evidence_profiles)?;
        let registrations: Arc<dyn RegistrationStore> = db.clone();
        let clients: Arc<dyn ClientAuthenticator> = Arc::new(Authenticators {
            udap: UdapClients::new(udap.clone(), registrations.clone(), fetcher.clone()),
            registered: RegisteredClients::new(&config.clients, keys.clone())?
                .with_oidf(oidf.clone())
                .with_well_known(Arc::new(WellKnownFrameworks::from_config(
                    &config.trust_framework_configs,
                    &fetcher,
                )))
                .with_registrations(registrations.clone()),
        });
        let writer = GroupCommit::start_observed(db.clone(), Some(metrics.clone()))
            .map_err(|e| e.to_string())?;
        // PT-DISC-03: a type is accepted and advertised only when every rule it declares is
        // enforced here; public health needs a disclosure policy (PT-TYPE-18).
        let supported_types = issuers
            .supported_types()
            .iter()
            .filter_map(|t| TicketType::from_uri(t))
            .filter(|t| *t != TicketType::PublicHealth || !policy.public_health.is_empty())
            .collect();
        let holder_profile = HolderProfile {
            organization_identifiers: config
                .holder_identifiers
                .iter()
                .map(|i| (i.system.clone(), i.value.clone()))
                .collect(),
            jurisdictions: config
                .holder_addresses
                .iter()
                .map(|a| (a.country.clone(), a.state.clone()))
                .collect(),
        };
        // `aud_type: data_holder_url` only; framework audiences are decided per request by
        // `memberships`, because verified membership can lapse (certificate expiry, CRL).
        let expected_audience = ExpectedAudience {
            data_holder_urls: config.base_urls.clone(),
            trust_frameworks: Vec::new(),
        };
        // UDAP: our community certificate chains to the anchor; OIDF: our entity_id chains to
        // the anchor (federation::participation).
        let memberships = Memberships::new(config.trust_frameworks.clone())
            .with_prover(udap.clone())
            .with_prover(oidf.clone());
        // Issue 14: the linkage brought up to date and the served sites read, once.
        let network = crate::network::Network::prepare(&config, store.as_ref(), clock.now())?;
        let network_holder = crate::network::DataHolder::network(
            &config,
            &holder_profile,
            &expected_audience,
            &network,
        );
        Ok(HolderState {
            inner: Arc::new(Inner {
                revocation: RevocationChecker::new(fetcher)
                    .with_cache_observer(metrics.cache_observer("status_list")),
                records: Arc::new(StoreRecords(store.clone())),
                config,
                clock,
                issuers,
                keys,
                clients,
                udap,
                registrations,
                idps,
                store,
                db,
                writer,
                supported_types,
                policy,
                memberships,
                tokens: TokenCache::default(),
                launches: LaunchRegistry::default(),
                network,
                network_holder,
                metrics,
                warm: AtomicBool::new(false),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The token database (audit queries, token lookups).
    pub fn token_db(&self) -> &Arc<dyn TokenStore> {
        &self.inner.db
    }

    /// The group-commit writer (its counters, for benchmarks and operators).
    pub fn writer(&self) -> &GroupCommit {
        &self.inner.writer
    }

    /// This node's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// Whether the start-up cache warm-up has run ([`crate::ops::warm::warm_up`]).
    pub fn is_warm(&self) -> bool {
        self.inner.warm.load(Ordering::Acquire)
    }

    /// Marks the warm-up done.
    pub fn mark_warm(&self) {
        self.inner.warm.store(true, Ordering::Release);
    }

    /// The resource store.
    pub fn store(&self) -> &Arc<dyn ResourceStore> {
        &self.inner.store
    }

    /// Now, per the configured clock.
    pub fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    /// The sites served (issue 14).
    pub fn network(&self) -> &crate::network::Network {
        &self.inner.network
    }

    /// The network base as a Data Holder: `[holder]` plus every served site's identity.
    pub fn network_holder(&self) -> &crate::network::DataHolder {
        &self.inner.network_holder
    }

    /// The ticket types accepted (and advertised).
    pub fn supported_types(&self) -> &[TicketType] {
        &self.inner.supported_types
    }
}
