//! Metadata policy (§6.1): the seven standard operators, their allowed combinations, merging
//! down a trust chain, and application to metadata.
//!
//! Operators are applied in the order the spec fixes: `value`, `add`, `default`, `one_of`,
//! `subset_of`, `superset_of`, `essential` (modifiers first, checks last). An operator we do
//! not know is ignored unless the statement lists it in `metadata_policy_crit`, in which case
//! the whole chain fails closed.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::FederationError;

/// The standard operators, in order of application.
pub const OPERATORS: [&str; 7] = [
    "value",
    "add",
    "default",
    "one_of",
    "subset_of",
    "superset_of",
    "essential",
];

/// The policy of one metadata parameter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParamPolicy {
    /// `value` (`Some(Null)` removes the parameter).
    pub value: Option<Value>,
    /// `add`.
    pub add: Option<Vec<Value>>,
    /// `default`.
    pub default: Option<Value>,
    /// `one_of`.
    pub one_of: Option<Vec<Value>>,
    /// `subset_of`.
    pub subset_of: Option<Vec<Value>>,
    /// `superset_of`.
    pub superset_of: Option<Vec<Value>>,
    /// `essential`.
    pub essential: Option<bool>,
}

/// A policy: entity type → parameter → parameter policy.
pub type Policy = BTreeMap<String, BTreeMap<String, ParamPolicy>>;

/// Parses one statement's `metadata_policy`, honouring its `metadata_policy_crit`.
pub fn parse(raw: &Map<String, Value>, crit: &[String]) -> Result<Policy, FederationError> {
    if let Some(op) = crit.iter().find(|c| !OPERATORS.contains(&c.as_str())) {
        return Err(FederationError::UnsupportedPolicyOperator(op.clone()));
    }
    let mut out = Policy::new();
    for (entity_type, params) in raw {
        let Value::Object(params) = params else {
            return Err(invalid(
                entity_type,
                "",
                "entity type policy is not an object",
            ));
        };
        let mut map = BTreeMap::new();
        for (param, ops) in params {
            let Value::Object(ops) = ops else {
                return Err(invalid(
                    entity_type,
                    param,
                    "parameter policy is not an object",
                ));
            };
            let p = parse_param(entity_type, param, ops)?;
            check_combination(&p).map_err(|r| invalid(entity_type, param, r))?;
            map.insert(param.clone(), p);
        }
        out.insert(entity_type.clone(), map);
    }
    Ok(out)
}

fn parse_param(
    et: &str,
    param: &str,
    ops: &Map<String, Value>,
) -> Result<ParamPolicy, FederationError> {
    let array = |name: &str, v: &Value| -> Result<Vec<Value>, FederationError> {
        match v {
            Value::Array(a) => Ok(dedup(a.clone())),
            _ => Err(invalid(et, param, &format!("{name} must be an array"))),
        }
    };
    let mut p = ParamPolicy::default();
    for (name, v) in ops {
        match name.as_str() {
            "value" => p.value = Some(v.clone()),
            // A single value is accepted as a one-element array (common in the wild).
            "add" => {
                p.add = Some(match v {
                    Value::Array(a) => dedup(a.clone()),
                    other => vec![other.clone()],
                })
            }
            "default" => {
                if v.is_null() {
                    return Err(invalid(et, param, "default must not be null"));
                }
                p.default = Some(v.clone())
            }
            "one_of" => {
                let a = array(name, v)?;
                if a.is_empty() {
                    return Err(invalid(et, param, "one_of must not be empty"));
                }
                p.one_of = Some(a)
            }
            "subset_of" => p.subset_of = Some(array(name, v)?),
            "superset_of" => p.superset_of = Some(array(name, v)?),
            "essential" => {
                p.essential = Some(
                    v.as_bool()
                        .ok_or_else(|| invalid(et, param, "essential must be a boolean"))?,
                )
            }
            // Unknown and not critical (checked in `parse`): ignored, per §6.1.3.2.
            _ => {}
        }
    }
    Ok(p)
}

