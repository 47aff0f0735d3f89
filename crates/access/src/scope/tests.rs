//! Unit tests of the scope grammar (OP-14, PT-SCOPE-01, PT-SCOPE-05, PT-ACC-06).

use super::*;

fn ok(s: &str, syntax: Syntax) -> Scope {
    parse_scope(s, syntax).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn pt_scope_01_v2_forms_parse_and_print_canonically() {
    for s in [
        "patient/Observation.rs",
        "patient/*.rs",
        "system/Condition.cruds",
        "user/Observation.r",
        "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
        "patient/Observation.rs?code=http://loinc.org|4548-4",
        "patient/Observation.rs?code=|x,4548-4&category=laboratory",
    ] {
        let scope = ok(s, Syntax::Ticket);
        let printed = scope.to_string();
        assert_eq!(ok(&printed, Syntax::Ticket), scope, "{s}");
    }
}

#[test]
fn pt_scope_01_malformed_ticket_scopes() {
    for s in [
        "",
        "Observation.read",
        "patient/Observation.read",
        "patient/Observation.*",
        "patient/Observation.sr",
        "patient/Observation.rrs",
        "patient/Observation.x",
        "patient/Observation.",
        "patient/.rs",
        "patient/Obs1.rs",
        "launch/Observation.rs",
        "patient/Observation.rs?",
        "patient/Observation.rs?code",
        "patient/Observation.rs?code=",
        "patient/Observation.rs?code=a,,b",
        "patient/Observation.rs?code=http://loinc.org|",
        "patient/Observation.rs?code=a|b|c",
        "patient/Observation.rs?code=a%7Cb",
        "patient/Observation.rs?code=a\\,b",
        "patient/Observation.rs?code=a b",
        "patient/Observation.rs?code=a=b",
        "openid",
        "foo",
    ] {
        assert_eq!(
            parse_scope(s, Syntax::Ticket),
            Err(ScopeError::Malformed),
            "{s:?}"
        );
    }
}

#[test]
fn pt_scope_05_unsupported_parameters_are_unenforceable() {
    for s in [
        "patient/Observation.rs?foo=bar",
        "patient/Observation.rs?code:in=http://x",
        "patient/Observation.rs?code=a&date=ge2020",
        "patient/Observation.rs?_security=ETH",
    ] {
        assert_eq!(
            parse_scope(s, Syntax::Ticket),
            Err(ScopeError::Unenforceable),
            "{s}"
        );
    }
}

#[test]
fn op_14_v1_forms_by_source() {
    assert_eq!(
        ok("patient/Observation.read", Syntax::Requested).perms,
        Perms::RS
    );
    assert_eq!(
        parse_scope("patient/Observation.write", Syntax::Requested),
        Err(ScopeError::Malformed)
    );
    assert_eq!(
        parse_scope("patient/*.*", Syntax::Requested),
        Err(ScopeError::Malformed)
    );
    assert_eq!(ok("patient/*.*", Syntax::Registered).perms, Perms::ALL);
    assert_eq!(
        ok("user/Observation.write", Syntax::Registered)
            .perms
            .to_string(),
        "cud"
    );
    assert_eq!(
        parse_scope("patient/Observation.read?code=x", Syntax::Requested),
        Err(ScopeError::Malformed)
    );
}

#[test]
fn token_values() {
    let s = ok(
        "patient/Observation.rs?code=http://loinc.org|1,|2,3",
        Syntax::Ticket,
    );
    let vals = &s.clauses[0].values;
    assert_eq!(vals.len(), 3);
    let loinc = Token {
        system: Some("http://loinc.org".into()),
        code: "1".into(),
    };
    let bare = Token {
        system: None,
        code: "2".into(),
    };
    assert!(vals.iter().any(|v| v.matches(&loinc)));
    assert!(vals.iter().any(|v| v.matches(&bare)));
    let other = Token {
        system: Some("http://x".into()),
        code: "2".into(),
    };
    assert!(!vals.iter().any(|v| v.matches(&other)));
}
