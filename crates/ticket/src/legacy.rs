//! Legacy `access` shapes (constraints.md §8, OP-02): `permissions` (April/J10),
//! `fhir_resources` (mid-June), `sensitive_data` (April) and the single-`Organization`
//! `data_holder_filter` entry (April–mid-June, constraints.md §5, OP-25). Rejected by default;
//! translated to their current form only when the `legacy_access_shapes` option is on. Anything that has no
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

/// Members an older `data_holder_filter` Organization may carry: the identifiers that are
/// matched, and what only names it. Anything else (`partOf`, `address`, `active`, ...) could
/// change which Data Holders were meant and is not translated (fail closed).
const LEGACY_FILTER_ORG_MEMBERS: [&str; 4] = ["resourceType", "id", "identifier", "name"];

/// The older organization entry (`organization`: one `Organization` resource with
/// `identifier[]`) rewritten as the current array of identifier References, one per
/// identifier, `name` kept as `display`. Entries already in the current shape pass unchanged.
/// Returns the entries and whether any was translated. Identifiers are copied verbatim, so the
/// current shape's checks (system and value both required, nothing else) apply to them.
pub(crate) fn holder_filter(v: &Value) -> Result<(Value, bool), ConstraintError> {
    const NAME: &str = "data_holder_filter";
    let Value::Array(entries) = v else {
        // Not an array: left for the current shape's check to reject.
        return Ok((v.clone(), false));
    };
    let mut translated = false;
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let org = match (
            entry.get("kind").and_then(Value::as_str),
            entry.get("organization"),
        ) {
            (Some("organization"), Some(Value::Object(org))) => org,
            _ => {
                out.push(entry.clone());
                continue;
            }
        };
        if entry.as_object().is_some_and(|e| e.len() != 2) {
            return Err(malformed(NAME, "extra members"));
        }
        if org.get("resourceType").is_some_and(|t| t != "Organization") {
            return Err(malformed(NAME, "organization is not an Organization"));
        }
        if !org
            .keys()
            .all(|k| LEGACY_FILTER_ORG_MEMBERS.contains(&k.as_str()))
        {
            return Err(malformed(NAME, "untranslatable Organization member"));
        }
        let Some(Value::Array(ids)) = org.get("identifier") else {
            return Err(malformed(NAME, "Organization without identifier"));
        };
        if ids.is_empty() {
            return Err(malformed(NAME, "Organization without identifier"));
        }
        let display = org.get("name").filter(|n| n.is_string());
        let refs: Vec<Value> = ids
            .iter()
            .map(|id| {
                let mut r = Map::new();
                r.insert("identifier".into(), id.clone());
                if let Some(d) = display {
                    r.insert("display".into(), d.clone());
                }
                Value::Object(r)
            })
            .collect();
        let mut current = Map::new();
        current.insert("kind".into(), Value::from("organization"));
        current.insert("organization".into(), Value::Array(refs));
        out.push(Value::Object(current));
        translated = true;
    }
    Ok((Value::Array(out), translated))
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