/// The allowed-combination rules of §6.1.3.1, for one (possibly merged) parameter policy.
pub fn check_combination(p: &ParamPolicy) -> Result<(), &'static str> {
    if let Some(v) = &p.value {
        if let Some(add) = &p.add
            && !as_array(v).is_some_and(|va| subset(add, va))
        {
            return Err("add must be a subset of value");
        }
        if p.default.is_some() && v.is_null() {
            return Err("default cannot combine with a null value");
        }
        if let Some(one) = &p.one_of
            && !one.contains(v)
        {
            return Err("value must be one of one_of");
        }
        if let Some(sub) = &p.subset_of
            && !as_array(v).is_some_and(|va| subset(va, sub))
        {
            return Err("value must be a subset of subset_of");
        }
        if let Some(sup) = &p.superset_of
            && !as_array(v).is_some_and(|va| subset(sup, va))
        {
            return Err("value must be a superset of superset_of");
        }
        if v.is_null() && p.essential == Some(true) {
            return Err("a null value cannot be essential");
        }
    }
    if p.one_of.is_some() && (p.add.is_some() || p.subset_of.is_some() || p.superset_of.is_some()) {
        return Err("one_of cannot combine with add, subset_of or superset_of");
    }
    if let (Some(add), Some(sub)) = (&p.add, &p.subset_of)
        && !subset(add, sub)
    {
        return Err("add must be a subset of subset_of");
    }
    if let Some(d) = &p.default {
        if let Some(one) = &p.one_of
            && !one.contains(d)
        {
            return Err("default must be one of one_of");
        }
        if let Some(sub) = &p.subset_of
            && !as_array(d).is_some_and(|da| subset(da, sub))
        {
            return Err("default must be a subset of subset_of");
        }
        if let Some(sup) = &p.superset_of
            && !as_array(d).is_some_and(|da| subset(sup, da))
        {
            return Err("default must be a superset of superset_of");
        }
    }
    if let (Some(sub), Some(sup)) = (&p.subset_of, &p.superset_of)
        && !subset(sup, sub)
    {
        return Err("superset_of must be a subset of subset_of");
    }
    Ok(())
}

/// Merges `sub` (a subordinate's policy) into `sup` (the policy merged so far from the anchor
/// down), per each operator's merge rule.
pub fn merge(sup: &Policy, sub: &Policy) -> Result<Policy, FederationError> {
    let mut out = sup.clone();
    for (et, params) in sub {
        let target = out.entry(et.clone()).or_default();
        for (param, p) in params {
            let merged = match target.get(param) {
                None => p.clone(),
                Some(existing) => merge_param(et, param, existing, p)?,
            };
            target.insert(param.clone(), merged);
        }
    }
    Ok(out)
}

fn merge_param(
    et: &str,
    param: &str,
    a: &ParamPolicy,
    b: &ParamPolicy,
) -> Result<ParamPolicy, FederationError> {
    let conflict = |operator: &'static str| FederationError::PolicyConflict {
        entity_type: et.to_owned(),
        parameter: param.to_owned(),
        operator,
    };
    let equal = |x: &Option<Value>, y: &Option<Value>, op| match (x, y) {
        (Some(x), Some(y)) if x != y => Err(conflict(op)),
        (Some(x), _) | (None, Some(x)) => Ok(Some(x.clone())),
        (None, None) => Ok(None),
    };
    let union = |x: &Option<Vec<Value>>, y: &Option<Vec<Value>>| match (x, y) {
        (Some(x), Some(y)) => Some(dedup(x.iter().chain(y).cloned().collect())),
        (Some(v), None) | (None, Some(v)) => Some(v.clone()),
        (None, None) => None,
    };
    let intersect = |x: &Option<Vec<Value>>, y: &Option<Vec<Value>>| match (x, y) {
        (Some(x), Some(y)) => Some(x.iter().filter(|v| y.contains(v)).cloned().collect()),
        (Some(v), None) | (None, Some(v)) => Some(v.clone()),
        (None, None) => None,
    };
    let one_of: Option<Vec<Value>> = intersect(&a.one_of, &b.one_of);
    if one_of.as_ref().is_some_and(Vec::is_empty) {
        return Err(conflict("one_of"));
    }
    let merged = ParamPolicy {
        value: equal(&a.value, &b.value, "value")?,
        add: union(&a.add, &b.add),
        default: equal(&a.default, &b.default, "default")?,
        one_of,
        subset_of: intersect(&a.subset_of, &b.subset_of),
        superset_of: union(&a.superset_of, &b.superset_of),
        essential: match (a.essential, b.essential) {
            (None, None) => None,
            (x, y) => Some(x.unwrap_or(false) || y.unwrap_or(false)),
        },
    };
    check_combination(&merged).map_err(|_| conflict(first_operator(&merged)))?;
    Ok(merged)
}

