//! Requirement-cited checks that are clearer as code than as vectors.

use serde_json::json;
use tessera_access::{AccessError, Filter, Interaction, NotGranted, OAuthCode, TokenDim};
use tessera_ticket::claims::{TYPE_QUALITY_GAP, TYPE_SELF_ACCESS};

use crate::common::{Inputs, PATIENT};

/// PT-ACC-09: the normalized constraint set is carried in the grant and survives storage.
#[test]
fn pt_acc_09_grant_round_trips_and_still_enforces() {
    let inputs = Inputs::new(
        TYPE_QUALITY_GAP,
        json!({"smart_scopes": ["patient/Observation.rs?category=laboratory"],
               "data_period": {"start": "2023-01-01"},
               "sensitivity_withhold": {"codes": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "ETH"}], "unlisted": true}}),
    );
    let grant = inputs.grant().unwrap();
    let text = serde_json::to_string(&grant).unwrap();
    assert!(text.len() < 1024, "compact: {text}");
    let stored: tessera_access::Grant = serde_json::from_str(&text).unwrap();
    assert_eq!(stored, grant);
    assert_eq!(stored.patient(), PATIENT);
    let filter = stored
        .to_filter("Observation", Interaction::Search)
        .unwrap();
    let Filter::And(parts) = filter else {
        panic!("expected a conjunction")
    };
    assert!(
        parts.contains(&Filter::Token {
            dim: TokenDim::Category,
            system: None,
            code: "laboratory".to_owned()
        }) || parts.iter().any(|p| matches!(p, Filter::Or(_)))
    );
    assert!(parts.contains(&Filter::PatientIs(PATIENT.to_owned())));
    assert!(parts.contains(&Filter::ClinicalDateOverlaps {
        start: Some(1_672_531_200),
        end: None
    }));
}

/// PT-SCOPE-06 / PT-ACC-08: uncovered pairs are `NotGranted` (403), not an empty filter.
#[test]
fn pt_scope_06_not_granted_is_distinct_from_filtered() {
    let grant = Inputs::new(
        TYPE_SELF_ACCESS,
        json!({"smart_scopes": ["patient/Observation.r"]}),
    )
    .grant()
    .unwrap();
    assert_eq!(
        grant.to_filter("Observation", Interaction::Search),
        Err(NotGranted)
    );
    assert_eq!(
        grant.to_filter("Condition", Interaction::Read),
        Err(NotGranted)
    );
    assert_eq!(
        grant.to_filter("Observation", Interaction::Operation),
        Err(NotGranted)
    );
    assert_eq!(grant.to_filter("", Interaction::Read), Err(NotGranted));
    assert_eq!(
        grant.to_filter("Observation", Interaction::Read),
        Ok(Filter::PatientIs(PATIENT.to_owned()))
    );
    assert_eq!(grant.allowed_types(), vec!["Observation"]);
}

/// PT-ACC-04 / PT-ACC-06 / OP-07: one mapping from errors to protocol codes.
#[test]
fn pt_acc_04_error_mapping() {
    let cases = [
        (
            AccessError::MalformedScope,
            OAuthCode::InvalidScope,
            "Malformed scope",
        ),
        (
            AccessError::NoAuthorizedScopes,
            OAuthCode::InvalidScope,
            "No authorized scopes",
        ),
        (
            AccessError::HolderNotInFilter,
            OAuthCode::InvalidGrant,
            "Data Holder not within ticket data_holder_filter",
        ),
        (
            AccessError::Unenforceable("smart_scopes"),
            OAuthCode::InvalidGrant,
            "Cannot enforce access constraint: smart_scopes",
        ),
    ];
    for (err, code, desc) in cases {
        assert_eq!(err.oauth(), (code, desc.to_owned()));
    }
    assert_eq!(OAuthCode::InvalidScope.as_str(), "invalid_scope");
    assert_eq!(OAuthCode::InvalidGrant.as_str(), "invalid_grant");
}

/// PT-SENS-08: withheld-data errors never exist — withholding happens per resource, and the
/// grant (scope string) is identical whether or not sensitive data exists.
#[test]
fn pt_sens_08_grant_does_not_depend_on_data() {
    let with = Inputs::new(
        TYPE_SELF_ACCESS,
        json!({"smart_scopes": ["patient/*.rs"], "sensitivity_withhold": {"unlisted": true}}),
    );
    let without = Inputs::new(TYPE_SELF_ACCESS, json!({"smart_scopes": ["patient/*.rs"]}));
    assert_eq!(
        with.grant().unwrap().scope_string(),
        without.grant().unwrap().scope_string()
    );
}

/// PT-ACC-06: requested scope strings are bounded.
#[test]
fn pt_acc_06_requested_scope_bounds() {
    let base = Inputs::new(TYPE_SELF_ACCESS, json!({"smart_scopes": ["patient/*.rs"]}));
    let many = vec!["patient/Observation.rs"; 65].join(" ");
    assert_eq!(base.clone().scope(&many).error().0, "invalid_scope");
    let long = format!("patient/Observation.rs?code={}", "a".repeat(9000));
    assert_eq!(base.clone().scope(&long).error().0, "invalid_scope");
    assert_eq!(
        base.scope("").error(),
        ("invalid_scope", "Malformed scope".to_owned())
    );
}
