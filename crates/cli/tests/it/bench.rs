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
