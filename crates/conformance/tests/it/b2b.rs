//! The B2B ticket types are optional: without `[payer_claims]`, `[quality_gap]` or
//! `[public_health]` their tests are SKIP "needs setup" naming the section, and never reach
//! the target (a closed port); the sections are strict.

use std::sync::Arc;

use crate::wall_clock;
use tessera_conformance::{KitConfig, KitKeys, RunOptions};

const B2B_IDS: [&str; 18] = [
    "PT-TYPE-01",
    "PT-TYPE-08",
    "PT-TYPE-09",
    "PT-TYPE-10",
    "PT-TYPE-11",
    "PT-TYPE-12",
    "PT-TYPE-13",
    "PT-TYPE-14",
    "PT-TYPE-15",
    "PT-TYPE-18",
    "PT-BIND-10",
    "PT-SUBJ-06",
    "PT-CL-01",
    "PT-CL-02",
    "PT-CL-03",
    "PT-CL-04",
    "PT-CL-05",
    "PT-CL-06",
];

const BASE: &str = "fhir_base = \"http://127.0.0.1:1/fhir\"\nkeys = \"keys.json\"\ntimeout_seconds = 1\n\
    [issuer]\nlisten = \"127.0.0.1:0\"\nurl = \"http://127.0.0.1:1\"\n\
    ticket_types = [\"https://smarthealthit.org/permission-ticket-type/patient-self-access-v1\"]\n\
    [client]\nclient_id = \"kit\"\n[patient]\nfamily = \"A\"\ngiven = [\"B\"]\nbirth_date = \"2000-01-01\"\n";

#[tokio::test]
async fn without_their_sections_the_b2b_tests_skip_naming_the_section() {
    let dir = tempfile::tempdir().unwrap();
    KitKeys::generate()
        .unwrap()
        .save(&dir.path().join("keys.json"))
        .unwrap();
    std::fs::write(dir.path().join("kit.toml"), BASE).unwrap();
    let config = KitConfig::load(&dir.path().join("kit.toml")).unwrap();
    let keys = KitKeys::load(&config.keys).unwrap();
    let opts = RunOptions {
        only: B2B_IDS.iter().map(|s| (*s).to_owned()).collect(),
        progress: false,
    };
    let report = tessera_conformance::run(config, keys, None, Arc::new(wall_clock), &opts)
        .await
        .unwrap();
    assert_eq!(report.outcomes.len(), crate::cases_selected_by(&B2B_IDS));
    for o in &report.outcomes {
        let section = if o.case.starts_with("quality-gap")
            || ["PT-TYPE-12", "PT-TYPE-13", "PT-TYPE-14", "PT-TYPE-15"].contains(&o.id.as_str())
        {
            "[quality_gap]"
        } else if o.case.starts_with("public-health") || o.id == "PT-TYPE-18" {
            "[public_health]"
        } else {
            "[payer_claims]"
        };
        crate::assert_needs_setup(o, section);
    }
}

#[test]
fn the_b2b_sections_are_strict_and_checked() {
    let payer = "[payer_claims]\npayer = { system = \"urn:npi\", value = \"1\" }\n";
    let ok =
        format!("{BASE}{payer}encounters = [\"Encounter/e1\"]\nreleased = [\"Observation/o1\"]\n");
    let c = KitConfig::parse(&ok).unwrap();
    assert_eq!(c.self_issuer_iss(), "http://127.0.0.1:1/self-issuer");
    for bad in [
        format!("{BASE}{payer}encounters = []\n"),
        format!("{BASE}{payer}encounters = [\"Observation/o1\"]\n"),
        format!("{BASE}{payer}encounters = [\"Encounter/e1\"]\nunlinked = [\"o1\"]\n"),
        format!("{BASE}{payer}encounters = [\"Encounter/e1\"]\nkit_typo = 1\n"),
        format!(
            "{BASE}[quality_gap]\nrequester = {{ system = \"s\", value = \"v\" }}\nmeasure = []\n"
        ),
        format!(
            "{BASE}[public_health]\nrequester = {{ system = \"s\", value = \"v\" }}\ncondition = []\n"
        ),
    ] {
        assert!(KitConfig::parse(&bad).is_err(), "{bad}");
    }
}
