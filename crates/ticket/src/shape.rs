//! Value-shape checks of the access constraints (step 12): what the schema and our open-point
//! decisions require of each member before anyone tries to enforce it. The full SMART scope
//! parser lives in tessera-access; here scopes only get the schema's regex-level check plus
//! canonical letters (OP-14).

use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime};

use crate::claims::{
    Access, ClaimLinkage, HolderFilterEntry, OrganizationRef, Period, SensitivityRule,
};
use crate::error::ConstraintError;

fn malformed(member: &str, reason: &'static str) -> ConstraintError {
    ConstraintError::Malformed {
        path: format!("access.{member}"),
        reason,
    }
}

/// Checks every present member of a normalized `access`.
pub(crate) fn check_access_shapes(access: &Access) -> Result<(), ConstraintError> {
    if let Some(scopes) = &access.smart_scopes {
        check_scopes(scopes)?;
    }
    if let Some(period) = &access.data_period {
        check_period(period).map_err(|r| malformed("data_period", r))?;
    }
    if let Some(filter) = &access.data_holder_filter {
        check_holder_filter(filter).map_err(|r| malformed("data_holder_filter", r))?;
    }
    if let Some(linkage) = &access.claim_linkage {
        check_linkage(linkage).map_err(|r| malformed("claim_linkage", r))?;
    }
    if let Some(rule) = &access.sensitivity_withhold {
        check_sensitivity(rule).map_err(|r| malformed("sensitivity_withhold", r))?;
    }
    Ok(())
}

fn check_scopes(scopes: &[String]) -> Result<(), ConstraintError> {
    if scopes.is_empty() {
        return Err(malformed("smart_scopes", "empty"));
    }
    for s in scopes {
        check_scope(s).map_err(|r| malformed("smart_scopes", r))?;
    }
    Ok(())
}

/// `^(patient|user|system)/(\*|[A-Za-z]+)\.[cruds]+(\?\S+)?$` with the letters unique and in
/// `c r u d s` order (PT-SCOPE-01, OP-14).
pub(crate) fn check_scope(scope: &str) -> Result<(), &'static str> {
    let (context, rest) = scope.split_once('/').ok_or("no context")?;
    if !matches!(context, "patient" | "user" | "system") {
        return Err("bad context");
    }
    let (body, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let (resource, letters) = body.split_once('.').ok_or("no permissions")?;
    if resource != "*"
        && (resource.is_empty() || !resource.chars().all(|c| c.is_ascii_alphabetic()))
    {
        return Err("bad resource type");
    }
    if letters.is_empty() {
        return Err("no permissions");
    }
    let mut last = None;
    for c in letters.chars() {
        let rank = "cruds".find(c).ok_or("bad permission letter")?;
        if last.is_some_and(|l| l >= rank) {
            return Err("permission letters not unique and in cruds order");
        }
        last = Some(rank);
    }
    if let Some(q) = query
        && (q.is_empty() || q.chars().any(char::is_whitespace))
    {
        return Err("bad query");
    }
    Ok(())
}

/// Whether a scope carries a granular `category` or `code` narrowing (OP-17).
pub(crate) fn scope_is_narrowed(scope: &str) -> bool {
    scope.split_once('?').is_some_and(|(_, q)| {
        q.split('&').any(|param| {
            param.split_once('=').is_some_and(|(name, value)| {
                matches!(name, "category" | "code") && !value.is_empty()
            })
        })
    })
}

/// OP-24: at least one bound; FHIR date or dateTime (with zone); `start <= end`.
fn check_period(p: &Period) -> Result<(), &'static str> {
    if p.start.is_none() && p.end.is_none() {
        return Err("no bound");
    }
    let start = p.start.as_deref().map(parse_fhir_instant).transpose()?;
    let end = p.end.as_deref().map(parse_fhir_instant).transpose()?;
    if let (Some((s, _)), Some((_, e))) = (start, end)
        && s >= e
    {
        return Err("start after end");
    }
    Ok(())
}

/// Parses a FHIR `date` (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`) or `dateTime` with zone into the
/// half-open UTC interval `[lower, upper)` it denotes.
pub(crate) fn parse_fhir_instant(
    s: &str,
) -> Result<(OffsetDateTime, OffsetDateTime), &'static str> {
    const BAD: &str = "not a FHIR date or dateTime with zone";
    if s.contains('T') {
        let t = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| BAD)?;
        return Ok((t, t + time::Duration::nanoseconds(1)));
    }
    let parts: Vec<&str> = s.split('-').collect();
    let num = |p: &str, len: usize| -> Result<u32, &'static str> {
        if p.len() != len || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BAD);
        }
        p.parse().map_err(|_| BAD)
    };
    let year = match parts.first() {
        Some(y) => i32::try_from(num(y, 4)?).map_err(|_| BAD)?,
        None => return Err(BAD),
    };
    let month = |m: u32| Month::try_from(u8::try_from(m).map_err(|_| BAD)?).map_err(|_| BAD);
    let date = |y: i32, m: Month, d: u8| Date::from_calendar_date(y, m, d).map_err(|_| BAD);
    let (lower, upper) = match parts.as_slice() {
        [_] => (
            date(year, Month::January, 1)?,
            date(year + 1, Month::January, 1)?,
        ),
        [_, m] => {
            let m = month(num(m, 2)?)?;
            let next = if m == Month::December {
                date(year + 1, Month::January, 1)?
            } else {
                date(year, m.next(), 1)?
            };
            (date(year, m, 1)?, next)
        }
        [_, m, d] => {
            let day = date(
                year,
                month(num(m, 2)?)?,
                u8::try_from(num(d, 2)?).map_err(|_| BAD)?,
            )?;
            (day, day.next_day().ok_or(BAD)?)
        }
        _ => return Err(BAD),
    };
    Ok((lower.midnight().assume_utc(), upper.midnight().assume_utc()))
}

