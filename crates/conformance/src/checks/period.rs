//! `data_period` judged on the records' own content (PT-DP-03..06): the kit reads every record
//! of `probe.designated_types` under a grant without a window, decides from each record's
//! designated element (the specification's table, not the target's search parameters) whether
//! the window certainly includes or certainly excludes it, and compares with what the
//! windowed grant releases. Values within 14 hours of a bound are not judged (the target may
//! read day bounds in any time zone, OP-24); active Conditions and AllergyIntolerances are not
//! judged for exclusion (currently relevant records MAY bypass the window, PT-DP-09).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{Check, Fut, custom};
use crate::config::Period;
use crate::ctx::{Ctx, R, Stop, Token, fail, skip};
use crate::fhir::{Searched, search, search_ok};

pub(super) const CHECKS: &[Check] = &[
    custom("PT-DP-03", "override-elements-decide", dp_03),
    custom("PT-DP-04", "r4-date-elements-decide", dp_04),
    custom("PT-DP-05", "period-spanning-window-start", dp_05_start),
    custom("PT-DP-05", "period-spanning-window-end", dp_05_end),
    custom("PT-DP-06", "no-designated-value-excluded", dp_06),
];

/// Types with a designated-parameter override (PT-DP-03).
const OVERRIDE_TYPES: [&str; 8] = [
    "Condition",
    "Goal",
    "MedicationDispense",
    "MedicationRequest",
    "Provenance",
    "QuestionnaireResponse",
    "ServiceRequest",
    "Specimen",
];

/// Types filtered on their R4 `date` parameter that the kit judges (PT-DP-04).
const R4_DATE_TYPES: [&str; 7] = [
    "Observation",
    "DiagnosticReport",
    "Encounter",
    "Procedure",
    "Immunization",
    "AllergyIntolerance",
    "DocumentReference",
];

/// The time-zone slack around day bounds (UTC-12 … UTC+14).
const SLACK: i64 = 14 * 3600;
const DAY: i64 = 86_400;

