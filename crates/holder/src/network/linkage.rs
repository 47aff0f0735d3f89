//! The operator side of person linkage: the links file applied at start-up, `tessera link
//! add|remove|show`, and the rebuild that follows every change. Assertions are validated
//! here (the record exists, the system is a configured enterprise system) and stored
//! append-only by the store, so the linkage history is the audit trail.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};
use tessera_access::Filter;
use tessera_store::linkage::{LinkAssertion, LinkClaim, LinkageSummary};
use tessera_store::{ResourceStore, Scope};

use crate::config::Config;

/// Largest links file.
const MAX_LINKS_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// A refused linkage operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The named Patient record does not exist.
    #[error("Patient/{0} does not exist")]
    UnknownRecord(String),
    /// The identifier system is not in `[linkage] enterprise_identifier_systems`.
    #[error("{0} is not a configured enterprise identifier system")]
    UnknownSystem(String),
    /// The request could not be read.
    #[error("{0}")]
    Malformed(String),
    /// The store failed.
    #[error("store: {0}")]
    Store(String),
}

/// One operator link, as `tessera link` and the links file state it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct LinkEntry {
    /// `add` or `remove`.
    pub action: String,
    /// `Patient/{id}` (or the bare id).
    pub record: String,
    /// Another record of the same person.
    #[serde(default)]
    pub same_as: Option<String>,
    /// An enterprise identifier `system|value` the record carries.
    #[serde(default)]
    pub identifier: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinksFile {
    links: Vec<LinkEntry>,
}

/// `Patient/{id}` or `{id}` → the id.
pub fn record_id(s: &str) -> Result<String, LinkError> {
    let id = s.strip_prefix("Patient/").unwrap_or(s);
    if tessera_fhir::is_valid_id(id) {
        Ok(id.to_owned())
    } else {
        Err(LinkError::Malformed(format!("not a Patient record: {s:?}")))
    }
}

/// Validates an entry against the configuration and the stored records.
pub fn assertion(
    config: &Config,
    store: &dyn ResourceStore,
    entry: &LinkEntry,
    actor: &str,
    now: i64,
) -> Result<LinkAssertion, LinkError> {
    let add = match entry.action.as_str() {
        "add" => true,
        "remove" => false,
        other => return Err(LinkError::Malformed(format!("unknown action {other:?}"))),
    };
    let record = record_id(&entry.record)?;
    let claim = match (&entry.same_as, &entry.identifier) {
        (Some(other), None) => {
            let other = record_id(other)?;
            if other == record {
                return Err(LinkError::Malformed("a record linked to itself".into()));
            }
            require_record(store, &other)?;
            LinkClaim::Record { other }
        }
        (None, Some(ident)) => {
            let (system, value) = ident
                .rsplit_once('|')
                .filter(|(s, v)| !s.is_empty() && !v.is_empty())
                .ok_or_else(|| LinkError::Malformed(format!("not system|value: {ident:?}")))?;
            if !config
                .linkage
                .rules
                .enterprise_systems
                .iter()
                .any(|s| s == system)
            {
                return Err(LinkError::UnknownSystem(system.to_owned()));
            }
            LinkClaim::Identifier {
                system: system.to_owned(),
                value: value.to_owned(),
            }
        }
        _ => {
            return Err(LinkError::Malformed(
                "name exactly one of: another record, an identifier".into(),
            ));
        }
    };
    require_record(store, &record)?;
    Ok(LinkAssertion {
        seq: 0,
        at: now,
        actor: actor.to_owned(),
        add,
        record,
        claim,
    })
}

/// Audits a refused request (who, what, why) and returns the refusal; a store failure while
/// auditing wins, so a refusal is never silently unrecorded.
fn refused(
    store: &dyn ResourceStore,
    entry: &LinkEntry,
    actor: &str,
    now: i64,
    error: LinkError,
) -> LinkError {
    if matches!(error, LinkError::Store(_)) {
        return error;
    }
    let refusal = tessera_store::linkage::LinkRefusal {
        at: now,
        actor: actor.to_owned(),
        request: serde_json::to_string(entry).unwrap_or_default(),
        error: error.to_string(),
    };
    match store.add_link_refusal(&refusal) {
        Ok(_) => error,
        Err(e) => LinkError::Store(e.to_string()),
    }
}

fn require_record(store: &dyn ResourceStore, id: &str) -> Result<(), LinkError> {
    let found = store
        .read(Scope::Network, "Patient", id, &Filter::All)
        .map_err(|e| LinkError::Store(e.to_string()))?;
    match found {
        Some(_) => Ok(()),
        None => Err(LinkError::UnknownRecord(id.to_owned())),
    }
}

