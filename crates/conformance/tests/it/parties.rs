//! The trust-framework parties are optional: without their `kit.toml` section, or with a key
//! file from before the kit modelled them, their tests are SKIP "needs setup" naming what to
//! set up, and never reach the target (here a closed port).

use std::sync::Arc;

use crate::wall_clock;
use tessera_conformance::{KitConfig, KitKeys, Report, RunOptions};

const PARTY_IDS: [&str; 10] = [
    "PT-EVID",
    "PT-TRUST-06",
    "PT-CA-10",
    "PT-BIND-06",
    "PT-TRUST-04",
    "PT-CA-09",
    "PT-BIND-07",
    "PT-BIND-08",
    "PT-TRUST-02",
    "PT-TRUST-03",
];

async fn run(dir: &std::path::Path, sections: &str, keys: &KitKeys, only: &[&str]) -> Report {
    keys.save(&dir.join("keys.json")).unwrap();
    let toml = format!(
        "fhir_base = \"http://127.0.0.1:1/fhir\"\nkeys = \"keys.json\"\ntimeout_seconds = 1\n\
         [issuer]\nlisten = \"127.0.0.1:0\"\nurl = \"http://127.0.0.1:1\"\n\
         ticket_types = [\"https://smarthealthit.org/permission-ticket-type/patient-self-access-v1\", \
         \"https://smarthealthit.org/permission-ticket-type/patient-delegated-access-v1\"]\n\
         [client]\nclient_id = \"kit\"\n[patient]\nfamily = \"A\"\ngiven = [\"B\"]\nbirth_date = \"2000-01-01\"\n\
         [other_patient]\nfamily = \"C\"\ngiven = [\"D\"]\nbirth_date = \"2001-01-01\"\n\
         identifier = [{{ system = \"urn:mrn\", value = \"1\" }}]\n{sections}"
    );
    std::fs::write(dir.join("kit.toml"), toml).unwrap();
    let config = KitConfig::load(&dir.join("kit.toml")).unwrap();
    let keys = KitKeys::load(&config.keys).unwrap();
    let opts = RunOptions {
        only: only.iter().map(|s| (*s).to_owned()).collect(),
        progress: false,
    };
    tessera_conformance::run(config, keys, None, Arc::new(wall_clock), &opts)
        .await
        .unwrap()
}

/// Every outcome is a skip whose reason starts "needs setup:" and contains `names`.
fn all_skip(report: &Report, names: &str) {
    assert!(!report.outcomes.is_empty());
    for o in &report.outcomes {
        crate::assert_needs_setup(o, names);
    }
}

#[tokio::test]
async fn without_their_sections_the_parties_tests_skip_naming_the_section() {
    let dir = tempfile::tempdir().unwrap();
    let keys = KitKeys::generate().unwrap();
    let report = run(dir.path(), "", &keys, &PARTY_IDS).await;
    // Every case of the selected IDs ran, and each skipped naming its section.
    assert_eq!(report.outcomes.len(), crate::cases_selected_by(&PARTY_IDS));
    for o in &report.outcomes {
        let section = match o.id.as_str() {
            id if id.starts_with("PT-EVID") || id == "PT-TRUST-06" => "[identity_provider]",
            "PT-CA-10" | "PT-BIND-06" | "PT-TRUST-04" => "[udap]",
            "PT-CA-09" | "PT-BIND-07" => "[well_known]",
            _ => "[federation]",
        };
        crate::assert_needs_setup(o, section);
    }
}

#[tokio::test]
async fn a_key_file_without_the_parties_keys_skips_asking_for_init() {
    let dir = tempfile::tempdir().unwrap();
    let mut keys = KitKeys::generate().unwrap();
    keys.idp = None;
    keys.udap = None;
    keys.federation_anchor = None;
    let sections =
        "[identity_provider]\n[udap]\ncommunity = \"https://udap.example\"\n[federation]\n";
    // The well-known client needs no key of its own, so it is not among these.
    let only = [
        "PT-EVID",
        "PT-TRUST-06",
        "PT-CA-10",
        "PT-BIND-06",
        "PT-TRUST-04",
        "PT-BIND-08",
        "PT-TRUST-02",
        "PT-TRUST-03",
    ];
    let report = run(dir.path(), sections, &keys, &only).await;
    all_skip(&report, "init");
}

#[tokio::test]
async fn without_their_sections_the_target_data_tests_skip_naming_the_section() {
    let dir = tempfile::tempdir().unwrap();
    let keys = KitKeys::generate().unwrap();
    let only = [
        "PT-DHF-01",
        "PT-DHF-03",
        "PT-DHF-04",
        "PT-DHF-05",
        "PT-DHF-06",
        "PT-DHF-07",
        "PT-DHF-10",
        "PT-SENS-01",
        "PT-SENS-02",
        "PT-SENS-03",
        "PT-SENS-04",
        "PT-SENS-05",
        "PT-SENS-07",
        "PT-ACC-07",
    ];
    let report = run(dir.path(), "", &keys, &only).await;
    assert_eq!(report.outcomes.len(), 21);
    for o in &report.outcomes {
        let section = match o.id.as_str() {
            id if id.starts_with("PT-DHF") => "[data_holder]",
            id if id.starts_with("PT-SENS") => "[sensitivity]",
            _ => "[restricted_client]",
        };
        crate::assert_needs_setup(o, section);
    }
}
