//! Parsing a FHIR search request (decoded `name=value` pairs) into a checked [`SearchQuery`].
//!
//! Strict by design: a parameter we do not implement is an error naming it, never silently
//! ignored (ignoring a filter would return more than the client asked for). Sizes are bounded.

use thiserror::Error;

use crate::date::{DatePrefix, DateRange, parse_date_range};
use crate::index::{normalize_string, split_reference};
use crate::registry::{ParamKind, ResourceDef, SearchParam, resource_def};

/// Default page size.
pub const DEFAULT_COUNT: u32 = 50;
/// Largest accepted `_count`; above it the request is rejected (not clamped).
pub const MAX_COUNT: u32 = 200;
/// Most criteria (`name=value` pairs other than `_count`, `_summary`, `_total`, `_format`,
/// `_cursor`) in one search; at most as many control pairs as there are control parameters
/// may come on top.
pub const MAX_PARAMS: usize = 32;
/// Most comma-separated alternatives in one parameter.
pub const MAX_ALTERNATIVES: usize = 32;
/// Longest single value.
pub const MAX_VALUE_LEN: usize = 512;

/// Result-control parameters we honour (handled in [`parse_search`], never criteria).
const CONTROL: &[&str] = &["_count", "_summary", "_total", "_format", "_cursor"];

/// Result-control parameters we reject explicitly, because honouring them under a grant needs
/// more than we implement (see docs/design/001-fhir-enforcement.md).
const REJECTED: &[&str] = &[
    "_include",
    "_revinclude",
    "_sort",
    "_elements",
    "_contained",
    "_containedType",
    "_has",
    "_list",
    "_text",
    "_content",
    "_filter",
    "_query",
    "_type",
    "_security",
    "_tag",
    "_profile",
    "_source",
];

/// A token search value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenValue {
    /// `None`: any system (`code`); `Some("")`: no system (`|code`); else `system|code`.
    pub system: Option<String>,
    /// `None` for `system|` (any code in the system).
    pub code: Option<String>,
}

/// A reference search value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefValue {
    /// Target type, when the value or the parameter fixes it.
    pub target_type: Option<String>,
    /// Target id.
    pub target_id: String,
}

/// A date search value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateValue {
    /// Comparison.
    pub prefix: DatePrefix,
    /// The value's range at its precision.
    pub range: DateRange,
}

/// The alternatives (comma = OR) of one parameter occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClauseValues {
    /// `_id`.
    Id(Vec<String>),
    /// `_lastUpdated`.
    LastUpdated(Vec<DateValue>),
    /// Token parameter.
    Token(Vec<TokenValue>),
    /// Date parameter.
    Date(Vec<DateValue>),
    /// Reference parameter.
    Reference(Vec<RefValue>),
    /// String parameter: normalized prefixes.
    String(Vec<String>),
}

/// One parameter occurrence; occurrences are ANDed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// Parameter name.
    pub param: &'static str,
    /// Its alternatives.
    pub values: ClauseValues,
}

/// A checked search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// The searched type.
    pub resource_type: &'static str,
    /// Criteria, ANDed.
    pub clauses: Vec<Clause>,
    /// Page size.
    pub count: u32,
    /// `_summary=count` (or `_count=0`): only the total.
    pub summary_count: bool,
    /// Keyset cursor: return matches positioned after this key.
    pub cursor: Option<i64>,
    /// `_total=none`: the total is not counted (no `Bundle.total`), unless only the total was
    /// asked for (`_summary=count`).
    pub skip_total: bool,
    /// The criteria pairs as given (without `_count`/`_cursor`), for paging links.
    pub criteria: Vec<(String, String)>,
}

/// Why a search request is rejected (always a client error).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SearchError {
    /// The resource type is not served.
    #[error("resource type not supported: {0}")]
    UnsupportedType(String),
    /// The parameter is not defined (or not implemented) for this type.
    #[error("unknown or unsupported search parameter for {resource_type}: {param}")]
    UnknownParameter {
        /// Type searched.
        resource_type: String,
        /// Parameter name as given.
        param: String,
    },
    /// A parameter we deliberately do not honour.
    #[error("search parameter not supported: {0}")]
    Rejected(String),
    /// A modifier (`name:modifier`) we do not implement.
    #[error("modifier not supported on {param}: {modifier}")]
    UnsupportedModifier {
        /// Parameter.
        param: String,
        /// Modifier.
        modifier: String,
    },
    /// A value does not parse.
    #[error("invalid value for {param}: {reason}")]
    InvalidValue {
        /// Parameter.
        param: String,
        /// What is wrong.
        reason: String,
    },
    /// A size bound was exceeded.
    #[error("search too large: {0}")]
    TooLarge(String),
}

