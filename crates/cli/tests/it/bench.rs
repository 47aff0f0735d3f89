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
            "35",
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
        "page",
    ] {
        let row = report
            .lines()
            .find(|l| l.split_whitespace().next() == Some(op))
            .unwrap_or_else(|| panic!("no row for {op}: {report}"));
        let cols: Vec<&str> = row.split_whitespace().collect();
        // 35 requests in a mix of 7: each operation ran 5 times, none failed.
        assert_eq!(cols[1], "5", "{row}");
        assert_eq!(cols[2], "0", "{row}");
    }
    assert!(report.contains("server: "), "{report}");
    // Start-up: the first start ingests; a restart on the filled store is the warm boot.
    let boot = report
        .lines()
        .find(|l| l.starts_with("boot: "))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        boot.contains("(ingesting the data)") && boot.contains("restart on the warm store"),
        "{boot}"
    );
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
    // The data's own size, from its manifest, not the --patients default.
    assert!(
        report.contains("against 3 synthetic patient(s) (preloaded), 1 node(s) on sqlite"),
        "{report}"
    );
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

/// A Data Holder started elsewhere (here: `tessera serve` by this test) and its description:
/// the issuer it trusts with that issuer's key, its registered client with its key, a patient.
fn running_target(dir: &std::path::Path) -> (crate::pg_node::Node, std::path::PathBuf) {
    use serde_json::json;
    let issuer = tessera_jose::PrivateJwk::generate(tessera_jose::Alg::Es256).unwrap();
    let client = tessera_jose::PrivateJwk::generate(tessera_jose::Alg::Es256).unwrap();
    let public =
        |k: &tessera_jose::PrivateJwk| json!({ "keys": [k.public().to_value()] }).to_string();
    std::fs::write(dir.join("issuer.jwks.json"), public(&issuer)).unwrap();
    std::fs::write(dir.join("client.jwks.json"), public(&client)).unwrap();
    std::fs::write(
        dir.join("issuer.private.json"),
        issuer.to_value().to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("client.private.json"),
        client.to_value().to_string(),
    )
    .unwrap();
    let mut entries = vec![json!({"fullUrl": "Patient/elena", "resource": {
        "resourceType": "Patient", "id": "elena", "gender": "female", "birthDate": "1989-09-14",
        "name": [{"family": "Reyes", "given": ["Elena"]}],
        "identifier": [{"system": "http://hospital.example.org/mrn", "value": "A12345"}]}})];
    // Enough Observations for several pages of ten.
    for i in 0..25 {
        entries.push(json!({"fullUrl": format!("Observation/o{i}"), "resource": {
            "resourceType": "Observation", "id": format!("o{i}"), "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
            "subject": {"reference": "Patient/elena"},
            "effectiveDateTime": format!("2024-01-{:02}", i + 1)}}));
    }
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": entries});
    std::fs::write(dir.join("bundle.json"), bundle.to_string()).unwrap();
    let config = dir.join("holder.toml");
    std::fs::write(
        &config,
        format!(
            r#"
listen = "127.0.0.1:0"
base_url = "https://dh.example.org/fhir"
store = "sqlite://{store}"
load = ["{bundle}"]
trust_frameworks = ["https://network.example"]
[holder]
organization = [{{ system = "http://hl7.org/fhir/sid/us-npi", value = "1234567893" }}]
address = {{ country = "US", state = "CA" }}
[[issuer]]
iss = "https://issuer.example"
jwks_file = "issuer.jwks.json"
ticket_types = ["https://smarthealthit.org/permission-ticket-type/patient-self-access-v1"]
[[client]]
client_id = "load-client"
jwks_file = "client.jwks.json"
"#,
            store = dir.join("holder.db").display(),
            bundle = dir.join("bundle.json").display(),
        ),
    )
    .unwrap();
    let node = crate::pg_node::Node::start(&config);
    let target = dir.join("target.toml");
    std::fs::write(
        &target,
        format!(
            r#"
base_url = "https://dh.example.org/fhir"
issuer = "https://issuer.example"
issuer_key = "issuer.private.json"
client_id = "load-client"
client_key = "client.private.json"
scopes = ["patient/Patient.rs", "patient/Observation.rs"]
server_pid = {pid}

[[subject]]
id = "elena"
patient = {{ resourceType = "Patient", birthDate = "1989-09-14", name = [{{ family = "Reyes", given = ["Elena"] }}], identifier = [{{ system = "http://hospital.example.org/mrn", value = "A12345" }}] }}
"#,
            pid = node.pid().unwrap()
        ),
    )
    .unwrap();
    (node, target)
}

