//! Turning one parsed JSON document (a Bundle or a single resource) into [`NewResource`]s:
//! id assignment, per-site id namespacing, reference rewriting, stamping, facts and index.
//!
//! Ids: a resource keeps its id unless it is ingested for a site and the id is not a UUID;
//! then it becomes `{site-code}-{id}` (site-code = 8 hex digits of SHA-256 of the site id),
//! because independent sites reuse ids like `enc-001` and one server must have one id space.
//! UUID ids are globally unique by construction and kept. An entry without an id gets the
//! UUID of its `urn:uuid:` fullUrl, else 32 hex digits of SHA-256 of its content: the same
//! content always yields the same id, so re-ingest is idempotent.

use std::collections::HashMap;

use aws_lc_rs::digest::{SHA256, digest};
use serde_json::{Map, Value};
use tessera_access::extract_facts;
use tessera_fhir::{extract_index, is_valid_id, parse_date_range, resource_def, split_reference};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::model::{NewResource, SiteAddress, SiteProfile};

/// Deepest JSON nesting accepted in ingested data.
const MAX_DEPTH: usize = 64;

/// The outcome of preparing one document.
#[derive(Debug, Default)]
pub struct Prepared {
    /// Resources ready to write.
    pub resources: Vec<NewResource>,
    /// Entries that were skipped, with the reason.
    pub errors: Vec<String>,
    /// Whether the document was a Bundle.
    pub is_bundle: bool,
}

/// Prepares a document for `site` at time `now`.
pub fn prepare(doc: Value, site: Option<&str>, now: i64) -> Prepared {
    let mut out = Prepared::default();
    if depth(&doc, 0) > MAX_DEPTH {
        out.errors
            .push(format!("document nested deeper than {MAX_DEPTH}"));
        return out;
    }
    let entries = match doc.get("resourceType").and_then(Value::as_str) {
        Some("Bundle") => {
            out.is_bundle = true;
            let btype = doc.get("type").and_then(Value::as_str).unwrap_or("");
            if !matches!(btype, "collection" | "transaction" | "batch" | "searchset") {
                out.errors
                    .push(format!("unsupported Bundle.type {btype:?}"));
                return out;
            }
            let Value::Object(mut map) = doc else {
                return out;
            };
            match map.remove("entry") {
                Some(Value::Array(entries)) => entries,
                _ => Vec::new(),
            }
        }
        Some(_) => vec![Value::Object(Map::from_iter([(
            "resource".to_owned(),
            doc,
        )]))],
        None => {
            out.errors.push("missing resourceType".to_owned());
            return out;
        }
    };
    let code = site.map(site_code);
    // Pass 1: ids and the reference map (fullUrl / original Type/id → server Type/id).
    let mut staged = Vec::new();
    let mut refs: HashMap<String, String> = HashMap::new();
    for (i, entry) in entries.into_iter().enumerate() {
        match stage(entry, code.as_deref()) {
            Ok(s) => {
                let server = format!("{}/{}", s.rtype, s.id);
                if let Some(fu) = &s.full_url {
                    refs.insert(fu.clone(), server.clone());
                }
                refs.insert(format!("{}/{}", s.rtype, s.original_id), server);
                staged.push(s);
            }
            Err(e) => out.errors.push(format!("entry {i}: {e}")),
        }
    }
    // Pass 2: rewrite, stamp, extract.
    for mut s in staged {
        rewrite_refs(&mut s.resource, &refs);
        if let Some(obj) = s.resource.as_object_mut() {
            obj.insert("id".to_owned(), Value::String(s.id.clone()));
        }
        out.resources.push(finish(s, site, now));
    }
    out
}

/// The holder profile of a site from its bundle's own Organization (see [`own_organizations`]).
pub fn site_profile(site: &str, resources: &[NewResource]) -> SiteProfile {
    let mut profile = SiteProfile {
        id: site.to_owned(),
        ..SiteProfile::default()
    };
    for (id, org) in own_organizations(resources) {
        profile.organization_ids.push(id);
        if profile.name.is_none() {
            profile.name = org.get("name").and_then(Value::as_str).map(str::to_owned);
        }
        for ident in org
            .get("identifier")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(value) = ident.get("value").and_then(Value::as_str) {
                let system = ident
                    .get("system")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                profile.identifiers.push((system, value.to_owned()));
            }
        }
        for addr in org
            .get("address")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let field = |k: &str| addr.get(k).and_then(Value::as_str).map(str::to_owned);
            profile.addresses.push(SiteAddress {
                state: field("state"),
                country: field("country"),
            });
        }
    }
    profile
}

/// `organization-type` codes of organizations that are never the site itself.
const NOT_THE_SITE: [&str; 2] = ["pay", "ins"];

/// Which Organizations of a site's Bundle are the site's own (decisions.md, "the site's own
/// Organization"): those the Bundle's Patients name as `managingOrganization`; failing that,
/// those typed `prov` (healthcare provider); failing that, every Organization not typed as a
/// payer or insurer. A payer's Organization, repeated in a Bundle for its Coverage, is never
/// part of the site's identity.
pub fn own_organizations(resources: &[NewResource]) -> Vec<(String, Value)> {
    let orgs: Vec<(String, Value)> = resources
        .iter()
        .filter(|r| r.resource_type == "Organization")
        .filter_map(|r| Some((r.id.clone(), serde_json::from_slice::<Value>(&r.json).ok()?)))
        .collect();
    let managing: Vec<String> = resources
        .iter()
        .filter(|r| r.resource_type == "Patient")
        .filter_map(|r| serde_json::from_slice::<Value>(&r.json).ok())
        .filter_map(|p| {
            p.get("managingOrganization")?
                .get("reference")?
                .as_str()?
                .strip_prefix("Organization/")
                .map(str::to_owned)
        })
        .collect();
    let types = |org: &Value| -> Vec<String> {
        org.get("type")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .flat_map(|t| {
                t.get("coding")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
            })
            .filter_map(|c| c.get("code").and_then(Value::as_str).map(str::to_owned))
            .collect()
    };
    let pick = |keep: &dyn Fn(&(String, Value)) -> bool| -> Vec<(String, Value)> {
        orgs.iter().filter(|o| keep(o)).cloned().collect()
    };
    let by_patient = pick(&|(id, _)| managing.contains(id));
    if !by_patient.is_empty() {
        return by_patient;
    }
    let providers = pick(&|(_, o)| types(o).iter().any(|t| t == "prov"));
    if !providers.is_empty() {
        return providers;
    }
    pick(&|(_, o)| !types(o).iter().any(|t| NOT_THE_SITE.contains(&t.as_str())))
}