/// Parses the search for `resource_type` from decoded pairs (query string and/or form body).
pub fn parse_search(
    resource_type: &str,
    pairs: &[(String, String)],
) -> Result<SearchQuery, SearchError> {
    let def = resource_def(resource_type)
        .ok_or_else(|| SearchError::UnsupportedType(resource_type.to_owned()))?;
    // Criteria are bounded by MAX_PARAMS and the result-control parameters come on top,
    // so the paging links of an accepted search (its criteria plus `_count` and `_cursor`)
    // are accepted too (fuzz target `search_params`, docs/security.md).
    let criteria = pairs
        .iter()
        .filter(|(name, _)| !CONTROL.contains(&name.as_str()))
        .count();
    if criteria > MAX_PARAMS || pairs.len() > MAX_PARAMS + CONTROL.len() {
        return Err(SearchError::TooLarge(format!(
            "more than {MAX_PARAMS} parameters"
        )));
    }
    let mut q = SearchQuery {
        resource_type: def.resource_type,
        clauses: Vec::new(),
        count: DEFAULT_COUNT,
        summary_count: false,
        cursor: None,
        skip_total: false,
        criteria: Vec::new(),
    };
    for (name, value) in pairs {
        if value.len() > MAX_VALUE_LEN || name.len() > 64 {
            return Err(SearchError::TooLarge(format!(
                "value of {} longer than {MAX_VALUE_LEN}",
                short(name)
            )));
        }
        match name.as_str() {
            "_count" => {
                let n: u32 = value
                    .parse()
                    .map_err(|_| invalid(name, "not a non-negative integer"))?;
                if n > MAX_COUNT {
                    return Err(invalid(name, &format!("must be at most {MAX_COUNT}")));
                }
                q.count = n;
                q.summary_count |= n == 0;
            }
            "_summary" => match value.as_str() {
                "count" => q.summary_count = true,
                "false" => {}
                _ => return Err(invalid(name, "only `count` and `false` are supported")),
            },
            "_total" => match value.as_str() {
                "none" => q.skip_total = true,
                "estimate" | "accurate" => q.skip_total = false,
                _ => return Err(invalid(name, "must be none, estimate or accurate")),
            },
            "_format" => match value.as_str() {
                "json" | "application/json" | "application/fhir+json" => {}
                _ => return Err(invalid(name, "only JSON is supported")),
            },
            "_cursor" => {
                let c: i64 = value
                    .parse()
                    .map_err(|_| invalid(name, "malformed page cursor"))?;
                q.cursor = Some(c);
            }
            _ => {
                q.clauses.push(parse_clause(def, name, value)?);
                q.criteria.push((name.clone(), value.clone()));
            }
        }
    }
    Ok(q)
}

fn parse_clause(def: &'static ResourceDef, name: &str, value: &str) -> Result<Clause, SearchError> {
    let (base, modifier) = match name.split_once(':') {
        Some((b, m)) => (b, Some(m)),
        None => (name, None),
    };
    if REJECTED.contains(&base) {
        return Err(SearchError::Rejected(short(base)));
    }
    if let Some(m) = modifier {
        return Err(SearchError::UnsupportedModifier {
            param: short(base),
            modifier: short(m),
        });
    }
    let alternatives: Vec<&str> = value.split(',').collect();
    if alternatives.len() > MAX_ALTERNATIVES {
        return Err(SearchError::TooLarge(format!(
            "more than {MAX_ALTERNATIVES} values for {}",
            short(name)
        )));
    }
    if alternatives.iter().any(|a| a.is_empty()) {
        return Err(invalid(name, "empty value"));
    }
    let (param, values) = match base {
        "_id" => {
            let ids = alternatives
                .iter()
                .map(|a| check_id(name, a))
                .collect::<Result<_, _>>()?;
            ("_id", ClauseValues::Id(ids))
        }
        "_lastUpdated" => (
            "_lastUpdated",
            ClauseValues::LastUpdated(dates(name, &alternatives)?),
        ),
        _ => {
            let param = def
                .param(base)
                .ok_or_else(|| SearchError::UnknownParameter {
                    resource_type: def.resource_type.to_owned(),
                    param: short(base),
                })?;
            (param.name, typed_values(param, &alternatives)?)
        }
    };
    Ok(Clause { param, values })
}

fn typed_values(param: &'static SearchParam, alts: &[&str]) -> Result<ClauseValues, SearchError> {
    let name = param.name;
    Ok(match param.kind {
        ParamKind::Token => ClauseValues::Token(alts.iter().map(|a| token(a)).collect()),
        ParamKind::Date => ClauseValues::Date(dates(name, alts)?),
        ParamKind::String => {
            ClauseValues::String(alts.iter().map(|a| normalize_string(a)).collect())
        }
        ParamKind::Reference => {
            let refs = alts
                .iter()
                .map(|a| reference(param, a))
                .collect::<Result<_, _>>()?;
            ClauseValues::Reference(refs)
        }
    })
}

fn token(a: &str) -> TokenValue {
    match a.split_once('|') {
        None => TokenValue {
            system: None,
            code: Some(a.to_owned()),
        },
        Some((system, "")) => TokenValue {
            system: Some(system.to_owned()),
            code: None,
        },
        Some((system, code)) => TokenValue {
            system: Some(system.to_owned()),
            code: Some(code.to_owned()),
        },
    }
}

