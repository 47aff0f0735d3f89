//! Ingest: loading FHIR R4 Bundles (collection, transaction, batch) and single resources from
//! files or directories into a [`ResourceStore`], with a report of what happened.
//!
//! Sites: with [`SiteMode::PerBundleFile`] every Bundle file is one site, named by its file
//! stem (e.g. `central-austin-family-medicine`); its Organization resources give the site's
//! holder profile (identifiers such as the NPI, address state/country). Single-resource
//! files belong to no site. Files and directories whose names start with `_` or `.` are
//! metadata and skipped. Directory walks are sorted, so ingest is deterministic.

mod bundle;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use thiserror::Error;

use crate::error::StoreError;
use crate::model::{ResourceStore, WriteOutcome};
pub use bundle::site_code;

/// Largest file ingested.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Files read and prepared ahead of the one being written.
const PREPARED_AHEAD: usize = 2;
/// Deepest directory recursion.
const MAX_DIR_DEPTH: usize = 8;

/// How ingested documents map to sites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SiteMode {
    /// Each Bundle file is a site (its ids namespaced, see [`site_code`]).
    #[default]
    PerBundleFile,
    /// No sites: ids are kept as they are (a single-source deployment).
    None,
}

/// Ingest settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestOptions {
    /// Unix seconds stamped as `meta.lastUpdated` where the source has none.
    pub now: i64,
    /// Site mapping.
    pub sites: SiteMode,
}

/// What an ingest did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Files read.
    pub files: usize,
    /// Of which Bundles.
    pub bundles: usize,
    /// Resources accepted (created + updated + unchanged).
    pub resources: usize,
    /// New resources.
    pub created: usize,
    /// Changed resources.
    pub updated: usize,
    /// Resources identical to what was stored.
    pub unchanged: usize,
    /// Accepted resources per type.
    pub by_type: BTreeMap<String, usize>,
    /// Sites created or refreshed.
    pub sites: std::collections::BTreeSet<String>,
    /// Skipped entries and files, with reasons (`path: reason`).
    pub errors: Vec<String>,
}

/// A failure that stops ingest (bad entries are reported, not fatal).
#[derive(Debug, Error)]
pub enum IngestError {
    /// The path could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Ingests a file or a directory tree of `*.json` files.
pub fn ingest_path(
    store: &dyn ResourceStore,
    path: &Path,
    opts: &IngestOptions,
) -> Result<IngestReport, IngestError> {
    let plan = plan_path(path)?;
    ingest_plan(store, &plan, opts, &mut |_| {})
}

/// The files an ingest of `path` reads, in order, and what it skips before reading any:
/// [`ingest_path`] in two steps, so a caller can show progress against the total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestPlan {
    /// Each file and its size in bytes.
    pub files: Vec<(PathBuf, u64)>,
    /// Skipped files and directories, with reasons (`path: reason`).
    pub skipped: Vec<String>,
}

impl IngestPlan {
    /// Bytes in all files.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.1).sum()
    }
}

/// Progress after one file.
#[derive(Debug, Clone, Copy)]
pub struct IngestProgress<'a> {
    /// The file just ingested.
    pub file: &'a Path,
    /// Files done so far (this one included).
    pub files_done: usize,
    /// Bytes of the files done so far.
    pub bytes_done: u64,
    /// The report so far.
    pub report: &'a IngestReport,
}

/// Walks `path` as [`ingest_path`] does, without reading any file.
pub fn plan_path(path: &Path) -> Result<IngestPlan, IngestError> {
    let mut plan = IngestPlan::default();
    walk(path, &mut plan, 0)?;
    Ok(plan)
}

