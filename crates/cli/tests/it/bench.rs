//! `tessera bench` end to end, briefly: our server started on the fly over synthetic data, a
//! small fixed count of every operation in the mix over two connections. Asserts zero errors
//! and the report's shape, never a timing.

use crate::{ok, tessera};

#[test]
fn bench_mix_runs_with_zero_errors_and_reports_every_operation() {
    let out = tessera(
        &[
            "bench",
            "--op",
            "mix",
            "--requests",
            "30",
            "--connections",
            "2",
            "--patients",
            "2",
            "--floor-iterations",
            "5",
        ],
        None,
    );
    let report = ok(&out);
    assert!(report.contains("crypto floor per redemption:"), "{report}");
    for op in [
        "exchange",
        "exchange-dpop",
        "read",
        "search",
        "search-code",
        "search-date",
    ] {
        let row = report
            .lines()
            .find(|l| l.split_whitespace().next() == Some(op))
            .unwrap_or_else(|| panic!("no row for {op}: {report}"));
        let cols: Vec<&str> = row.split_whitespace().collect();
        // 30 requests in a mix of 6: each operation ran 5 times, none failed.
        assert_eq!(cols[1], "5", "{row}");
        assert_eq!(cols[2], "0", "{row}");
    }
    assert!(report.contains("server: "), "{report}");
    assert!(report.trim_end().ends_with("errors: 0"), "{report}");
}

#[test]
fn bench_refuses_an_unknown_operation() {
    let out = tessera(&["bench", "--op", "nonsense", "--requests", "1"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--op must be"));
}

#[test]
fn bench_drives_two_nodes_sharing_one_postgres_database() {
    let Some(pg) = tessera_store_pg::testing::TestDb::new() else {
        return;
    };
    let out = tessera(
        &[
            "bench",
            "--op",
            "mix",
            "--requests",
            "12",
            "--connections",
            "2",
            "--patients",
            "2",
            "--floor-iterations",
            "5",
            "--store",
            pg.url(),
            "--nodes",
            "2",
        ],
        None,
    );
    let report = ok(&out);
    assert!(report.contains("2 node(s) on postgres"), "{report}");
    // Connection 1 went to the second node with the token the first node issued at setup:
    // every search and read there succeeded on the shared database.
    assert!(report.trim_end().ends_with("errors: 0"), "{report}");
}

#[test]
fn bench_refuses_two_nodes_without_a_shared_store() {
    let out = tessera(&["bench", "--nodes", "2", "--requests", "1"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("more than one node needs a shared store"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `tessera synth` output of `patients` patients under `dir/data`.
fn synth(dir: &std::path::Path, patients: &str) -> String {
    let data = dir.join("data");
    ok(&tessera(
        &[
            "synth",
            "--patients",
            patients,
            "--out",
            data.to_str().unwrap(),
        ],
        None,
    ));
    data.to_str().unwrap().to_owned()
}

fn bench_over(data: &str, store: &str) -> std::process::Output {
    tessera(
        &[
            "bench",
            "--op",
            "mix",
            "--requests",
            "12",
            "--connections",
            "2",
            "--floor-iterations",
            "5",
            "--store",
            store,
            "--data",
            data,
        ],
        None,
    )
}

// Issue 12/13, data at scale: the run uses a store ingested beforehand, loading nothing itself.
#[test]
fn bench_runs_over_data_ingested_beforehand() {
    let dir = tempfile::tempdir().unwrap();
    let data = synth(dir.path(), "3");
    let store = format!("sqlite://{}", dir.path().join("big.db").display());
    ok(&tessera(
        &[
            "ingest",
            "--store",
            &store,
            "--progress",
            "none",
            &format!("{data}/bundles"),
        ],
        None,
    ));
    let report = ok(&bench_over(&data, &store));
    assert!(report.contains("1 node(s) on sqlite"), "{report}");
    assert!(report.trim_end().ends_with("errors: 0"), "{report}");
}

#[test]
fn bench_over_data_never_ingested_fails_rather_than_loading_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = synth(dir.path(), "2");
    let store = format!("sqlite://{}", dir.path().join("empty.db").display());
    let out = bench_over(&data, &store);
    // No patient in the store: every ticket's subject is unknown, so the run fails.
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("errors: 0"), "{stderr}");
}

#[test]
fn bench_data_must_be_synth_output_and_needs_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("x.db").display());
    let out = bench_over(dir.path().to_str().unwrap(), &store);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("holds no bundles/ directory (expected `tessera synth` output)"),
        "{stderr}"
    );
    let out = tessera(&["bench", "--data", dir.path().to_str().unwrap()], None);
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap refuses --data without --store"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--store"));
}
