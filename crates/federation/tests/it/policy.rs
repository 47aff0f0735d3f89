//! Metadata policy operators, one by one: application, merge rules and combination rules
//! (OpenID Federation 1.0 §6.1).

use serde_json::{Map, Value, json};
use tessera_federation::FederationError;
use tessera_federation::policy::{Policy, apply, merge, parse};

fn pol(v: Value) -> Policy {
    parse(v.as_object().unwrap(), &[]).unwrap()
}

fn run(policy: Value, metadata: Value) -> Result<Value, FederationError> {
    let mut md: Map<String, Value> = json!({ "oauth_client": metadata })
        .as_object()
        .unwrap()
        .clone();
    apply(&pol(json!({ "oauth_client": policy })), &mut md)?;
    Ok(md["oauth_client"].clone())
}

fn violation(op: &'static str, p: &str) -> FederationError {
    FederationError::PolicyViolation {
        entity_type: "oauth_client".into(),
        parameter: p.into(),
        operator: op,
    }
}

#[test]
fn value_sets_overrides_and_removes() {
    assert_eq!(
        run(json!({"a": {"value": 1}}), json!({})).unwrap(),
        json!({"a": 1})
    );
    assert_eq!(
        run(json!({"a": {"value": 1}}), json!({"a": 2})).unwrap(),
        json!({"a": 1})
    );
    assert_eq!(
        run(json!({"a": {"value": null}}), json!({"a": 2})).unwrap(),
        json!({})
    );
}

#[test]
fn add_appends_without_duplicates_and_needs_an_array() {
    assert_eq!(
        run(json!({"a": {"add": ["x", "y"]}}), json!({"a": ["y", "z"]})).unwrap(),
        json!({"a": ["y", "z", "x"]})
    );
    assert_eq!(
        run(json!({"a": {"add": "x"}}), json!({})).unwrap(),
        json!({"a": ["x"]})
    );
    assert_eq!(
        run(json!({"a": {"add": ["x"]}}), json!({"a": "s"})).unwrap_err(),
        violation("add", "a")
    );
}

#[test]
fn default_only_fills_absent() {
    assert_eq!(
        run(json!({"a": {"default": 1}}), json!({})).unwrap(),
        json!({"a": 1})
    );
    assert_eq!(
        run(json!({"a": {"default": 1}}), json!({"a": 2})).unwrap(),
        json!({"a": 2})
    );
}

#[test]
fn one_of_checks_present_values() {
    assert!(run(json!({"a": {"one_of": ["x", "y"]}}), json!({"a": "x"})).is_ok());
    assert!(run(json!({"a": {"one_of": ["x", "y"]}}), json!({})).is_ok());
    assert_eq!(
        run(json!({"a": {"one_of": ["x", "y"]}}), json!({"a": "z"})).unwrap_err(),
        violation("one_of", "a")
    );
}

#[test]
fn subset_of_intersects() {
    assert_eq!(
        run(
            json!({"a": {"subset_of": ["x", "y"]}}),
            json!({"a": ["y", "z"]})
        )
        .unwrap(),
        json!({"a": ["y"]})
    );
    assert_eq!(
        run(json!({"a": {"subset_of": ["x"]}}), json!({"a": "x"})).unwrap_err(),
        violation("subset_of", "a")
    );
}

#[test]
fn superset_of_requires_all() {
    assert!(
        run(
            json!({"a": {"superset_of": ["x"]}}),
            json!({"a": ["x", "y"]})
        )
        .is_ok()
    );
    assert_eq!(
        run(
            json!({"a": {"superset_of": ["x", "q"]}}),
            json!({"a": ["x"]})
        )
        .unwrap_err(),
        violation("superset_of", "a")
    );
}

#[test]
fn essential_requires_presence_after_modifiers() {
    assert_eq!(
        run(json!({"a": {"essential": true}}), json!({})).unwrap_err(),
        violation("essential", "a")
    );
    assert!(run(json!({"a": {"essential": false}}), json!({})).is_ok());
    // default runs before essential.
    assert!(run(json!({"a": {"essential": true, "default": 1}}), json!({})).is_ok());
    // subset_of emptied the array: as absent as missing.
    assert_eq!(
        run(
            json!({"a": {"essential": true, "subset_of": ["x"]}}),
            json!({"a": ["y"]})
        )
        .unwrap_err(),
        violation("essential", "a")
    );
}

#[test]
fn policy_for_absent_entity_type_is_not_applied() {
    let mut md: Map<String, Value> = Map::new();
    apply(
        &pol(json!({"oauth_client": {"a": {"essential": true}}})),
        &mut md,
    )
    .unwrap();
    assert!(md.is_empty());
}

fn invalid(p: Value) -> String {
    match parse(json!({"oauth_client": {"a": p}}).as_object().unwrap(), &[]) {
        Err(FederationError::PolicyInvalid { reason, .. }) => reason,
        other => panic!("{other:?}"),
    }
}