/// What a record's designated element says.
#[derive(Debug, Clone, PartialEq)]
enum Dated {
    /// No value (PT-DP-06: excluded).
    Missing,
    /// A value the kit does not evaluate (Timing, string, Age…).
    Unjudged,
    /// The instants each value can denote, `[lo, hi]` inclusive.
    Ranges(Vec<(i64, i64)>),
}

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number, `YYYY-MM-DD`.
fn civil(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// A fixed-width decimal field (FHIR dates: 4-digit years, 2-digit everything else), so no
/// value the target sends can overflow the arithmetic.
fn num(s: &str) -> Option<i64> {
    num_w(s, 2)
}

fn num_w(s: &str, width: usize) -> Option<i64> {
    if s.len() != width || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `[lo, hi]` of a FHIR date, dateTime or instant (zone-less values read as UTC; the slack
/// on the window side covers the zone).
fn range(s: &str) -> Option<(i64, i64)> {
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut parts = date.split('-');
    let y = num_w(parts.next()?, 4)?;
    let m = parts.next().map(num);
    let d = parts.next().map(num);
    if parts.next().is_some() {
        return None;
    }
    match (m, d, time) {
        (None, None, None) => Some((
            days_from_civil(y, 1, 1) * DAY,
            days_from_civil(y + 1, 1, 1) * DAY - 1,
        )),
        (Some(Some(m)), None, None) if (1..=12).contains(&m) => {
            let next = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            Some((
                days_from_civil(y, m, 1) * DAY,
                days_from_civil(next.0, next.1, 1) * DAY - 1,
            ))
        }
        (Some(Some(m)), Some(Some(d)), t) if (1..=12).contains(&m) && (1..=31).contains(&d) => {
            let day = days_from_civil(y, m, d) * DAY;
            let Some(t) = t else {
                return Some((day, day + DAY - 1));
            };
            // hh:mm[:ss[.fff]] then Z or ±hh:mm.
            let (clock, offset) = match t.find(['Z', '+', '-']) {
                Some(i) => (&t[..i], &t[i..]),
                None => (t, ""),
            };
            let mut f = clock.split(':');
            let hh = num(f.next()?)?;
            let mm = num(f.next()?)?;
            let ss = match f.next() {
                Some(s) => num(s.split('.').next()?)?,
                None => 0,
            };
            let off = match offset {
                "" | "Z" => 0,
                o => {
                    let sign = if o.starts_with('-') { -1 } else { 1 };
                    let (oh, om) = o[1..].split_once(':')?;
                    sign * (num(oh)? * 3600 + num(om)? * 60)
                }
            };
            let at = day + hh * 3600 + mm * 60 + ss - off;
            Some((at, at))
        }
        _ => None,
    }
}

fn value_ranges(v: &Value) -> Dated {
    match v.as_str().and_then(range) {
        Some(r) => Dated::Ranges(vec![r]),
        None => Dated::Unjudged,
    }
}

fn period_range(p: &Value) -> Dated {
    let lo = p.get("start").and_then(Value::as_str);
    let hi = p.get("end").and_then(Value::as_str);
    if lo.is_none() && hi.is_none() {
        return Dated::Missing;
    }
    let lo = match lo.map(range) {
        Some(Some(r)) => r.0,
        Some(None) => return Dated::Unjudged,
        None => i64::MIN,
    };
    let hi = match hi.map(range) {
        Some(Some(r)) => r.1,
        Some(None) => return Dated::Unjudged,
        None => i64::MAX,
    };
    Dated::Ranges(vec![(lo, hi)])
}

/// `name[x]` of `obj`.
fn choice(obj: &Value, name: &str) -> Dated {
    let Some(m) = obj.as_object() else {
        return Dated::Missing;
    };
    for (suffix, is_period) in [
        ("DateTime", false),
        ("Instant", false),
        ("Date", false),
        ("Period", true),
    ] {
        if let Some(v) = m.get(&format!("{name}{suffix}")) {
            return if is_period {
                period_range(v)
            } else {
                value_ranges(v)
            };
        }
    }
    if m.keys().any(|k| {
        k.strip_prefix(name)
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
    }) {
        Dated::Unjudged
    } else {
        Dated::Missing
    }
}

fn plain(r: &Value, name: &str) -> Dated {
    match r.get(name) {
        None => Dated::Missing,
        Some(v) if v.is_object() => period_range(v),
        Some(v) => value_ranges(v),
    }
}

/// The designated element of a record (constraints.md §4 table).
fn designated(ty: &str, r: &Value) -> Dated {
    match ty {
        "Condition" | "AllergyIntolerance" => plain(r, "recordedDate"),
        "MedicationDispense" => plain(r, "whenHandedOver"),
        "MedicationRequest" | "ServiceRequest" => plain(r, "authoredOn"),
        "Provenance" => plain(r, "recorded"),
        "QuestionnaireResponse" => plain(r, "authored"),
        "DocumentReference" => plain(r, "date"),
        "Encounter" => plain(r, "period"),
        "Specimen" => choice(r.get("collection").unwrap_or(&Value::Null), "collected"),
        "Observation" | "DiagnosticReport" => choice(r, "effective"),
        "Procedure" => choice(r, "performed"),
        "Immunization" => choice(r, "occurrence"),
        "Goal" => {
            let dues: Vec<&Value> = r
                .get("target")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|t| t.get("dueDate"))
                .collect();
            if dues.is_empty() {
                return Dated::Missing;
            }
            let mut out = Vec::new();
            for d in dues {
                match value_ranges(d) {
                    Dated::Ranges(r) => out.extend(r),
                    other => return other,
                }
            }
            Dated::Ranges(out)
        }
        _ => Dated::Unjudged,
    }
}

/// Whether a record may be released whatever the window (PT-DP-09).
fn currently_relevant(ty: &str, r: &Value) -> bool {
    matches!(ty, "Condition" | "AllergyIntolerance")
        && r.pointer("/clinicalStatus/coding")
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter().any(|c| {
                    matches!(
                        c.get("code").and_then(Value::as_str),
                        Some("active" | "recurrence" | "relapse")
                    )
                })
            })
}