fn check_holder_filter(entries: &[HolderFilterEntry]) -> Result<(), &'static str> {
    if entries.is_empty() {
        return Err("empty");
    }
    for entry in entries {
        match entry {
            HolderFilterEntry::Jurisdiction { address } => {
                let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
                if !set(&address.country) && !set(&address.state) {
                    return Err("address without country or state");
                }
            }
            HolderFilterEntry::Organization { organization } => {
                if organization.is_empty() {
                    return Err("empty organization list");
                }
                if !organization.iter().all(org_identified) {
                    return Err("organization identifier needs exactly system and value");
                }
            }
        }
    }
    Ok(())
}

/// OP-25: filter identifiers match on exact system + value, so both are required; any other
/// Identifier member (`use`, `period`, `assigner`, ...) would qualify the match in a way we do
/// not enforce, so it is malformed (PT-DHF-08).
fn org_identified(o: &OrganizationRef) -> bool {
    let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
    set(&o.identifier.system) && set(&o.identifier.value) && o.identifier.extra.is_empty()
}

fn check_linkage(l: &ClaimLinkage) -> Result<(), &'static str> {
    if l.encounter.is_empty() {
        return Err("no encounter");
    }
    if !l
        .encounter
        .iter()
        .all(|e| e.reference.as_deref().is_some_and(|r| !r.is_empty()))
    {
        return Err("encounter without reference");
    }
    Ok(())
}

fn check_sensitivity(r: &SensitivityRule) -> Result<(), &'static str> {
    if r.codes.is_empty() && !r.unlisted {
        return Err("neither codes nor unlisted");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_regex_level_checks() {
        for ok in [
            "patient/Observation.rs",
            "patient/*.rs",
            "user/Condition.r",
            "system/Patient.cruds",
            "patient/Observation.rs?code=http://loinc.org|4548-4",
        ] {
            assert_eq!(check_scope(ok), Ok(()), "{ok}");
        }
        for bad in [
            "Observation.read",
            "patient/Observation.read",
            "patient/Observation.sr",
            "patient/Observation.rrs",
            "patient/Observation.",
            "patient/.rs",
            "practitioner/Observation.rs",
            "patient/Obs-ervation.rs",
            "patient/Observation.rs?",
            "patient/Observation.rs?code=a b",
        ] {
            assert!(check_scope(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn narrowing() {
        assert!(scope_is_narrowed("patient/Observation.rs?code=x"));
        assert!(scope_is_narrowed(
            "patient/Observation.rs?status=final&category=laboratory"
        ));
        assert!(!scope_is_narrowed("patient/Observation.rs"));
        assert!(!scope_is_narrowed("patient/Observation.rs?status=final"));
        assert!(!scope_is_narrowed("patient/Observation.rs?code="));
    }

    #[test]
    fn periods() {
        let p = |s: Option<&str>, e: Option<&str>| Period {
            start: s.map(Into::into),
            end: e.map(Into::into),
        };
        assert!(check_period(&p(Some("2021-01-01"), Some("2026-01-01"))).is_ok());
        assert!(check_period(&p(Some("2021-01-01"), Some("2021-01-01"))).is_ok());
        assert!(check_period(&p(Some("2021"), None)).is_ok());
        assert!(check_period(&p(None, Some("2021-02"))).is_ok());
        assert!(
            check_period(&p(
                Some("2021-01-01T10:00:00Z"),
                Some("2021-01-01T10:00:00+00:00")
            ))
            .is_ok()
        );
        assert!(check_period(&p(None, None)).is_err());
        assert!(check_period(&p(Some("2022-01-01"), Some("2021-12-31"))).is_err());
        assert!(
            check_period(&p(Some("2021-01-01T10:00:00"), None)).is_err(),
            "zone required"
        );
        assert!(check_period(&p(Some("2021-02-30"), None)).is_err());
        assert!(check_period(&p(Some("21-01-01"), None)).is_err());
        assert!(check_period(&p(Some("2021-13"), None)).is_err());
        assert!(
            check_period(&p(Some("2021-12-31"), Some("2021-12"))).is_ok(),
            "overlapping precision"
        );
    }
}
