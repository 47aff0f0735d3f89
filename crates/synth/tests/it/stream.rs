//! Streaming to disk: 2,000 patients, counts in the manifest match the files written.

use std::collections::BTreeMap;

use serde_json::Value;
use tessera_synth::write::DirSink;
use tessera_synth::{Config, Layout, generate};

fn files_under(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path)
            } else {
                out.push(path)
            }
        }
    }
    out
}

#[test]
fn two_thousand_patients_stream_to_bundle_files() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::new(77, 2000);
    let summary = generate(
        &config,
        &mut DirSink::new(dir.path(), Layout::Bundles, false),
    )
    .unwrap();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    let records = manifest["patient_records"].as_array().unwrap();
    assert_eq!(records.len(), 2000);
    assert_eq!(manifest["summary"]["totals"]["patients"], 2000);
    let bundle_files: Vec<_> = files_under(&dir.path().join("bundles"));
    assert_eq!(bundle_files.len() as u64, summary.totals.bundles);
    // shards of 1000 patients
    assert!(dir.path().join("bundles/0000").is_dir() && dir.path().join("bundles/0001").is_dir());
    let mut resources = 0_u64;
    for record in records {
        for site in record["sites"].as_array().unwrap() {
            let path = dir.path().join(site["file"].as_str().unwrap());
            assert!(path.is_file(), "{}", path.display());
            resources += site["resources"].as_u64().unwrap();
        }
    }
    assert_eq!(resources, summary.totals.resources);
    assert_eq!(
        summary.counts.values().sum::<u64>(),
        summary.totals.resources
    );
    assert!(
        summary.totals.diabetic_patients > 100,
        "{:?}",
        summary.totals
    );
    assert!(summary.totals.covid_tx_conditions > 0);
    assert!(summary.facts.claims.len() <= tessera_synth::manifest::FACT_SAMPLE);
}

#[test]
fn ndjson_layout_writes_shared_resources_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        layout: Layout::Ndjson,
        ..Config::new(4, 150)
    };
    let summary = generate(
        &config,
        &mut DirSink::new(dir.path(), Layout::Ndjson, false),
    )
    .unwrap();
    let mut lines: BTreeMap<String, u64> = BTreeMap::new();
    for path in files_under(dir.path()) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(kind) = name.strip_suffix(".ndjson") {
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines() {
                let v: Value = serde_json::from_str(line).unwrap();
                assert_eq!(v["resourceType"], kind);
            }
            lines.insert(kind.to_owned(), text.lines().count() as u64);
        }
    }
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    let sites = manifest["sites"].as_array().unwrap();
    let practitioners: u64 = sites
        .iter()
        .map(|s| s["practitioners"].as_array().unwrap().len() as u64)
        .sum();
    assert_eq!(lines["Location"], sites.len() as u64);
    assert_eq!(lines["Practitioner"], practitioners);
    assert_eq!(
        lines["Organization"],
        (sites.len() + manifest["payers"].as_array().unwrap().len()) as u64
    );
    for kind in ["Patient", "Encounter", "Observation", "Claim", "Coverage"] {
        assert_eq!(lines[kind], summary.counts[kind], "{kind}");
    }
    assert!(records_have_no_files(&manifest));
}

fn records_have_no_files(manifest: &Value) -> bool {
    manifest["patient_records"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| {
            r["sites"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s.get("file").is_none())
        })
}