/// Ingests the files of `plan` in order, one transaction per file, calling `progress` after
/// each.
pub fn ingest_plan(
    store: &dyn ResourceStore,
    plan: &IngestPlan,
    opts: &IngestOptions,
    progress: &mut dyn FnMut(IngestProgress<'_>),
) -> Result<IngestReport, IngestError> {
    let mut report = IngestReport {
        errors: plan.skipped.clone(),
        ..IngestReport::default()
    };
    // Reading, parsing and preparing the next files (CPU) overlaps writing this one (the
    // database): a reader thread hands prepared files over in order through a short queue.
    std::thread::scope(|scope| -> Result<(), IngestError> {
        let (sender, receiver) = std::sync::mpsc::sync_channel(PREPARED_AHEAD);
        scope.spawn(move || {
            for (file, len) in &plan.files {
                let loaded = load_file(file, opts);
                let failed = loaded.is_err();
                // A closed queue means the writer stopped on an error: stop too.
                if sender.send((file, *len, loaded)).is_err() || failed {
                    break;
                }
            }
        });
        let mut bytes_done = 0;
        for (i, (file, len, loaded)) in receiver.into_iter().enumerate() {
            write_file(store, file, loaded?, &mut report)?;
            bytes_done += len;
            progress(IngestProgress {
                file,
                files_done: i + 1,
                bytes_done,
                report: &report,
            });
        }
        Ok(())
    })?;
    tracing::info!(
        files = report.files,
        resources = report.resources,
        created = report.created,
        updated = report.updated,
        unchanged = report.unchanged,
        errors = report.errors.len(),
        "ingest finished"
    );
    Ok(report)
}

/// Ingests one parsed document (Bundle or resource) for `site`.
pub fn ingest_value(
    store: &dyn ResourceStore,
    doc: Value,
    site: Option<&str>,
    opts: &IngestOptions,
    report: &mut IngestReport,
) -> Result<(), StoreError> {
    write_prepared(store, bundle::prepare(doc, site, opts.now), site, report)
}

/// The write half of [`ingest_value`].
fn write_prepared(
    store: &dyn ResourceStore,
    prepared: bundle::Prepared,
    site: Option<&str>,
    report: &mut IngestReport,
) -> Result<(), StoreError> {
    report.errors.extend(prepared.errors);
    if prepared.is_bundle {
        report.bundles += 1;
    }
    if let Some(site) = site {
        store.put_site(&bundle::site_profile(site, &prepared.resources))?;
        report.sites.insert(site.to_owned());
    }
    let outcomes = store.put_resources(&prepared.resources)?;
    for (res, outcome) in prepared.resources.iter().zip(outcomes) {
        report.resources += 1;
        *report.by_type.entry(res.resource_type.clone()).or_default() += 1;
        match outcome {
            WriteOutcome::Created => report.created += 1,
            WriteOutcome::Updated => report.updated += 1,
            WriteOutcome::Unchanged => report.unchanged += 1,
        }
    }
    Ok(())
}

fn walk(path: &Path, plan: &mut IngestPlan, depth: usize) -> Result<(), IngestError> {
    let io = |source| IngestError::Io {
        path: path.display().to_string(),
        source,
    };
    let meta = fs::symlink_metadata(path).map_err(io)?;
    if meta.is_dir() {
        if depth >= MAX_DIR_DEPTH {
            plan.skipped
                .push(format!("{}: directory nesting too deep", path.display()));
            return Ok(());
        }
        let mut children: Vec<_> = fs::read_dir(path)
            .map_err(io)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| !n.starts_with(['_', '.']))
            })
            .collect();
        children.sort();
        for child in children {
            let is_json = child.extension().is_some_and(|e| e == "json");
            if child.is_dir() || is_json {
                walk(&child, plan, depth + 1)?;
            }
        }
        return Ok(());
    }
    if !meta.is_file() {
        return Ok(());
    }
    if meta.len() > MAX_FILE_BYTES {
        plan.skipped.push(format!(
            "{}: larger than {MAX_FILE_BYTES} bytes",
            path.display()
        ));
        return Ok(());
    }
    plan.files.push((path.to_owned(), meta.len()));
    Ok(())
}

/// A file read and prepared on the reader thread, ready to write.
enum LoadedFile {
    /// Not JSON: reported, nothing written.
    NotJson(String),
    /// A document prepared for its site.
    Doc {
        prepared: bundle::Prepared,
        site: Option<String>,
    },
}

/// Reads, parses and prepares one file (everything but the write).
fn load_file(path: &Path, opts: &IngestOptions) -> Result<LoadedFile, IngestError> {
    let bytes = fs::read(path).map_err(|source| IngestError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let doc: Value = match serde_json::from_slice(&bytes) {
        Ok(doc) => doc,
        Err(e) => return Ok(LoadedFile::NotJson(e.to_string())),
    };
    let is_bundle = doc.get("resourceType").and_then(Value::as_str) == Some("Bundle");
    let site = match opts.sites {
        SiteMode::PerBundleFile if is_bundle => {
            path.file_stem().and_then(|s| s.to_str()).map(site_id_from)
        }
        _ => None,
    };
    let prepared = bundle::prepare(doc, site.as_deref(), opts.now);
    Ok(LoadedFile::Doc { prepared, site })
}

fn write_file(
    store: &dyn ResourceStore,
    path: &Path,
    loaded: LoadedFile,
    report: &mut IngestReport,
) -> Result<(), IngestError> {
    report.files += 1;
    let (prepared, site) = match loaded {
        LoadedFile::NotJson(e) => {
            report
                .errors
                .push(format!("{}: not JSON: {e}", path.display()));
            return Ok(());
        }
        LoadedFile::Doc { prepared, site } => (prepared, site),
    };
    let before = report.errors.len();
    write_prepared(store, prepared, site.as_deref(), report)?;
    for e in &mut report.errors[before..] {
        *e = format!("{}: {e}", path.display());
    }
    tracing::info!(file = %path.display(), resources = report.resources, "ingested");
    Ok(())
}

/// A site id from a file stem: lower-case `[a-z0-9-]`, at most 64 characters.
pub fn site_id_from(stem: &str) -> String {
    let id: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if id.is_empty() { "site".to_owned() } else { id }
}