/// The window's instants `[a, b]` (day bounds cover their whole day).
fn window_bounds(p: &Period) -> Option<(i64, i64)> {
    let a = match &p.start {
        Some(s) => range(s)?.0,
        None => i64::MIN,
    };
    let b = match &p.end {
        Some(e) => range(e)?.1,
        None => i64::MAX,
    };
    Some((a, b))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    In,
    Out,
    Unsure,
}

fn verdict(d: &Dated, (a, b): (i64, i64)) -> Verdict {
    let Dated::Ranges(ranges) = d else {
        return Verdict::Unsure;
    };
    let shrink_a = a.saturating_add(SLACK);
    let shrink_b = b.saturating_sub(SLACK);
    if ranges
        .iter()
        .any(|&(lo, hi)| lo <= shrink_b && hi >= shrink_a)
    {
        return Verdict::In;
    }
    // Out only when even the envelope of every value misses the widest reading.
    let lo = ranges.iter().map(|r| r.0).min().unwrap_or(i64::MAX);
    let hi = ranges.iter().map(|r| r.1).max().unwrap_or(i64::MIN);
    if hi < a.saturating_sub(SLACK) || lo > b.saturating_add(SLACK) {
        Verdict::Out
    } else {
        Verdict::Unsure
    }
}

/// One type's records as the kit judges them under a window, and what the window released.
struct Judged {
    ty: String,
    inside: BTreeSet<String>,
    outside: BTreeSet<String>,
    missing: BTreeSet<String>,
    released: BTreeSet<String>,
}

/// The types the kit judges (`probe.designated_types`, else the dated types of the scopes).
fn judged_types(c: &Ctx) -> Vec<String> {
    match &c.config.probe.designated_types {
        Some(t) => t.clone(),
        None => c
            .config
            .probe
            .scopes
            .iter()
            .filter_map(|s| super::scope::scope_type(s))
            .filter(|t| OVERRIDE_TYPES.contains(t) || R4_DATE_TYPES.contains(t))
            .map(str::to_owned)
            .collect(),
    }
}

async fn grant(c: &Ctx, types: &[String], period: Option<&Period>) -> Result<Token, Stop> {
    let scopes: Vec<String> = types.iter().map(|t| format!("patient/{t}.rs")).collect();
    let mut access = json!({"smart_scopes": scopes});
    if let Some(p) = period {
        access["data_period"] = p.to_json();
    }
    let mut p = c.base_payload();
    p.insert("access".into(), access);
    c.redeem_ok(&c.mint(p)?).await
}

/// Every record of each type, without a window (types the target refuses are left out).
async fn all_records(
    c: &Ctx,
    types: &[String],
) -> Result<Vec<(String, crate::fhir::SearchSet)>, Stop> {
    let t = grant(c, types, None).await?;
    let mut out = Vec::new();
    for ty in types {
        if let Searched::Found(s) = search(c, &t, ty, "").await? {
            out.push((ty.clone(), s));
        }
    }
    Ok(out)
}

/// Judges `types` under `period`.
async fn judge(c: &Ctx, types: &[String], period: &Period) -> Result<Vec<Judged>, Stop> {
    let Some(bounds) = window_bounds(period) else {
        return fail(format!(
            "the window {} has an unparseable bound",
            period.to_json()
        ));
    };
    let all = all_records(c, types).await?;
    let present: Vec<String> = all.iter().map(|(t, _)| t.clone()).collect();
    if present.is_empty() {
        return skip(format!(
            "needs setup: the target releases none of {types:?} (probe.designated_types in kit.toml)"
        ));
    }
    let windowed = grant(c, &present, Some(period)).await?;
    let mut out = Vec::new();
    for (ty, set) in all {
        let released = search_ok(c, &windowed, &ty, "").await?.ids;
        let mut j = Judged {
            ty: ty.clone(),
            inside: BTreeSet::new(),
            outside: BTreeSet::new(),
            missing: BTreeSet::new(),
            released,
        };
        for (id, r) in &set.resources {
            let d = designated(&ty, r);
            let exempt = currently_relevant(&ty, r);
            match (&d, verdict(&d, bounds)) {
                (Dated::Missing, _) if !exempt => {
                    j.missing.insert(id.clone());
                }
                (_, Verdict::In) => {
                    j.inside.insert(id.clone());
                }
                (_, Verdict::Out) if !exempt => {
                    j.outside.insert(id.clone());
                }
                _ => {}
            }
        }
        out.push(j);
    }
    Ok(out)
}

