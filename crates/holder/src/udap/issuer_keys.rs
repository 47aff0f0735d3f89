//! Issuer trust by UDAP (spec-digest §8.3; PT-TRUST-04): the ticket-signing key of an issuer
//! whose `[[issuer]]` names a UDAP `trust_framework` is the key of the certificate in its
//! `{iss}/.well-known/udap` `signed_metadata`: the chain validates to the community's anchors
//! (with CRLs), `iss` = `sub` = the issuer URL = a URI SAN of the leaf, lifetime ≤ 1 year. The
//! key's `kid` is its RFC 7638 thumbprint, which tickets must carry.

use serde_json::Value;
use tessera_jose::{Alg, JwkSet};
use tessera_udap::X5cJwt;
use tessera_udap::metadata::verify_metadata;
use url::Url;

use crate::trust::fetch::{Fetcher, Freshness, UrlCache};
use crate::udap::Communities;

/// Fetched `/.well-known/udap` documents by URL (verified at every use).
pub type MetadataCache = UrlCache<serde_json::Map<String, Value>>;

/// The issuer's ticket keys through the UDAP community `trust_framework`.
pub async fn issuer_keys(
    communities: &Communities,
    cache: &MetadataCache,
    fetcher: &Fetcher,
    trust_framework: &str,
    iss: &str,
    now: i64,
) -> Result<JwkSet, String> {
    let community = communities
        .get(trust_framework)
        .ok_or_else(|| format!("{trust_framework} is not a UDAP community"))?;
    let url = Url::parse(&format!("{}/.well-known/udap", iss.trim_end_matches('/')))
        .map_err(|e| format!("issuer metadata URL: {e}"))?;
    let parse = |b: &[u8]| tessera_jose::json::parse_object(b, 16, "UDAP metadata");
    let doc = cache
        .get_or_fetch(fetcher, &url, now, Freshness::UseCache, parse)
        .await
        .map_err(|e| format!("issuer UDAP metadata: {e}"))?;
    let token = doc
        .get("signed_metadata")
        .and_then(Value::as_str)
        .ok_or("issuer UDAP metadata has no signed_metadata")?;
    let points = X5cJwt::decode(token, Alg::TICKET)
        .and_then(|j| j.distribution_points())
        .map_err(|e| format!("signed_metadata: {e}"))?;
    let crls = communities
        .crl_cache()
        .crl_set(fetcher, &community.crl_files, &points, now)
        .await;
    let v = verify_metadata(
        token,
        iss,
        Some(doc.as_ref()),
        &community.anchors,
        &crls,
        now,
    )
    .map_err(|e| format!("signed_metadata: {e}"))?;
    let mut key = v.chain.leaf_key.clone();
    key.kid = Some(key.thumbprint());
    Ok(JwkSet::new(vec![key]))
}
