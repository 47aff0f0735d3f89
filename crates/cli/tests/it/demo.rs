//! `tessera demo`: the built binary runs every scenario on loopback and exits 0, printing a
//! trace with the key lines of each scenario.

use crate::tessera;

#[test]
fn demo_runs_every_scenario_and_exits_zero() {
    let out = tessera(&["demo"], None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "status {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "== 1. Patient self access ==",
        "Delegated access: DELEGATEE",
        "Delegated access: HPOWATT",
        "Delegated access: GUARD",
        "Payer claims adjudication (self-issued)",
        "scope patient/Observation.rs?code=http://loinc.org|4548-4",
        "data_holder_filter jurisdiction US/TX",
        "refused   HTTP 400 invalid_grant: Ticket expired",
        "refused   HTTP 400 invalid_grant: Ticket presenter binding mismatch",
        "refused   HTTP 400 invalid_grant: Ticket has been revoked",
        "restricted from the payer (HIPAA self-pay)",
        "Payer quality gap, OpenID Federation client",
        "Payer quality gap, well-known client",
        "12/12 scenarios behaved as expected.",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
    assert!(!stdout.contains("FAIL"), "{stdout}");
}