/// Inside released, outside not.
fn assert_judged(j: &Judged, window: &Period) -> R {
    let withheld: Vec<_> = j.inside.difference(&j.released).take(5).collect();
    if !withheld.is_empty() {
        return fail(format!(
            "{} {withheld:?}: the designated element is inside data_period {} but the grant \
             does not release them",
            j.ty,
            window.to_json()
        ));
    }
    let leaked: Vec<_> = j.outside.intersection(&j.released).take(5).collect();
    if !leaked.is_empty() {
        return fail(format!(
            "{} {leaked:?}: the designated element is outside data_period {} but the grant \
             releases them",
            j.ty,
            window.to_json()
        ));
    }
    Ok(())
}

async fn elements_decide(c: &Ctx, family: &[&str], what: &str) -> R {
    let types: Vec<String> = judged_types(c)
        .into_iter()
        .filter(|t| family.contains(&t.as_str()))
        .collect();
    if types.is_empty() {
        return skip(format!(
            "needs setup: probe.designated_types names no {what} type (one of {family:?})"
        ));
    }
    let probe = &c.config.probe;
    let (mut ins, mut outs) = (0, 0);
    for window in std::iter::once(&probe.data_period).chain(&probe.designated_window) {
        for j in &judge(c, &types, window).await? {
            assert_judged(j, window)?;
            ins += j.inside.len();
            outs += j.outside.len();
        }
    }
    if ins == 0 || outs == 0 {
        return skip(format!(
            "probe.data_period (and probe.designated_window) do not split the patient's \
             {types:?} records by their designated elements ({ins} certainly inside, {outs} \
             certainly outside); choose another window"
        ));
    }
    Ok(())
}

fn dp_03(c: &Ctx) -> Fut<'_> {
    Box::pin(elements_decide(c, &OVERRIDE_TYPES, "override"))
}

fn dp_04(c: &Ctx) -> Fut<'_> {
    Box::pin(elements_decide(c, &R4_DATE_TYPES, "R4 date"))
}

fn dp_06(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let types = judged_types(c);
        let window = &c.config.probe.data_period;
        let judged = judge(c, &types, window).await?;
        let mut seen = 0;
        for j in &judged {
            seen += j.missing.len();
            let leaked: Vec<_> = j.missing.intersection(&j.released).take(5).collect();
            if !leaked.is_empty() {
                return fail(format!(
                    "{} {leaked:?} have no value in their designated element, yet the \
                     data_period grant releases them",
                    j.ty
                ));
            }
        }
        if seen == 0 {
            return skip(format!(
                "needs setup: the patient has no record of {types:?} without its designated \
                 element (probe.designated_types in kit.toml)"
            ));
        }
        Ok(())
    })
}

/// A record whose designated element is a Period long enough to straddle a day bound in
/// every time zone, and the window bound (a day number) it straddles.
fn straddling(
    all: &[(String, crate::fhir::SearchSet)],
    at_start: bool,
) -> Option<(String, String, i64)> {
    for (ty, set) in all {
        for (id, r) in &set.resources {
            let Dated::Ranges(rs) = designated(ty, r) else {
                continue;
            };
            let [(lo, hi)] = rs.as_slice() else {
                continue;
            };
            if *lo == *hi || *lo == i64::MIN || *hi == i64::MAX {
                continue;
            }
            let first = lo.div_euclid(DAY);
            for day in first..first + 4 {
                let bound = if at_start {
                    day * DAY
                } else {
                    (day + 1) * DAY - 1
                };
                // Certainly before the bound, certainly after it, under every zone.
                if *lo < bound - SLACK - 1 && *hi > bound + SLACK + 1 {
                    return Some((ty.clone(), id.clone(), day));
                }
            }
        }
    }
    None
}

