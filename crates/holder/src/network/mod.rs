//! Network Data Holders (issue 14): one Data Holder at `[base]` serving the combined record of
//! each person across its sites, and one per site at `[base]/site/{site}`, each with its own
//! discovery, token endpoint, audience and identity.
//!
//! - [`DataHolder`] is "the Data Holder being asked": its base, token endpoint, expected
//!   audience and the identity `data_holder_filter` is judged against. The redemption pipeline
//!   runs once per request against one of them.
//! - [`Network`] is what start-up reads once: the sites and their own identities, and the
//!   person linkage brought up to date (links file applied, linkage rebuilt).
//! - `person` resolves a ticket subject to one person; `linkage` is the operator side
//!   (`tessera link`); `site` the per-site HTTP surface; `location` record location.

pub mod linkage;
pub mod location;
pub mod person;
pub mod site;

use std::collections::BTreeMap;
use std::sync::Arc;

use tessera_access::HolderProfile;
use tessera_store::{ResourceStore, SiteProfile};
use tessera_ticket::ExpectedAudience;

use crate::config::Config;

/// The sites a network serves, read once at start-up (ingest happens before).
#[derive(Debug, Clone, Default)]
pub struct Network {
    sites: Arc<BTreeMap<String, SiteProfile>>,
}

impl Network {
    /// Brings the linkage up to date (links file, rebuild) and reads the sites.
    pub fn prepare(
        config: &Config,
        store: &dyn ResourceStore,
        now: i64,
    ) -> Result<Network, String> {
        linkage::prepare(config, store, now)?;
        let mut sites: BTreeMap<String, SiteProfile> = store
            .sites()
            .map_err(|e| format!("sites: {e}"))?
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();
        for (i, configured) in config.linkage.sites.iter().enumerate() {
            let Some(site) = sites.get_mut(&configured.id) else {
                return Err(format!(
                    "config key `linkage.site[{i}].id`: no site {:?} in the loaded data",
                    configured.id
                ));
            };
            // Configured identity replaces what ingest read from the site's Organization.
            site.identifiers = configured
                .organization
                .iter()
                .map(|o| (Some(o.system.clone()), o.value.clone()))
                .collect();
            site.addresses = configured
                .address
                .iter()
                .map(|a| tessera_store::SiteAddress {
                    country: Some(a.country.clone()),
                    state: a.state.clone(),
                })
                .collect();
        }
        Ok(Network {
            sites: Arc::new(sites),
        })
    }

    /// A site's profile.
    pub fn site(&self, id: &str) -> Option<&SiteProfile> {
        self.sites.get(id)
    }

    /// Every site, by id.
    pub fn sites(&self) -> impl Iterator<Item = &SiteProfile> {
        self.sites.values()
    }
}

/// The Data Holder a request addresses.
#[derive(Debug, Clone)]
pub struct DataHolder {
    /// `None` = the network base; else the site id.
    pub site: Option<String>,
    /// Its FHIR base URL (no trailing slash).
    pub base_url: String,
    /// Own base URLs (ticket `aud`, `resource`/`audience`, absolute patient references).
    pub bases: Vec<String>,
    /// What a ticket's `aud` must name.
    pub audience: ExpectedAudience,
    /// The identity `data_holder_filter` is judged against.
    pub profile: HolderProfile,
}

impl DataHolder {
    /// The network base: `[holder]` plus the identities of every site it serves (seed 004:
    /// the filter gates the Data Holder as a whole, "do I match any listed entry?").
    pub fn network(
        config: &Config,
        own: &HolderProfile,
        audience: &ExpectedAudience,
        network: &Network,
    ) -> DataHolder {
        let mut profile = own.clone();
        for site in network.sites() {
            merge(&mut profile, &site_profile(site));
        }
        DataHolder {
            site: None,
            base_url: config.base_url.clone(),
            bases: config.base_urls.clone(),
            audience: audience.clone(),
            profile,
        }
    }

    /// A site's own Data Holder, or `None` for a site that does not exist.
    pub fn site(config: &Config, network: &Network, site: &str) -> Option<DataHolder> {
        let profile = network.site(site)?;
        let base = site_base(&config.base_url, site);
        Some(DataHolder {
            site: Some(site.to_owned()),
            base_url: base.clone(),
            bases: vec![base.clone()],
            audience: ExpectedAudience {
                data_holder_urls: vec![base],
                trust_frameworks: config.trust_frameworks.clone(),
            },
            profile: site_profile(profile),
        })
    }

    /// Its token endpoint: the client assertion's `aud` and the DPoP `htu`.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.base_url)
    }
}

/// `[base]/site/{site}`.
pub fn site_base(base_url: &str, site: &str) -> String {
    format!("{}/site/{site}", base_url.trim_end_matches('/'))
}

/// A site's identity as the access algebra sees it (identifiers with a system; addresses
/// with a country — a jurisdiction without one is not a jurisdiction we can match).
pub fn site_profile(site: &SiteProfile) -> HolderProfile {
    HolderProfile {
        organization_identifiers: site
            .identifiers
            .iter()
            .filter_map(|(s, v)| Some((s.clone()?, v.clone())))
            .collect(),
        jurisdictions: site
            .addresses
            .iter()
            .filter_map(|a| Some((a.country.clone()?, a.state.clone())))
            .collect(),
    }
}

fn merge(into: &mut HolderProfile, from: &HolderProfile) {
    for i in &from.organization_identifiers {
        if !into.organization_identifiers.contains(i) {
            into.organization_identifiers.push(i.clone());
        }
    }
    for j in &from.jurisdictions {
        if !into.jurisdictions.contains(j) {
            into.jurisdictions.push(j.clone());
        }
    }
}

/// Search parameters whose value names a patient compartment.
const PATIENT_PARAMS: [&str; 4] = ["patient", "subject", "patient:Patient", "subject:Patient"];

/// `patient=` (or `subject=`) naming any record of the grant's person means the person: the
/// value is widened to all of its records (the grant's filter still confines the result, so
/// another person's id stays an empty page).
pub fn expand_person_params(pairs: &mut [(String, String)], grant: &tessera_access::Grant) {
    let records = grant.person_records();
    if records.len() < 2 {
        return;
    }
    for (name, value) in pairs.iter_mut() {
        if !PATIENT_PARAMS.contains(&name.as_str()) {
            continue;
        }
        let names_person = value.split(',').any(|v| {
            let id = v.rsplit_once("Patient/").map_or(v, |(_, id)| id);
            records.contains(&id)
        });
        if names_person {
            let mut all: Vec<String> = value
                .split(',')
                .map(str::to_owned)
                .filter(|v| {
                    let id = v.rsplit_once("Patient/").map_or(v.as_str(), |(_, id)| id);
                    !records.contains(&id)
                })
                .collect();
            all.extend(records.iter().map(|r| format!("Patient/{r}")));
            *value = all.join(",");
        }
    }
}