/// The first operator present, naming a conflict of a merged combination.
fn first_operator(p: &ParamPolicy) -> &'static str {
    let present = [
        p.value.is_some(),
        p.add.is_some(),
        p.default.is_some(),
        p.one_of.is_some(),
        p.subset_of.is_some(),
        p.superset_of.is_some(),
        p.essential.is_some(),
    ];
    OPERATORS
        .iter()
        .zip(present)
        .find(|(_, p)| *p)
        .map_or("value", |(n, _)| n)
}

/// Applies a resolved policy to metadata (entity type → parameters). A policy for an entity
/// type the metadata does not have is not applied (§6.1.4.2).
pub fn apply(policy: &Policy, metadata: &mut Map<String, Value>) -> Result<(), FederationError> {
    for (et, params) in policy {
        let Some(Value::Object(md)) = metadata.get_mut(et) else {
            continue;
        };
        for (param, p) in params {
            apply_param(et, param, p, md)?;
        }
    }
    Ok(())
}

fn apply_param(
    et: &str,
    param: &str,
    p: &ParamPolicy,
    md: &mut Map<String, Value>,
) -> Result<(), FederationError> {
    let violation = |operator: &'static str| FederationError::PolicyViolation {
        entity_type: et.to_owned(),
        parameter: param.to_owned(),
        operator,
    };
    if let Some(v) = &p.value {
        if v.is_null() {
            md.remove(param);
        } else {
            md.insert(param.to_owned(), v.clone());
        }
    }
    if let Some(add) = &p.add {
        let current = match md.get(param) {
            None => Vec::new(),
            Some(Value::Array(a)) => a.clone(),
            Some(_) => return Err(violation("add")),
        };
        md.insert(
            param.to_owned(),
            Value::Array(dedup(
                current.into_iter().chain(add.iter().cloned()).collect(),
            )),
        );
    }
    if let Some(d) = &p.default
        && !md.contains_key(param)
    {
        md.insert(param.to_owned(), d.clone());
    }
    if let Some(one) = &p.one_of
        && let Some(v) = md.get(param)
        && !one.contains(v)
    {
        return Err(violation("one_of"));
    }
    if let Some(sub) = &p.subset_of
        && let Some(v) = md.get(param)
    {
        let Value::Array(a) = v else {
            return Err(violation("subset_of"));
        };
        let kept: Vec<Value> = a.iter().filter(|x| sub.contains(x)).cloned().collect();
        md.insert(param.to_owned(), Value::Array(kept));
    }
    if let Some(sup) = &p.superset_of
        && let Some(v) = md.get(param)
    {
        let Value::Array(a) = v else {
            return Err(violation("superset_of"));
        };
        if !subset(sup, a) {
            return Err(violation("superset_of"));
        }
    }
    if p.essential == Some(true) {
        // An array emptied by subset_of is as absent as a missing one (our reading, D-OIDF).
        let empty = match md.get(param) {
            None => true,
            Some(Value::Array(a)) => a.is_empty(),
            Some(_) => false,
        };
        if empty {
            return Err(violation("essential"));
        }
    }
    Ok(())
}

fn invalid(et: &str, param: &str, reason: &str) -> FederationError {
    FederationError::PolicyInvalid {
        entity_type: et.to_owned(),
        parameter: param.to_owned(),
        reason: reason.to_owned(),
    }
}

fn as_array(v: &Value) -> Option<&Vec<Value>> {
    v.as_array()
}

fn subset(a: &[Value], b: &[Value]) -> bool {
    a.iter().all(|x| b.contains(x))
}

fn dedup(v: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(v.len());
    for x in v {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}