struct Staged {
    rtype: String,
    id: String,
    original_id: String,
    full_url: Option<String>,
    resource: Value,
}

fn stage(entry: Value, code: Option<&str>) -> Result<Staged, String> {
    let full_url = entry
        .get("fullUrl")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let request = entry.get("request").cloned();
    let Some(resource) = entry.get("resource").cloned() else {
        return Err("entry without a resource".to_owned());
    };
    let rtype = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .ok_or("resource without resourceType")?
        .to_owned();
    if resource_def(&rtype).is_none() {
        return Err(format!("unsupported resource type {rtype}"));
    }
    if has_nul(&resource) {
        // PostgreSQL text cannot hold U+0000; refusing it on every backend keeps the two
        // stores' contents identical (and a NUL in clinical text is corruption anyway).
        return Err(format!(
            "{rtype} contains a NUL character (U+0000), which no store accepts"
        ));
    }
    let mut id = resource
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(req) = &request {
        let method = req.get("method").and_then(Value::as_str).unwrap_or("");
        let url = req.get("url").and_then(Value::as_str).unwrap_or("");
        match method {
            "PUT" => {
                let (t, url_id) = split_reference(url).ok_or("PUT url is not Type/id")?;
                if t != rtype {
                    return Err("PUT url type differs from resourceType".to_owned());
                }
                id = Some(url_id.to_owned());
            }
            "POST" => {}
            other => return Err(format!("unsupported request method {other:?}")),
        }
    }
    let id = match id {
        Some(id) => id,
        None => match full_url
            .as_deref()
            .and_then(|u| u.strip_prefix("urn:uuid:"))
        {
            Some(uuid) if is_uuid(uuid) => uuid.to_owned(),
            _ => hex(&sha256(&serde_json::to_vec(&resource).unwrap_or_default()))[..32].to_owned(),
        },
    };
    if !is_valid_id(&id) {
        return Err(format!("invalid id for {rtype}"));
    }
    let server_id = match code {
        Some(code) if !is_uuid(&id) => {
            let namespaced = format!("{code}-{id}");
            if namespaced.len() <= 64 {
                namespaced
            } else {
                format!("{code}-{}", &hex(&sha256(id.as_bytes()))[..32])
            }
        }
        _ => id.clone(),
    };
    Ok(Staged {
        rtype,
        id: server_id,
        original_id: id,
        full_url,
        resource,
    })
}

fn finish(s: Staged, site: Option<&str>, now: i64) -> NewResource {
    let mut resource = s.resource;
    let canonical = serde_json::to_vec(&resource).unwrap_or_default();
    let content_hash = sha256(&canonical);
    let source_updated = resource
        .get("meta")
        .and_then(|m| m.get("lastUpdated"))
        .and_then(Value::as_str)
        .and_then(|s| parse_date_range(s).ok())
        .map(|r| r.lo);
    let (last_updated, json) = match source_updated {
        Some(t) => (t, canonical),
        None => {
            let stamp = OffsetDateTime::from_unix_timestamp(now)
                .ok()
                .and_then(|t| t.format(&Rfc3339).ok())
                .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned());
            if let Some(obj) = resource.as_object_mut() {
                let meta = obj
                    .entry("meta")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(meta) = meta.as_object_mut() {
                    meta.insert("lastUpdated".to_owned(), Value::String(stamp));
                }
            }
            (now, serde_json::to_vec(&resource).unwrap_or_default())
        }
    };
    NewResource {
        facts: extract_facts(&resource),
        index: extract_index(&resource),
        resource_type: s.rtype,
        id: s.id,
        json,
        content_hash,
        last_updated,
        site: site.map(str::to_owned),
    }
}

fn rewrite_refs(v: &mut Value, refs: &HashMap<String, String>) {
    match v {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "reference" {
                    if let Value::String(s) = child
                        && let Some(server) = refs.get(s.as_str())
                    {
                        *s = server.clone();
                    }
                } else {
                    rewrite_refs(child, refs);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| rewrite_refs(i, refs)),
        _ => {}
    }
}

fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Object(m) => m.iter().any(|(k, c)| k.contains('\0') || has_nul(c)),
        Value::Array(a) => a.iter().any(has_nul),
        _ => false,
    }
}

fn depth(v: &Value, d: usize) -> usize {
    if d > MAX_DEPTH {
        return d;
    }
    match v {
        Value::Object(m) => m.values().map(|c| depth(c, d + 1)).max().unwrap_or(d),
        Value::Array(a) => a.iter().map(|c| depth(c, d + 1)).max().unwrap_or(d),
        _ => d,
    }
}

/// The 8-hex-digit namespace code of a site id.
pub fn site_code(site: &str) -> String {
    hex(&sha256(site.as_bytes()))[..8].to_owned()
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, bytes).as_ref());
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
