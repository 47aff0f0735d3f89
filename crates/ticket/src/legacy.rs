//! Legacy `access` shapes (constraints.md §8, OP-02): `permissions` (April/J10),
//! `fhir_resources` (mid-June) and `sensitive_data` (April). Rejected by default; translated to
//! `smart_scopes` only when the `legacy_access_shapes` option is on. Anything that has no
//! faithful translation (operations, unknown kinds or interactions) is still rejected.

use serde_json::{Map, Value};

use crate::error::ConstraintError;

/// Legacy member names.
pub const LEGACY_ACCESS_MEMBERS: [&str; 3] = ["permissions", "fhir_resources", "sensitive_data"];

fn unenforceable(name: &str) -> ConstraintError {
    ConstraintError::Unenforceable(name.to_owned())
}

fn malformed(name: &str, reason: &'static str) -> ConstraintError {
    ConstraintError::Malformed {
        path: format!("access.{name}"),
        reason,
    }
}

/// Translates `permissions[]` into SMART v2 scopes.
pub(crate) fn permissions_to_scopes(v: &Value) -> Result<Vec<String>, ConstraintError> {
    const NAME: &str = "permissions";
    let Value::Array(items) = v else {
        return Err(malformed(NAME, "not an array"));
    };
    if items.is_empty() {
        return Err(malformed(NAME, "empty"));
    }
    let mut scopes = Vec::new();
    for item in items {
        let Value::Object(p) = item else {
            return Err(malformed(NAME, "entry not an object"));
        };
        match p.get("kind").and_then(Value::as_str) {
            Some("data") => {}
            // Operations and unknown kinds have no scope form: a ticket never grants them.
            _ => return Err(unenforceable(NAME)),
        }
        only_members(
            p,
            &[
                "kind",
                "resource_type",
                "interactions",
                "category_any_of",
                "code_any_of",
            ],
            NAME,
        )?;
        let base = base_scope(p, "resource_type", NAME)?;
        let categories = coding_list(p.get("category_any_of"), NAME)?;
        let codes = coding_list(p.get("code_any_of"), NAME)?;
        scopes.extend(narrowed(&base, &categories, &codes));
    }
    Ok(scopes)
}

/// Translates `fhir_resources[]` into SMART v2 scopes.
pub(crate) fn fhir_resources_to_scopes(v: &Value) -> Result<Vec<String>, ConstraintError> {
    const NAME: &str = "fhir_resources";
    let Value::Array(items) = v else {
        return Err(malformed(NAME, "not an array"));
    };
    if items.is_empty() {
        return Err(malformed(NAME, "empty"));
    }
    let mut scopes = Vec::new();
    for item in items {
        let Value::Object(r) = item else {
            return Err(malformed(NAME, "entry not an object"));
        };
        only_members(r, &["type", "interactions", "category", "code"], NAME)?;
        let base = base_scope(r, "type", NAME)?;
        let one = |key: &str| -> Result<Vec<String>, ConstraintError> {
            match r.get(key) {
                None => Ok(Vec::new()),
                Some(c) => Ok(vec![coding_token(c, NAME)?]),
            }
        };
        scopes.extend(narrowed(&base, &one("category")?, &one("code")?));
    }
    Ok(scopes)
}

/// What `sensitive_data` becomes: `include` is dropped (the base ticket carries no flag and
/// local rules still apply: narrower, never wider); `exclude` needs `sensitivity_withhold`.
pub(crate) enum SensitiveData {
    /// Drop the member.
    Include,
    /// Withhold all locally classified sensitive data.
    Exclude,
}

pub(crate) fn sensitive_data(v: &Value) -> Result<SensitiveData, ConstraintError> {
    match v.as_str() {
        Some("include") => Ok(SensitiveData::Include),
        Some("exclude") => Ok(SensitiveData::Exclude),
        _ => Err(malformed("sensitive_data", "not include/exclude")),
    }
}

fn only_members(
    m: &Map<String, Value>,
    allowed: &[&str],
    name: &str,
) -> Result<(), ConstraintError> {
    if m.keys().all(|k| allowed.contains(&k.as_str())) {
        Ok(())
    } else {
        Err(unenforceable(name))
    }
}

