//! A hostile or broken target: redirects, non-JSON, oversized bodies, a server that never
//! answers. The kit follows no redirect, reads bounded bodies, times out, reports a readable
//! failure for the affected tests and finishes the run.

use std::sync::Arc;
use std::time::Duration;

use crate::wall_clock;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tessera_conformance::{KitConfig, KitKeys, RunOptions, Status};

#[derive(Clone, Copy, Debug)]
enum Misbehaviour {
    Redirect,
    Html,
    Huge,
    Silent,
}

async fn serve(m: Misbehaviour) -> String {
    let discovery = move || async move {
        match m {
            Misbehaviour::Redirect => (
                StatusCode::FOUND,
                [(header::LOCATION, "http://127.0.0.1:9/elsewhere")],
            )
                .into_response(),
            Misbehaviour::Html => {
                ([(header::CONTENT_TYPE, "text/html")], "<html>hello</html>").into_response()
            }
            Misbehaviour::Huge => "x".repeat(64 * 1024).into_response(),
            Misbehaviour::Silent => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "never".into_response()
            }
        }
    };
    let app = Router::new().route("/fhir/.well-known/smart-configuration", get(discovery));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/fhir")
}

#[tokio::test]
async fn a_broken_target_fails_readably_and_the_run_finishes() {
    let dir = tempfile::tempdir().unwrap();
    KitKeys::generate()
        .unwrap()
        .save(&dir.path().join("keys.json"))
        .unwrap();
    for (m, reason) in [
        (Misbehaviour::Redirect, "expected 200"),
        (Misbehaviour::Html, "not a JSON object"),
        (Misbehaviour::Huge, "body larger than 4096 bytes"),
        (Misbehaviour::Silent, "timed out"),
    ] {
        let base = serve(m).await;
        let toml = format!(
            "fhir_base = \"{base}\"\nkeys = \"keys.json\"\ntimeout_seconds = 1\nmax_body_bytes = 4096\n\
             [issuer]\nlisten = \"127.0.0.1:0\"\nurl = \"http://127.0.0.1:1\"\n\
             ticket_types = [\"https://smarthealthit.org/permission-ticket-type/patient-self-access-v1\"]\n\
             [client]\nclient_id = \"kit\"\n[patient]\nfamily = \"A\"\ngiven = [\"B\"]\nbirth_date = \"2000-01-01\"\n"
        );
        std::fs::write(dir.path().join("kit.toml"), toml).unwrap();
        let config = KitConfig::load(&dir.path().join("kit.toml")).unwrap();
        let keys = KitKeys::load(&config.keys).unwrap();
        let opts = RunOptions {
            only: vec!["PT-DISC".into(), "PT-REQ-01".into()],
            progress: false,
        };
        let report = tessera_conformance::run(config, keys, None, Arc::new(wall_clock), &opts)
            .await
            .unwrap();
        assert_eq!(report.outcomes.len(), 6, "{m:?}");
        for o in &report.outcomes {
            assert_eq!(o.status, Status::Fail, "{m:?} {}/{}", o.id, o.case);
            assert!(
                o.detail.contains(reason),
                "{m:?} {}/{}: {}",
                o.id,
                o.case,
                o.detail
            );
        }
        assert_eq!(
            report.failing_ids(),
            [
                "PT-DISC-01",
                "PT-DISC-02",
                "PT-DISC-03",
                "PT-DISC-04",
                "PT-DISC-05",
                "PT-REQ-01"
            ]
        );
        reports_carry_the_failures(&report);
    }
}

/// The three renderings of a failing run: plain text without escapes (colour only when asked),
/// JSON that parses with every outcome, JUnit XML with one failing testcase per check.
fn reports_carry_the_failures(report: &tessera_conformance::Report) {
    use tessera_conformance::report::{Style, junit, terminal};
    let plain = terminal(report, Style::Plain);
    assert!(!plain.contains('\x1b'));
    assert!(
        plain.contains("FAIL PT-DISC-01") && plain.contains("NOT conformant"),
        "{plain}"
    );
    assert!(terminal(report, Style::Colour).contains("\x1b[31;1mFAIL"));
    let json: serde_json::Value = serde_json::from_str(&report.json()).unwrap();
    assert_eq!(
        json["outcomes"].as_array().unwrap().len(),
        report.outcomes.len()
    );
    assert_eq!(json["outcomes"][0]["status"], "fail");
    let xml = junit(report);
    assert_eq!(xml.matches("<testcase ").count(), report.outcomes.len());
    assert_eq!(xml.matches("<failure ").count(), report.outcomes.len());
    assert!(xml.contains("classname=\"PT-REQ-01\""), "{xml}");
}