/// Records an operator assertion and rebuilds the linkage (`tessera link add|remove`).
pub fn apply(
    config: &Config,
    store: &dyn ResourceStore,
    entry: &LinkEntry,
    actor: &str,
    now: i64,
) -> Result<LinkageSummary, LinkError> {
    let a = match assertion(config, store, entry, actor, now) {
        Ok(a) => a,
        Err(e) => return Err(refused(store, entry, actor, now, e)),
    };
    store
        .add_link_assertion(&a)
        .map_err(|e| LinkError::Store(e.to_string()))?;
    let (kind, target) = a.claim.stored();
    let cause = format!(
        "{actor} {} Patient/{} {kind} {target}",
        if a.add { "add" } else { "remove" },
        a.record
    );
    rebuild(config, store, now, &cause)
}

/// Rebuilds the linkage; conflicts and unfollowable links are logged as warnings naming the
/// records.
pub fn rebuild(
    config: &Config,
    store: &dyn ResourceStore,
    now: i64,
    cause: &str,
) -> Result<LinkageSummary, LinkError> {
    let summary = store
        .rebuild_linkage(&config.linkage.rules, now, cause)
        .map_err(|e| LinkError::Store(e.to_string()))?;
    if !summary.recomputed {
        // Its conflicts and warnings were logged when it was computed.
        tracing::info!(
            version = summary.version,
            persons = summary.persons,
            cause,
            "linkage inputs unchanged: the linkage in force is kept, not recomputed"
        );
        return Ok(summary);
    }
    for c in &summary.conflicts {
        tracing::warn!(record = %c.record, anchors = ?c.anchors, "linkage conflict: record quarantined (claimed by two persons)");
    }
    for w in summary.warnings.iter().take(50) {
        tracing::warn!(warning = %w, "linkage");
    }
    Ok(summary)
}

/// Start-up: applies the links file (entries whose state is already in force are skipped, so
/// restarting is idempotent), then rebuilds.
pub fn prepare(config: &Config, store: &dyn ResourceStore, now: i64) -> Result<(), String> {
    if let Some(path) = &config.linkage.links_file {
        apply_links_file(config, store, path, now)
            .map_err(|e| format!("config key `linkage.links_file` ({}): {e}", path.display()))?;
    }
    rebuild(config, store, now, "start-up").map_err(|e| format!("linkage: {e}"))?;
    Ok(())
}

fn apply_links_file(
    config: &Config,
    store: &dyn ResourceStore,
    path: &Path,
    now: i64,
) -> Result<(), LinkError> {
    let meta = std::fs::metadata(path).map_err(|e| LinkError::Malformed(e.to_string()))?;
    if meta.len() > MAX_LINKS_FILE_BYTES {
        return Err(LinkError::Malformed(format!(
            "larger than {MAX_LINKS_FILE_BYTES} bytes"
        )));
    }
    let text = std::fs::read(path).map_err(|e| LinkError::Malformed(e.to_string()))?;
    let file: LinksFile =
        serde_json::from_slice(&text).map_err(|e| LinkError::Malformed(e.to_string()))?;
    let existing = store
        .link_assertions()
        .map_err(|e| LinkError::Store(e.to_string()))?;
    let mut in_force = std::collections::BTreeMap::new();
    for a in &existing {
        in_force.insert(a.key(), a.add);
    }
    for (i, entry) in file.links.iter().enumerate() {
        let a = assertion(config, store, entry, "links_file", now)
            .map_err(|e| refused(store, entry, "links_file", now, e))
            .map_err(|e| LinkError::Malformed(format!("links[{i}]: {e}")))?;
        if in_force.get(&a.key()) == Some(&a.add) {
            continue;
        }
        in_force.insert(a.key(), a.add);
        store
            .add_link_assertion(&a)
            .map_err(|e| LinkError::Store(e.to_string()))?;
    }
    Ok(())
}

/// `tessera link show`: the linkage in force (persons with more than one record), the
/// conflicts, the assertions and the latest versions; `conflicts_only` keeps the conflicts.
pub fn show(store: &dyn ResourceStore, conflicts_only: bool) -> Result<Value, LinkError> {
    let err = |e: tessera_store::StoreError| LinkError::Store(e.to_string());
    let conflicts = store.link_conflicts().map_err(err)?;
    if conflicts_only {
        return Ok(json!({ "conflicts": conflicts }));
    }
    let mut persons: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    for r in store.linked_records().map_err(err)? {
        if r.status == tessera_store::linkage::RecordStatus::Linked {
            persons
                .entry(r.person.clone())
                .or_default()
                .push(json!({"record": format!("Patient/{}", r.record), "site": r.site}));
        }
    }
    let persons: Vec<Value> = persons
        .into_iter()
        .map(|(id, records)| json!({"person": id, "records": records}))
        .collect();
    Ok(json!({
        "persons": persons,
        "conflicts": conflicts,
        "assertions": store.link_assertions().map_err(err)?,
        "versions": store.linkage_versions(20).map_err(err)?,
        "refusals": store.link_refusals(20).map_err(err)?,
    }))
}
