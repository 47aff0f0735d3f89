//! Proposal 001 (PT-SUBJ-09, MAY; off by default): `interaction_required` with a `launch`
//! value only for a subject-resolution failure of an otherwise acceptable consumer ticket;
//! never after a successful resolution; `invalid_grant` for B2B types.

use serde_json::{Value, json};

use crate::token_pipeline::quality_gap;
use crate::token_support::*;

const ON: &str = "[subject_resolution]\ninteraction_fallback = true\n";

fn holder_on() -> Holder {
    // A second Elena Reyes born the same day, without the MRN: demographics alone are ambiguous.
    let twin = json!({"resourceType": "Patient", "id": "elena-twin", "birthDate": "1989-09-14",
        "name": [{"family": "Reyes", "given": ["Elena"]}]});
    Holder::build(&config_toml(ON), fixture_store(&[twin]))
}

fn unknown_patient(mut t: Value) -> Value {
    t["subject"]["patient"] = json!({"resourceType": "Patient", "birthDate": "2001-01-01",
        "name": [{"family": "Nobody", "given": ["Ann"]}]});
    t
}

#[track_caller]
fn interaction_required(got: &(http::StatusCode, Value)) -> String {
    assert_error(got, 400, "interaction_required", None);
    let launch = got.1["launch"].as_str().expect("launch").to_owned();
    // 256 random bits, base64url.
    assert_eq!(
        tessera_jose::b64::decode(&launch).unwrap().len(),
        32,
        "{launch}"
    );
    launch
}

/// The plain step-14 refusal, with no `launch` member.
#[track_caller]
fn unresolved_without_launch(got: &(http::StatusCode, Value)) {
    assert_error(
        got,
        400,
        "invalid_grant",
        Some("Unable to resolve ticket subject"),
    );
    assert!(got.1.get("launch").is_none(), "{}", got.1);
}

#[tokio::test]
async fn pt_subj_09_off_by_default_is_invalid_grant() {
    let h = Holder::new();
    let got = h.redeem(&mint(&unknown_patient(baseline())), &[]).await;
    unresolved_without_launch(&got);
}

#[tokio::test]
async fn pt_subj_09_consumer_ticket_without_a_match_gets_a_launch() {
    let h = holder_on();
    // Self access, no local match.
    let t = unknown_patient(baseline());
    let a = interaction_required(&h.redeem(&mint(&t), &[]).await);
    // Audited as such, without the launch value.
    let rows = h.audit(t["jti"].as_str().unwrap());
    assert_eq!(rows[0].error.as_deref(), Some("interaction_required"));
    assert_eq!(rows[0].step.as_deref(), Some("subject"));
    assert!(!serde_json::to_string(&rows).unwrap().contains(&a));
    // Each failure gets its own value.
    let b = interaction_required(&h.redeem(&mint(&unknown_patient(baseline())), &[]).await);
    assert_ne!(a, b);
    // Ambiguous demographics (two Elena Reyes, no identifier).
    let mut t = baseline();
    t["subject"]["patient"]
        .as_object_mut()
        .unwrap()
        .remove("identifier");
    interaction_required(&h.redeem(&mint(&t), &[]).await);
    // Delegated access is a consumer type too.
    let d = unknown_patient(delegated());
    interaction_required(&h.redeem(&mint(&d), &[]).await);
}

#[tokio::test]
async fn pt_subj_09_b2b_types_keep_invalid_grant() {
    let h = holder_on();
    let qg = unknown_patient(quality_gap());
    let got = h.redeem_as("payer", &keys().payer, &mint(&qg), &[]).await;
    unresolved_without_launch(&got);
    // Control: the same ticket with a resolvable subject is redeemed.
    let (s, b) = h
        .redeem_as("payer", &keys().payer, &mint(&quality_gap()), &[])
        .await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn pt_subj_09_never_after_a_successful_resolution_nor_for_a_ticket_failing_later() {
    let h = holder_on();
    // A match: a token, never an interaction.
    let (s, b) = h.redeem(&mint(&baseline()), &[]).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["patient"], "elena");
    // A match whose grant is empty: the access error, not an interaction.
    let got = h
        .redeem(&mint(&baseline()), &[("scope", "patient/Procedure.rs")])
        .await;
    assert_error(&got, 400, "invalid_scope", None);
    // No match, and the request would fail the access intersection anyway: not "otherwise
    // acceptable", so the subject error of the normal order (PT-VAL-15).
    let got = h
        .redeem(
            &mint(&unknown_patient(baseline())),
            &[("scope", "patient/Procedure.rs")],
        )
        .await;
    unresolved_without_launch(&got);
}