#[test]
fn disallowed_combinations_are_invalid() {
    assert_eq!(
        invalid(json!({"value": ["x"], "add": ["y"]})),
        "add must be a subset of value"
    );
    assert_eq!(
        invalid(json!({"value": null, "default": 1})),
        "default cannot combine with a null value"
    );
    assert_eq!(
        invalid(json!({"value": "z", "one_of": ["x"]})),
        "value must be one of one_of"
    );
    assert_eq!(
        invalid(json!({"value": ["z"], "subset_of": ["x"]})),
        "value must be a subset of subset_of"
    );
    assert_eq!(
        invalid(json!({"value": ["z"], "superset_of": ["x"]})),
        "value must be a superset of superset_of"
    );
    assert_eq!(
        invalid(json!({"value": null, "essential": true})),
        "a null value cannot be essential"
    );
    assert_eq!(
        invalid(json!({"one_of": ["x"], "add": ["x"]})),
        "one_of cannot combine with add, subset_of or superset_of"
    );
    assert_eq!(
        invalid(json!({"add": ["q"], "subset_of": ["x"]})),
        "add must be a subset of subset_of"
    );
    assert_eq!(
        invalid(json!({"default": "q", "one_of": ["x"]})),
        "default must be one of one_of"
    );
    assert_eq!(
        invalid(json!({"subset_of": ["x"], "superset_of": ["x", "y"]})),
        "superset_of must be a subset of subset_of"
    );
    assert_eq!(invalid(json!({"one_of": []})), "one_of must not be empty");
    assert_eq!(
        invalid(json!({"essential": "yes"})),
        "essential must be a boolean"
    );
    assert_eq!(
        invalid(json!({"subset_of": "x"})),
        "subset_of must be an array"
    );
    assert_eq!(
        invalid(json!({"default": null})),
        "default must not be null"
    );
}

fn merged(a: Value, b: Value) -> Result<Value, FederationError> {
    let m = merge(
        &pol(json!({"oauth_client": {"a": a}})),
        &pol(json!({"oauth_client": {"a": b}})),
    )?;
    let p = &m["oauth_client"]["a"];
    Ok(json!({
        "value": p.value, "add": p.add, "default": p.default, "one_of": p.one_of,
        "subset_of": p.subset_of, "superset_of": p.superset_of, "essential": p.essential,
    }))
}

fn conflict(op: &'static str) -> FederationError {
    FederationError::PolicyConflict {
        entity_type: "oauth_client".into(),
        parameter: "a".into(),
        operator: op,
    }
}

#[test]
fn merge_rules_per_operator() {
    assert_eq!(
        merged(json!({"value": 1}), json!({"value": 1})).unwrap()["value"],
        json!(1)
    );
    assert_eq!(
        merged(json!({"value": 1}), json!({"value": 2})).unwrap_err(),
        conflict("value")
    );
    assert_eq!(
        merged(json!({"add": ["x"]}), json!({"add": ["y", "x"]})).unwrap()["add"],
        json!(["x", "y"])
    );
    assert_eq!(
        merged(json!({"default": 1}), json!({"default": 2})).unwrap_err(),
        conflict("default")
    );
    assert_eq!(
        merged(json!({"one_of": ["x", "y"]}), json!({"one_of": ["y", "z"]})).unwrap()["one_of"],
        json!(["y"])
    );
    assert_eq!(
        merged(json!({"one_of": ["x"]}), json!({"one_of": ["z"]})).unwrap_err(),
        conflict("one_of")
    );
    assert_eq!(
        merged(
            json!({"subset_of": ["x", "y"]}),
            json!({"subset_of": ["y", "z"]})
        )
        .unwrap()["subset_of"],
        json!(["y"])
    );
    assert_eq!(
        merged(json!({"superset_of": ["x"]}), json!({"superset_of": ["y"]})).unwrap()["superset_of"],
        json!(["x", "y"])
    );
    assert_eq!(
        merged(json!({"essential": true}), json!({"essential": false})).unwrap()["essential"],
        json!(true)
    );
    assert_eq!(
        merged(json!({"essential": false}), json!({"essential": false})).unwrap()["essential"],
        json!(false)
    );
}

#[test]
fn merged_combination_must_still_be_allowed() {
    // Superior fixes the value; subordinate adds something outside it.
    assert_eq!(
        merged(json!({"value": ["x"]}), json!({"add": ["y"]})).unwrap_err(),
        conflict("value")
    );
    // Superior restricts with subset_of; subordinate's default falls outside.
    assert_eq!(
        merged(json!({"subset_of": ["x"]}), json!({"default": ["y"]})).unwrap_err(),
        conflict("default")
    );
}

#[test]
fn order_of_application_is_fixed() {
    // value first, then add onto it, then subset_of trims, then superset_of checks.
    assert_eq!(
        run(
            json!({"a": {"value": ["x", "y"], "add": ["y"], "subset_of": ["x", "y", "q"], "superset_of": ["x"]}}),
            json!({"a": ["z"]})
        )
        .unwrap(),
        json!({"a": ["x", "y"]})
    );
}
