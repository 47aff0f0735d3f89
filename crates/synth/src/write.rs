//! The file-system sink: the only module of this crate that does I/O.
//!
//! Layout under the output directory:
//! - `manifest.json` — streamed: header keys, then `patient_records` one per line, then
//!   `summary`; valid JSON once the run finishes (written to `manifest.json.partial` and renamed).
//! - `bundles` layout: `bundles/NNNN/pNNNNNNN-given-family/<site>.json`, one `collection`
//!   Bundle per (patient, site), 1000 patients per `NNNN` shard directory.
//! - `ndjson` layout: `<ResourceType>.ndjson`, one resource per line; site-level resources
//!   (Organization, Location, Practitioner) written once.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::json::{to_compact, to_pretty};
use crate::manifest::{Header, Summary};
use crate::sink::{Layout, PatientOutput, Sink};

/// A write failure, with the path involved.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct WriteError {
    /// The file or directory.
    pub path: PathBuf,
    /// The I/O error.
    #[source]
    pub source: io::Error,
}

fn at(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError {
        path: path.to_owned(),
        source,
    }
}

/// Writes a run to a directory.
#[derive(Debug)]
pub struct DirSink {
    root: PathBuf,
    layout: Layout,
    pretty: bool,
    manifest: Option<BufWriter<File>>,
    first_patient: bool,
    ndjson: BTreeMap<String, BufWriter<File>>,
    last_dir: Option<PathBuf>,
}

impl DirSink {
    /// A sink writing under `root` (created if missing). `pretty` indents bundle files.
    pub fn new(root: impl Into<PathBuf>, layout: Layout, pretty: bool) -> Self {
        Self {
            root: root.into(),
            layout,
            pretty,
            manifest: None,
            first_patient: true,
            ndjson: BTreeMap::new(),
            last_dir: None,
        }
    }

    fn manifest_path(&self, partial: bool) -> PathBuf {
        self.root.join(if partial {
            "manifest.json.partial"
        } else {
            "manifest.json"
        })
    }

    fn manifest_write(&mut self, text: &str) -> Result<(), WriteError> {
        let path = self.manifest_path(true);
        match self.manifest.as_mut() {
            Some(w) => w.write_all(text.as_bytes()).map_err(at(&path)),
            None => Err(WriteError {
                path,
                source: io::Error::other("manifest not started"),
            }),
        }
    }

    fn ndjson_line(&mut self, resource: &Value) -> Result<(), WriteError> {
        let kind = resource
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("Unknown");
        // Resource type names are ASCII letters; anything else would be a generator bug, and
        // must not become a path component.
        let kind = if kind.bytes().all(|b| b.is_ascii_alphabetic()) {
            kind
        } else {
            "Unknown"
        };
        if !self.ndjson.contains_key(kind) {
            let path = self.root.join(format!("{kind}.ndjson"));
            let file = File::create(&path).map_err(at(&path))?;
            self.ndjson
                .insert(kind.to_owned(), BufWriter::with_capacity(256 * 1024, file));
        }
        let line = to_compact(resource);
        let path = self.root.join(format!("{kind}.ndjson"));
        if let Some(w) = self.ndjson.get_mut(kind) {
            w.write_all(line.as_bytes()).map_err(at(&path))?;
            w.write_all(b"\n").map_err(at(&path))?;
        }
        Ok(())
    }
}

impl Sink for DirSink {
    type Error = WriteError;

    fn begin(&mut self, header: &Header, shared: &[Value]) -> Result<(), WriteError> {
        fs::create_dir_all(&self.root).map_err(at(&self.root))?;
        let path = self.manifest_path(true);
        let file = File::create(&path).map_err(at(&path))?;
        self.manifest = Some(BufWriter::with_capacity(256 * 1024, file));
        let head = serde_json::to_value(header).unwrap_or(Value::Null);
        let mut text = String::from("{\n");
        if let Some(map) = head.as_object() {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for key in keys {
                if let Some(value) = map.get(key) {
                    text.push_str(&format!(
                        "{}: {},\n",
                        to_compact(&Value::String(key.clone())),
                        to_compact(value)
                    ));
                }
            }
        }
        text.push_str("\"patient_records\": [\n");
        self.manifest_write(&text)?;
        if self.layout == Layout::Ndjson {
            for resource in shared {
                self.ndjson_line(resource)?;
            }
        }
        Ok(())
    }

    fn patient(&mut self, patient: PatientOutput) -> Result<(), WriteError> {
        let entry = serde_json::to_value(&patient.entry).unwrap_or(Value::Null);
        let separator = if self.first_patient { "" } else { ",\n" };
        self.first_patient = false;
        self.manifest_write(&format!("{separator}{}", to_compact(&entry)))?;
        match self.layout {
            Layout::Bundles => {
                for bundle in &patient.bundles {
                    let path = self.root.join(&bundle.path);
                    if let Some(dir) = path.parent()
                        && self.last_dir.as_deref() != Some(dir)
                    {
                        fs::create_dir_all(dir).map_err(at(dir))?;
                        self.last_dir = Some(dir.to_owned());
                    }
                    let text = if self.pretty {
                        to_pretty(&bundle.bundle)
                    } else {
                        to_compact(&bundle.bundle) + "\n"
                    };
                    fs::write(&path, text).map_err(at(&path))?;
                }
            }
            Layout::Ndjson => {
                for bundle in &patient.bundles {
                    for resource in bundle.patient_resources() {
                        self.ndjson_line(resource)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), WriteError> {
        let summary = serde_json::to_value(summary).unwrap_or(Value::Null);
        self.manifest_write(&format!(
            "\n],\n\"summary\": {}\n}}\n",
            to_pretty(&summary).trim_end()
        ))?;
        let partial = self.manifest_path(true);
        if let Some(mut w) = self.manifest.take() {
            w.flush().map_err(at(&partial))?;
        }
        for (kind, w) in &mut self.ndjson {
            let path = self.root.join(format!("{kind}.ndjson"));
            w.flush().map_err(at(&path))?;
        }
        self.ndjson.clear();
        let done = self.manifest_path(false);
        fs::rename(&partial, &done).map_err(at(&done))
    }
}
