//! The sites and payers of one run, with their seed-independent ids and NPIs.

use serde_json::Value;

use crate::catalog::{Clinician, PAYERS, PayerSpec, SITES, SiteSpec};
use crate::fhir::admin;
use crate::ids::uuid;
use crate::npi::synthetic_npi;

/// A clinician with ids.
#[derive(Debug)]
pub(crate) struct Practitioner {
    pub(crate) id: String,
    pub(crate) npi: String,
    pub(crate) spec: &'static Clinician,
    pub(crate) resource: Value,
}

impl Practitioner {
    pub(crate) fn display(&self) -> String {
        let c = self.spec;
        if c.credential == "MD" {
            format!("Dr. {} {}, MD", c.given, c.family)
        } else {
            format!("{} {}, {}", c.given, c.family, c.credential)
        }
    }
}

/// A site of this run.
#[derive(Debug)]
pub(crate) struct Site {
    pub(crate) index: usize,
    pub(crate) spec: &'static SiteSpec,
    pub(crate) npi: String,
    pub(crate) organization_id: String,
    pub(crate) location_id: String,
    pub(crate) organization: Value,
    pub(crate) location: Value,
    pub(crate) practitioners: Vec<Practitioner>,
}

impl Site {
    pub(crate) fn mrn_system(&self) -> String {
        format!("https://{}/fhir/sid/mrn", self.spec.domain)
    }

    pub(crate) fn claim_system(&self) -> String {
        format!("https://{}/fhir/sid/claim-control-number", self.spec.domain)
    }
}

/// A payer of this run.
#[derive(Debug)]
pub(crate) struct Payer {
    pub(crate) index: usize,
    pub(crate) spec: &'static PayerSpec,
    pub(crate) npi: String,
    pub(crate) organization_id: String,
    pub(crate) organization: Value,
}

impl Payer {
    pub(crate) fn member_system(&self) -> String {
        format!("https://{}/fhir/sid/member-id", self.spec.domain)
    }
}

/// Everything shared by all patients of a run.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) sites: Vec<Site>,
    pub(crate) payers: Vec<Payer>,
}

impl World {
    /// The first `site_count` catalog sites and every payer.
    pub(crate) fn new(site_count: usize) -> Self {
        let sites = SITES
            .iter()
            .take(site_count)
            .enumerate()
            .map(|(index, spec)| build_site(index, spec))
            .collect();
        let payers = PAYERS
            .iter()
            .enumerate()
            .map(|(index, spec)| build_payer(index, spec))
            .collect();
        Self { sites, payers }
    }

    /// The payer covering residents of `state`: a regional plan if one serves it, else national.
    pub(crate) fn regional_payer(&self, state: &str) -> Option<&Payer> {
        self.payers.iter().find(|p| p.spec.serves.contains(&state))
    }
}

fn build_site(index: usize, spec: &'static SiteSpec) -> Site {
    let npi = synthetic_npi(spec.slug, 0, true);
    let organization_id = uuid("site-organization", &[index as u64]);
    let location_id = uuid("site-location", &[index as u64]);
    let organization = admin::organization(spec, &organization_id, &npi);
    let location = admin::location(spec, &location_id, &organization_id);
    let practitioners = spec
        .clinicians
        .iter()
        .enumerate()
        .map(|(n, clinician)| {
            let id = uuid("site-practitioner", &[index as u64, n as u64]);
            let npi = synthetic_npi(spec.slug, n as u64 + 1, false);
            let resource = admin::practitioner(spec, clinician, &id, &npi);
            Practitioner {
                id,
                npi,
                spec: clinician,
                resource,
            }
        })
        .collect();
    Site {
        index,
        spec,
        npi,
        organization_id,
        location_id,
        organization,
        location,
        practitioners,
    }
}

fn build_payer(index: usize, spec: &'static PayerSpec) -> Payer {
    let npi = synthetic_npi(spec.slug, 0, true);
    let organization_id = uuid("payer-organization", &[index as u64]);
    let organization = admin::payer_organization(spec, &organization_id, &npi);
    Payer {
        index,
        spec,
        npi,
        organization_id,
        organization,
    }
}