/// `patient/{type}.{letters}`, letters in canonical `c r u d s` order.
fn base_scope(
    m: &Map<String, Value>,
    type_key: &str,
    name: &str,
) -> Result<String, ConstraintError> {
    let resource = m
        .get(type_key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| malformed(name, "missing resource type"))?;
    let Some(Value::Array(interactions)) = m.get("interactions") else {
        return Err(malformed(name, "missing interactions"));
    };
    let mut present = [false; 5];
    for i in interactions {
        let idx = match i.as_str() {
            Some("create") => 0,
            Some("read") => 1,
            Some("update") => 2,
            Some("delete") => 3,
            Some("search") => 4,
            _ => return Err(unenforceable(name)),
        };
        if let Some(slot) = present.get_mut(idx) {
            *slot = true;
        }
    }
    let letters: String = "cruds"
        .chars()
        .zip(present)
        .filter_map(|(c, on)| on.then_some(c))
        .collect();
    if letters.is_empty() {
        return Err(malformed(name, "no interactions"));
    }
    Ok(format!("patient/{resource}.{letters}"))
}

fn coding_list(v: Option<&Value>, name: &str) -> Result<Vec<String>, ConstraintError> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) if !items.is_empty() => {
            items.iter().map(|c| coding_token(c, name)).collect()
        }
        Some(_) => Err(malformed(name, "coding list")),
    }
}

/// A Coding as a FHIR token search value: `system|code`, or bare `code`.
fn coding_token(c: &Value, name: &str) -> Result<String, ConstraintError> {
    let code = c
        .get("code")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| malformed(name, "coding without code"))?;
    Ok(match c.get("system").and_then(Value::as_str) {
        Some(system) if !system.is_empty() => format!("{system}|{code}"),
        _ => code.to_owned(),
    })
}

/// One scope per value: each category, each code, or each category × code pair.
fn narrowed(base: &str, categories: &[String], codes: &[String]) -> Vec<String> {
    match (categories.is_empty(), codes.is_empty()) {
        (true, true) => vec![base.to_owned()],
        (false, true) => categories
            .iter()
            .map(|c| format!("{base}?category={c}"))
            .collect(),
        (true, false) => codes.iter().map(|c| format!("{base}?code={c}")).collect(),
        (false, false) => categories
            .iter()
            .flat_map(|cat| {
                codes
                    .iter()
                    .map(move |code| format!("{base}?category={cat}&code={code}"))
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn permissions_translate() {
        let v = json!([
            {"kind":"data","resource_type":"Observation","interactions":["search","read"]},
            {"kind":"data","resource_type":"Condition","interactions":["read"],
             "category_any_of":[{"system":"http://c","code":"a"},{"code":"b"}]},
            {"kind":"data","resource_type":"Observation","interactions":["search"],
             "category_any_of":[{"code":"lab"}],"code_any_of":[{"system":"http://loinc.org","code":"1"},{"code":"2"}]}
        ]);
        assert_eq!(
            permissions_to_scopes(&v).unwrap(),
            vec![
                "patient/Observation.rs",
                "patient/Condition.r?category=http://c|a",
                "patient/Condition.r?category=b",
                "patient/Observation.s?category=lab&code=http://loinc.org|1",
                "patient/Observation.s?category=lab&code=2",
            ]
        );
    }

    #[test]
    fn permissions_reject_what_cannot_translate() {
        let op = json!([{"kind":"operation","name":"$everything"}]);
        assert_eq!(
            permissions_to_scopes(&op),
            Err(ConstraintError::Unenforceable("permissions".into()))
        );
        let odd = json!([{"kind":"data","resource_type":"Observation","interactions":["patch"]}]);
        assert!(permissions_to_scopes(&odd).is_err());
        let extra =
            json!([{"kind":"data","resource_type":"Observation","interactions":["read"],"x":1}]);
        assert!(permissions_to_scopes(&extra).is_err());
        assert!(permissions_to_scopes(&json!([])).is_err());
    }

    #[test]
    fn fhir_resources_translate() {
        let v = json!([
            {"type":"Observation","interactions":["read","search"],
             "category":{"system":"http://c","code":"laboratory"},"code":{"code":"x"}},
            {"type":"Condition","interactions":["read"]}
        ]);
        assert_eq!(
            fhir_resources_to_scopes(&v).unwrap(),
            vec![
                "patient/Observation.rs?category=http://c|laboratory&code=x",
                "patient/Condition.r",
            ]
        );
    }
}
