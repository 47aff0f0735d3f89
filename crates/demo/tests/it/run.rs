//! `run_demo` end to end with a fixed clock: every scenario passes, and the counts that make
//! each scenario's point are spot-checked.

use std::sync::Arc;

use tessera_demo::{DemoOptions, DemoReport, Granted, Redemption, run_demo};

/// 2026-03-02T12:00:00Z: after the data's clinical window, inside the payer's coverage.
const NOW: i64 = 1_772_452_800;

fn granted<'a>(report: &'a DemoReport, key: &str) -> &'a Granted {
    match &report.scenario(key).unwrap().result {
        Some(Redemption::Granted(g)) => g,
        other => panic!("{key}: {other:?}"),
    }
}

fn refused<'a>(report: &'a DemoReport, key: &str) -> (&'a str, &'a str) {
    match &report.scenario(key).unwrap().result {
        Some(Redemption::Refused {
            error, description, ..
        }) => (error, description),
        other => panic!("{key}: {other:?}"),
    }
}

fn held(g: &Granted, resource_type: &str, reason: &str) -> usize {
    g.types
        .iter()
        .filter(|t| t.resource_type == resource_type)
        .flat_map(|t| t.held_back.iter())
        .filter(|(r, _)| r.contains(reason))
        .map(|(_, n)| *n)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_behaves_as_expected() {
    let dir = tempfile::tempdir().unwrap();
    let options = DemoOptions {
        dir: Some(dir.path().to_owned()),
    };
    let report = run_demo(&options, Arc::new(|| NOW)).await.unwrap();
    let text = report.render();
    assert!(report.passed(), "{text}");
    assert_eq!(report.scenarios.len(), 12, "{text}");

    // Trust-framework clients (PT-BIND-07, PT-BIND-08): the OIDF payer and the well-known app
    // each get exactly the quality-gap release.
    for key in ["oidf-payer", "well-known-app"] {
        let g = granted(&report, key);
        assert_eq!(g.token_type, "Bearer", "{text}");
        assert!(g.released("Observation") >= 1, "{key}: {text}");
    }
    // Network Data Holders (issue 14): combined record, record location, per-site redemption,
    // a filter naming one clinic — every line computed from responses.
    let network = report.network.as_ref().unwrap();
    assert!(network.passed(), "{text}");
    assert_eq!(network.lines.len(), 9, "{text}");
    assert!(text.contains("so the combined record may flow"), "{text}");

    // Self access: DPoP, the patient's own records including sensitive and self-pay ones.
    let g = granted(&report, "self-access");
    assert_eq!(g.token_type, "DPoP");
    assert!(g.released("Observation") > 20, "{text}");
    assert_eq!(held(g, "Observation", ""), 0, "{text}");

    // Delegated: MH withheld; data_period; guardian's four types.
    assert!(
        held(
            granted(&report, "delegated-delegatee"),
            "Observation",
            "sensitive label withheld"
        ) >= 1
    );
    let poa = granted(&report, "delegated-poa");
    assert!(
        poa.types
            .iter()
            .flat_map(|t| t.held_back.keys())
            .any(|r| r.contains("outside data_period"))
    );
    let guardian = granted(&report, "delegated-guardian");
    assert_eq!(guardian.released("Observation"), 0);
    assert!(guardian.released("Condition") >= 1, "{text}");

    // Payer claims: one encounter, self-pay withheld.
    let claims = granted(&report, "payer-claims");
    assert_eq!(claims.token_type, "Bearer");
    assert_eq!(claims.released("Encounter"), 1, "{text}");
    assert!(
        held(claims, "Encounter", "restricted from the payer") >= 1,
        "{text}"
    );

    // Quality gap: only HbA1c results (2 in the measurement year in the demo data).
    let qg = granted(&report, "quality-gap");
    assert_eq!(
        qg.scope,
        "patient/Observation.rs?code=http://loinc.org|4548-4"
    );
    assert_eq!(qg.released_own(), qg.released("Observation"));
    assert_eq!(qg.released("Observation"), 2, "{text}");
    assert!(
        held(qg, "Observation", "outside data_period") >= 1,
        "{text}"
    );

    // The payer's quality program is a UDAP client: its binding is verified, not asserted;
    // the public health agency's is still asserted by configuration, and says so.
    let notes = |key: &str| report.scenario(key).unwrap().notes.join("\n");
    assert!(
        notes("quality-gap").contains(
            "binding trust_framework_client:verified(udap) (audit binding_check = verified:udap)"
        ),
        "{text}"
    );
    assert!(
        notes("public-health").contains("binding_check = asserted"),
        "{text}"
    );
    assert!(dir.path().join("udap/payer-chain.pem").is_file());

    // Public health: the three granted types only.
    let ph = granted(&report, "public-health");
    assert!(ph.released("Condition") >= 1);
    assert_eq!(ph.released("Encounter"), 0);

    // Refusals with their exact codes.
    assert_eq!(
        refused(&report, "refusal-expired"),
        ("invalid_grant", "Ticket expired")
    );
    assert_eq!(
        refused(&report, "refusal-binding"),
        ("invalid_grant", "Ticket presenter binding mismatch")
    );
    assert_eq!(
        refused(&report, "refusal-revoked"),
        ("invalid_grant", "Ticket has been revoked")
    );

    // The run directory holds what --keep-running's commands use.
    assert!(dir.path().join("holder.toml").is_file());
    assert!(dir.path().join("tickets/quality-gap.jwt").is_file());
    assert!(dir.path().join("keys/patient-app.jwk.json").is_file());
    assert!(
        text.contains("12/12 scenarios behaved as expected."),
        "{text}"
    );
}
