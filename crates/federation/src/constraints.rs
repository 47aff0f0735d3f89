//! Trust chain constraints (§6.2): `max_path_length`, `naming_constraints` (host names in the
//! manner of RFC 5280 §4.2.1.10 for URIs), `allowed_entity_types`.

use serde_json::{Map, Value};

use crate::FederationError;
use crate::entity_id;
use crate::statement::EntityStatement;

/// Checks every subordinate statement's constraints against the entities below its issuer.
pub fn check(es: &[EntityStatement]) -> Result<(), FederationError> {
    for (k, s) in es.iter().enumerate().skip(1) {
        if s.is_configuration() {
            continue;
        }
        let Some(c) = &s.constraints else { continue };
        let intermediates = (k - 1) as u64;
        if let Some(max) = c.max_path_length
            && intermediates > max
        {
            return Err(FederationError::MaxPathLength {
                set_by: s.iss.clone(),
                allowed: max,
                actual: intermediates,
            });
        }
        if c.permitted.is_empty() && c.excluded.is_empty() {
            continue;
        }
        // Entities below Ek: the subjects of ES[1..=k] (E0..E(k-1)).
        for below in es.iter().take(k + 1).skip(1) {
            let host = entity_id::host(&below.sub).unwrap_or_default();
            let permitted =
                c.permitted.is_empty() || c.permitted.iter().any(|p| host_matches(&host, p));
            let excluded = c.excluded.iter().any(|p| host_matches(&host, p));
            if !permitted || excluded {
                return Err(FederationError::NamingConstraint {
                    set_by: s.iss.clone(),
                    entity: below.sub.clone(),
                });
            }
        }
    }
    Ok(())
}

/// `.example.com` matches every subdomain of example.com (not example.com itself);
/// `example.com` matches exactly that host.
pub fn host_matches(host: &str, constraint: &str) -> bool {
    let c = constraint.to_ascii_lowercase();
    match c.strip_prefix('.') {
        Some(suffix) => host.len() > suffix.len() && host.ends_with(&format!(".{suffix}")),
        None => host == c,
    }
}

/// Removes leaf entity types no superior allows (`federation_entity` always stays).
pub fn filter_entity_types(es: &[EntityStatement], metadata: &mut Map<String, Value>) {
    for s in es.iter().skip(1) {
        if let Some(allowed) = s
            .constraints
            .as_ref()
            .and_then(|c| c.allowed_entity_types.as_ref())
        {
            metadata.retain(|et, _| et == "federation_entity" || allowed.contains(et));
        }
    }
}