fn reference(param: &SearchParam, a: &str) -> Result<RefValue, SearchError> {
    let (target_type, target_id) = if crate::is_valid_id(a) {
        (param.target.map(str::to_owned), a.to_owned())
    } else {
        let (t, id) = split_reference(a).ok_or_else(|| invalid(param.name, "not a reference"))?;
        if param.target.is_some_and(|want| want != t) {
            return Err(invalid(param.name, "reference to the wrong resource type"));
        }
        (Some(t.to_owned()), id.to_owned())
    };
    Ok(RefValue {
        target_type,
        target_id,
    })
}

fn dates(name: &str, alts: &[&str]) -> Result<Vec<DateValue>, SearchError> {
    alts.iter()
        .map(|a| {
            let (prefix, rest) = DatePrefix::split(a);
            let range = parse_date_range(rest).map_err(|e| invalid(name, &e.to_string()))?;
            Ok(DateValue { prefix, range })
        })
        .collect()
}

fn check_id(name: &str, a: &str) -> Result<String, SearchError> {
    if crate::is_valid_id(a) {
        Ok(a.to_owned())
    } else {
        Err(invalid(name, "not a FHIR id"))
    }
}

fn invalid(param: &str, reason: &str) -> SearchError {
    SearchError::InvalidValue {
        param: short(param),
        reason: reason.to_owned(),
    }
}

/// Echoed names are truncated so an error never reflects a huge attacker string.
fn short(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn parses_tokens_dates_and_controls() {
        let q = parse_search(
            "Observation",
            &pairs(&[
                ("code", "http://loinc.org|4548-4,|x,y,sys|"),
                ("date", "ge2021-01"),
                ("date", "lt2022"),
                ("_count", "10"),
            ]),
        )
        .unwrap();
        assert_eq!(q.count, 10);
        assert_eq!(q.clauses.len(), 3);
        let ClauseValues::Token(t) = &q.clauses[0].values else {
            panic!()
        };
        assert_eq!(
            t[0],
            TokenValue {
                system: Some("http://loinc.org".into()),
                code: Some("4548-4".into())
            }
        );
        assert_eq!(
            t[1],
            TokenValue {
                system: Some(String::new()),
                code: Some("x".into())
            }
        );
        assert_eq!(
            t[2],
            TokenValue {
                system: None,
                code: Some("y".into())
            }
        );
        assert_eq!(
            t[3],
            TokenValue {
                system: Some("sys".into()),
                code: None
            }
        );
        assert_eq!(q.criteria.len(), 3);
    }

    #[test]
    fn rejections_name_the_parameter() {
        let err = |q: &[(&str, &str)]| parse_search("Observation", &pairs(q)).unwrap_err();
        assert!(
            matches!(err(&[("foo", "1")]), SearchError::UnknownParameter { param, .. } if param == "foo")
        );
        assert!(matches!(
            err(&[("birthdate", "2000")]),
            SearchError::UnknownParameter { .. }
        ));
        assert_eq!(
            err(&[("_include", "Observation:patient")]),
            SearchError::Rejected("_include".into())
        );
        assert!(matches!(
            err(&[("code:text", "x")]),
            SearchError::UnsupportedModifier { .. }
        ));
        assert!(
            matches!(err(&[("date", "2021-13")]), SearchError::InvalidValue { param, .. } if param == "date")
        );
        assert!(
            matches!(err(&[("_count", "100000")]), SearchError::InvalidValue { param, .. } if param == "_count")
        );
        assert!(matches!(
            err(&[("patient", "Encounter/1")]),
            SearchError::InvalidValue { .. }
        ));
        assert!(matches!(
            err(&[("_id", "a'; DROP TABLE resource;--")]),
            SearchError::InvalidValue { .. }
        ));
        assert!(matches!(
            err(&[("code", "")]),
            SearchError::InvalidValue { .. }
        ));
        assert!(matches!(
            parse_search("Binary", &[]).unwrap_err(),
            SearchError::UnsupportedType(_)
        ));
    }

    #[test]
    fn references_take_the_parameter_target() {
        let q = parse_search(
            "Observation",
            &pairs(&[("patient", "p1"), ("subject", "Patient/p2")]),
        )
        .unwrap();
        let ClauseValues::Reference(r) = &q.clauses[0].values else {
            panic!()
        };
        assert_eq!(
            r[0],
            RefValue {
                target_type: Some("Patient".into()),
                target_id: "p1".into()
            }
        );
        let ClauseValues::Reference(r) = &q.clauses[1].values else {
            panic!()
        };
        assert_eq!(r[0].target_type.as_deref(), Some("Patient"));
        let q = parse_search("Observation", &pairs(&[("_summary", "count")])).unwrap();
        assert!(q.summary_count);
    }
}
