//! UDAP at the Data Holder (HL7 UDAP Security IG STU 2): the configured communities
//! (`[[trust_framework]] framework_type = "udap"`) with their anchors, CRLs and our own
//! community certificate; x5c JWT verification with CRLs fetched from distribution points;
//! discovery (`/.well-known/udap`) and UDAP client authentication at `/token`.
//!
//! The X.509 and JWT rules themselves are `tessera-udap`'s (pure); this module adds files,
//! fetching and caching.

pub mod client_auth;
pub mod crl;
pub mod discovery;
pub mod issuer_keys;

use std::sync::Arc;

use tessera_udap::{Anchors, CrlSet, Pkcs8Signer, Purpose, UdapError, VerifiedX5c, X5cJwt};

use crate::config::{TrustFrameworkConfig, TrustFrameworkKind};
use crate::udap::crl::CrlCache;

/// Our own membership of a community: the certificate chain and its key.
pub struct OwnCertificate {
    /// DER chain, leaf first (what `signed_metadata`'s `x5c` carries).
    pub chain: Vec<Vec<u8>>,
    /// The key.
    pub signer: Pkcs8Signer,
    /// The leaf's URI SANs.
    pub uri_sans: Vec<String>,
}

impl std::fmt::Debug for OwnCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnCertificate")
            .field("uri_sans", &self.uri_sans)
            .finish_non_exhaustive()
    }
}

/// One UDAP community.
#[derive(Debug)]
pub struct Community {
    /// The `[[trust_framework]]` id.
    pub id: String,
    /// Its trust anchors.
    pub anchors: Anchors,
    /// Configured CRL files (DER or PEM bytes).
    pub crl_files: Vec<Vec<u8>>,
    /// The same files, parsed once at load (our own membership check runs per redemption).
    configured_crls: CrlSet,
    /// Our certificate, if we are a member.
    pub own: Option<OwnCertificate>,
}

/// Every configured UDAP community, in configuration order.
#[derive(Debug, Default)]
pub struct Communities {
    list: Vec<Community>,
    crls: CrlCache,
}

impl Communities {
    /// Reads anchors, CRL files and our certificate for every UDAP framework; a file that
    /// cannot be read or parsed names its configuration key.
    pub fn from_config(frameworks: &[TrustFrameworkConfig]) -> Result<Communities, String> {
        let mut list = Vec::new();
        for (i, tf) in frameworks.iter().enumerate() {
            let TrustFrameworkKind::Udap(u) = &tf.kind else {
                continue;
            };
            let key = format!("config key `trust_framework[{i}]`");
            let read = |p: &std::path::Path, what: &str| {
                std::fs::read(p).map_err(|e| format!("{key} {what} {}: {e}", p.display()))
            };
            let anchors = Anchors::from_pem(&read(&u.anchors_file, "anchors_file")?)
                .map_err(|e| format!("{key} anchors_file: {e}"))?;
            let mut crl_files = Vec::new();
            let mut configured_crls = CrlSet::new();
            for p in &u.crl_files {
                let bytes = read(p, "crl_files")?;
                configured_crls
                    .add(&bytes)
                    .map_err(|e| format!("{key} crl_files {}: {e}", p.display()))?;
                crl_files.push(bytes);
            }
            let own = match (&u.certificate_file, &u.key_file) {
                (Some(c), Some(k)) => {
                    let chain = tessera_udap::parse_pem_certs(&read(c, "certificate_file")?)
                        .map_err(|e| format!("{key} certificate_file: {e}"))?;
                    let signer = Pkcs8Signer::from_pem(&read(k, "key_file")?)
                        .map_err(|e| format!("{key} key_file: {e}"))?;
                    let leaf = chain
                        .first()
                        .map(|d| tessera_udap::inspect(d))
                        .transpose()
                        .map_err(|e| format!("{key} certificate_file: {e}"))?
                        .ok_or_else(|| format!("{key} certificate_file: empty"))?;
                    Some(OwnCertificate {
                        chain,
                        signer,
                        uri_sans: leaf.uri_sans,
                    })
                }
                _ => None,
            };
            list.push(Community {
                id: tf.id.clone(),
                anchors,
                crl_files,
                configured_crls,
                own,
            });
        }
        Ok(Communities {
            list,
            crls: CrlCache::default(),
        })
    }

    /// The communities.
    pub fn iter(&self) -> impl Iterator<Item = &Community> {
        self.list.iter()
    }

    /// The community with this id.
    pub fn get(&self, id: &str) -> Option<&Community> {
        self.list.iter().find(|c| c.id == id)
    }

    /// Whether any UDAP community is configured.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The CRL cache.
    pub fn crl_cache(&self) -> &CrlCache {
        &self.crls
    }

    /// Verified participation (issue 10, framework-aware audience): our community
    /// certificate chains to the community's anchor at `now`, with its configured CRLs.
    pub fn participates(&self, id: &str, now: i64) -> bool {
        let Some(c) = self.get(id) else { return false };
        let Some(own) = &c.own else { return false };
        let crls = &c.configured_crls;
        tessera_udap::validate(&own.chain, &c.anchors, crls, now, Purpose::Server).is_ok()
            || tessera_udap::validate(&own.chain, &c.anchors, crls, now, Purpose::Client).is_ok()
    }
}

/// UDAP membership is verified, never configured: a community we hold no certificate for, or
/// whose certificate no longer chains (expired, revoked by a configured CRL), is not ours.
impl crate::trust::membership::MembershipProof for Communities {
    fn framework_type(&self) -> &'static str {
        "udap"
    }

    fn proves<'a>(
        &'a self,
        framework_id: &'a str,
        now: i64,
    ) -> crate::trust::membership::ProofFuture<'a> {
        // Our own chain and the configured CRL files: no network, nothing to await.
        let verdict = self
            .get(framework_id)
            .map(|_| self.participates(framework_id, now));
        Box::pin(std::future::ready(verdict))
    }
}

/// Verifies an x5c JWT under `community`: CRLs from its distribution points (fetched through
/// `fetcher`, cached) and configured files, then chain and signature.
pub async fn verify_in(
    community: &Community,
    crls: &CrlCache,
    fetcher: &crate::trust::fetch::Fetcher,
    jwt: X5cJwt,
    purpose: Purpose,
    now: i64,
) -> Result<VerifiedX5c, UdapError> {
    let set = crls
        .crl_set(
            fetcher,
            &community.crl_files,
            &jwt.distribution_points()?,
            now,
        )
        .await;
    jwt.verify(&community.anchors, &set, now, purpose)
}

/// Shared handle.
pub type SharedCommunities = Arc<Communities>;