async fn spanning(c: &Ctx, at_start: bool) -> R {
    let types = judged_types(c);
    let all = all_records(c, &types).await?;
    let Some((ty, id, day)) = straddling(&all, at_start) else {
        return skip(format!(
            "needs setup: the patient has no record of {types:?} whose designated Period spans \
             more than two days (probe.designated_types in kit.toml)"
        ));
    };
    let window = if at_start {
        Period {
            start: Some(civil(day)),
            end: Some(civil(day + 365)),
        }
    } else {
        Period {
            start: Some(civil(day - 365)),
            end: Some(civil(day)),
        }
    };
    let t = grant(c, std::slice::from_ref(&ty), Some(&window)).await?;
    let released = search_ok(c, &t, &ty, "").await?.ids;
    if !released.contains(&id) {
        return fail(format!(
            "{ty}/{id}, whose period spans the {} of data_period {}, is not released (periods \
             match on overlap)",
            if at_start { "start" } else { "end" },
            window.to_json()
        ));
    }
    let ex = c.fhir(&format!("{}/{ty}/{id}", c.base()), &t).await;
    crate::expect::transport(&ex)?;
    if ex.code() != 200 {
        return fail(format!(
            "{}: {ty}/{id} overlaps the window but its read is refused",
            ex.summary()
        ));
    }
    Ok(())
}

fn dp_05_start(c: &Ctx) -> Fut<'_> {
    Box::pin(spanning(c, true))
}

fn dp_05_end(c: &Ctx) -> Fut<'_> {
    Box::pin(spanning(c, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_instants() {
        assert_eq!(civil(days_from_civil(2024, 2, 29)), "2024-02-29");
        assert_eq!(civil(0), "1970-01-01");
        let (lo, hi) = range("2024-03-01").unwrap();
        assert_eq!(hi - lo, DAY - 1);
        assert_eq!(
            range("2024-03-01T10:00:00-05:00").unwrap().0,
            range("2024-03-01T15:00:00Z").unwrap().0
        );
        assert_eq!(range("2024").unwrap().0, range("2024-01-01").unwrap().0);
        assert_eq!(range("2024-12").unwrap().1, range("2024-12-31").unwrap().1);
        assert!(range("soon").is_none());
    }

    #[test]
    fn verdicts_leave_the_edges_unjudged() {
        let w = window_bounds(&Period {
            start: Some("2024-01-01".into()),
            end: Some("2024-12-31".into()),
        })
        .unwrap();
        let at = |s: &str| Dated::Ranges(vec![range(s).unwrap()]);
        assert_eq!(verdict(&at("2024-06-01T12:00:00Z"), w), Verdict::In);
        assert_eq!(verdict(&at("2023-06-01"), w), Verdict::Out);
        assert_eq!(verdict(&at("2023-12-31T20:00:00Z"), w), Verdict::Unsure);
        assert_eq!(verdict(&Dated::Missing, w), Verdict::Unsure);
        let p = period_range(&json!({"start": "2023-12-01", "end": "2024-01-05"}));
        assert_eq!(verdict(&p, w), Verdict::In);
        let goal = Dated::Ranges(vec![
            range("2023-01-01").unwrap(),
            range("2025-06-01").unwrap(),
        ]);
        assert_eq!(verdict(&goal, w), Verdict::Unsure);
        assert_eq!(
            choice(&json!({"effectiveTiming": {}}), "effective"),
            Dated::Unjudged
        );
        assert_eq!(
            choice(&json!({"status": "final"}), "effective"),
            Dated::Missing
        );
    }
}