// Issue 12: `--url` drives a Data Holder this command did not start, from its description.
#[test]
fn bench_drives_a_data_holder_running_elsewhere_from_its_description() {
    let dir = tempfile::tempdir().unwrap();
    let (node, target) = running_target(dir.path());
    let url = format!("http://{}/fhir", node.addr);
    let out = tessera(
        &[
            "bench",
            "--url",
            &url,
            "--target",
            target.to_str().unwrap(),
            "--op",
            "mix",
            "--requests",
            "14",
            "--connections",
            "2",
            "--floor-iterations",
            "5",
        ],
        None,
    );
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        report.contains(&format!("against the Data Holder at {url}")),
        "{report}"
    );
    for op in [
        "exchange",
        "exchange-dpop",
        "read",
        "search",
        "search-code",
        "search-date",
        "page",
    ] {
        let row = report
            .lines()
            .find(|l| l.split_whitespace().next() == Some(op))
            .unwrap_or_else(|| panic!("no row for {op}: {report}"));
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!((cols[1], cols[2]), ("2", "0"), "{row}");
    }
    // server_pid given: its CPU and memory are read from /proc.
    assert!(report.contains("µs per request"), "{report}");
    assert!(report.trim_end().ends_with("errors: 0"), "{report}");
}

#[test]
fn bench_sends_load_only_to_this_machine_and_checks_its_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target.toml");
    std::fs::write(&target, "").unwrap();
    for (args, message) in [
        (
            vec![
                "--url",
                "http://192.0.2.10/fhir",
                "--target",
                target.to_str().unwrap(),
            ],
            "is not an http(s) URL on this machine",
        ),
        (
            vec![
                "--url",
                "http://127.0.0.1:1/fhir",
                "--target",
                target.to_str().unwrap(),
            ],
            "target description",
        ),
        (
            vec!["--duration", "0"],
            "--duration must be 1 to 240 seconds",
        ),
        (
            vec!["--duration", "600"],
            "--duration must be 1 to 240 seconds",
        ),
        (
            vec![
                "--url",
                "http://127.0.0.1:1/fhir",
                "--target",
                target.to_str().unwrap(),
                "--nodes",
                "2",
            ],
            "--url drives a Data Holder already running",
        ),
    ] {
        let mut all = vec!["bench", "--requests", "1"];
        all.extend(args.iter().copied());
        let out = tessera(&all, None);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let out = tessera(&["bench", "--url", "http://127.0.0.1:1/fhir"], None);
    assert_eq!(out.status.code(), Some(2), "clap: --url needs --target");
}

// A run with --duration ends by itself with fewer requests than --requests allowed (the
// figure is whatever was answered; nothing about the time is asserted).
#[test]
fn bench_stops_at_its_duration() {
    let out = tessera(
        &[
            "bench",
            "--op",
            "read",
            "--requests",
            "100000000",
            "--duration",
            "1",
            "--connections",
            "1",
            "--patients",
            "1",
            "--floor-iterations",
            "2",
        ],
        None,
    );
    let report = ok(&out);
    let row = report
        .lines()
        .find(|l| l.split_whitespace().next() == Some("read"))
        .unwrap_or_else(|| panic!("{report}"));
    let count: u64 = row.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(count > 0 && count < 100_000_000, "{row}");
    assert!(report.trim_end().ends_with("errors: 0"), "{report}");
}
