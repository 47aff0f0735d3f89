//! `tessera ingest`: the synthetic data into SQLite and into PostgreSQL (when a server
//! answers) with the same report, idempotent re-runs, plain progress lines when stderr is not
//! a terminal, and one exact stderr line for each store it cannot use.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use tessera_store::ResourceStore;
use tessera_store_pg::testing::TestDb;
use tessera_store_pg::{PoolOptions, open_resources};

use crate::{fails_with, ok, path_str, tessera};

fn synth(dir: &Path) -> String {
    let out = dir.join("synth");
    ok(&tessera(
        &[
            "synth",
            "--patients",
            "3",
            "--seed",
            "7",
            "--out",
            path_str(&out),
        ],
        None,
    ));
    path_str(&out.join("bundles")).to_owned()
}

/// Runs an ingest that must succeed; returns the report and the stderr lines.
fn ingest(store: &str, path: &str) -> (Value, Vec<String>) {
    let out = tessera(&["ingest", "--store", store, path], None);
    let report = serde_json::from_str(&ok(&out)).unwrap();
    let lines = String::from_utf8(out.stderr)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    (report, lines)
}

/// The progress lines of a run: tenths of the bytes, then the summary.
fn check_progress(lines: &[String], report: &Value) {
    let (last, steps) = lines.split_last().unwrap();
    assert!(steps.len() <= 9, "{lines:#?}");
    for l in steps {
        assert!(
            l.starts_with("ingest: ") && l.contains("% ") && l.contains(" ETA "),
            "{l}"
        );
    }
    let want = format!(
        "ingest: done {} files, {} resources (created {}, updated {}, unchanged {}), 0 skipped, in ",
        report["files"],
        report["resources"],
        report["created"],
        report["updated"],
        report["unchanged"]
    );
    assert!(last.starts_with(&want), "{last} / {want}");
    assert!(last.ends_with(" resources/s"), "{last}");
}

fn counts(store: &dyn ResourceStore) -> BTreeMap<String, Value> {
    store
        .type_counts()
        .unwrap()
        .into_iter()
        .map(|(t, n)| (t, Value::from(n)))
        .collect()
}

#[test]
fn ingest_loads_sqlite_and_postgres_alike_and_reruns_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bundles = synth(dir.path());
    let db = dir.path().join("holder.db");
    let sqlite = format!("sqlite://{}", db.display());
    let (first, lines) = ingest(&sqlite, &bundles);
    check_progress(&lines, &first);
    assert!(first["created"].as_u64().unwrap() > 100, "{first}");
    assert_eq!(first["updated"], 0);
    assert_eq!(first["errors"], serde_json::json!([]));
    let (again, lines) = ingest(&sqlite, &bundles);
    check_progress(&lines, &again);
    assert_eq!(again["created"], 0, "{again}");
    assert_eq!(again["unchanged"], first["resources"]);
    let store = tessera_store::SqliteStore::open(&db).unwrap();
    // Distinct sites, not one per file (synth writes a Bundle per patient and site).
    assert!(first["bundles"].as_u64().unwrap() > first["sites"].as_u64().unwrap());
    assert_eq!(first["sites"], store.sites().unwrap().len(), "{first}");
    let by_type = counts(&store);
    assert_eq!(
        by_type.values().map(|v| v.as_u64().unwrap()).sum::<u64>(),
        first["created"].as_u64().unwrap()
    );

    let Some(pg) = TestDb::new() else {
        return;
    };
    let (pfirst, lines) = ingest(pg.url(), &bundles);
    check_progress(&lines, &pfirst);
    assert_eq!(pfirst, first, "the same report on PostgreSQL");
    let (pagain, _) = ingest(pg.url(), &bundles);
    assert_eq!(pagain, again);
    let pstore = open_resources(pg.url(), PoolOptions::default()).unwrap();
    assert_eq!(counts(pstore.as_ref()), by_type);
    assert_eq!(pstore.sites().unwrap(), store.sites().unwrap());
}

#[test]
fn ingest_names_each_store_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let data = path_str(dir.path());
    let run = |store: &str| tessera(&["ingest", "--store", store, data], None);
    fails_with(
        &run("postgres://postgres@127.0.0.1:1/test"),
        "error: cannot open the store: cannot connect to PostgreSQL: error connecting to server: \
         Connection refused (os error 111)",
    );
    fails_with(
        &run("postgres://127.0.0.1:99999/test"),
        "error: cannot open the store: bad PostgreSQL URL: invalid connection string: \
         invalid value for option `port`",
    );
    fails_with(
        &run("mysql://db.example/x"),
        "error: cannot open the store: unsupported store URL: mysql://db.example/x",
    );
    let db = dir.path().join("h.db");
    let missing = dir.path().join("missing");
    fails_with(
        &tessera(
            &[
                "ingest",
                "--store",
                &format!("sqlite://{}", db.display()),
                path_str(&missing),
            ],
            None,
        ),
        &format!(
            "error: cannot read {}: No such file or directory (os error 2)",
            missing.display()
        ),
    );

    let Some(mut pg) = TestDb::new() else {
        return;
    };
    ok(&tessera(&["ingest", "--store", pg.url(), data], None));
    let newest = tessera_store_pg::migrate::newest_version();
    let schema = pg.schema().to_owned();
    pg.admin()
        .execute(
            &format!(
                "INSERT INTO {schema}.refinery_schema_history (version, name, applied_on, checksum) \
                 VALUES ($1, 'next', '2030-01-01T00:00:00Z', '0')"
            ),
            &[&i32::try_from(newest + 1).unwrap()],
        )
        .unwrap();
    fails_with(
        &tessera(&["ingest", "--store", pg.url(), data], None),
        &format!(
            "error: cannot open the store: database schema version {} is newer than supported {newest}",
            newest + 1
        ),
    );
}
