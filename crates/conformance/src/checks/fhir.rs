//! The grant on the data (PT-SCOPE-04/06, PT-DP-01/02/07, PT-RS-03/04), judged black-box: a
//! narrowed grant's plain search must return exactly what the broad grant returns for the
//! equivalent explicit search (`?category=…`, or `date=ge…&date=le…` on the designated
//! parameter), reads must agree with searches, and paging, totals and includes stay inside.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{Check, Fut, custom};
use crate::config::{Period, designated_date_param};
use crate::ctx::{Ctx, R, Stop, Token, fail, skip};
use crate::fhir::{Searched, search, search_ok};

pub(super) const CHECKS: &[Check] = &[
    custom(
        "PT-SCOPE-04",
        "narrowed-search-equals-explicit-filter",
        scope_04_search,
    ),
    custom("PT-SCOPE-04", "read-outside-narrowing-404", scope_04_read),
    custom("PT-SCOPE-02", "union-of-two-scopes", scope_02),
    custom("PT-SCOPE-03", "conjunction-within-one-scope", scope_03),
    custom("PT-SCOPE-06", "read-only-scope-refuses-search", scope_06),
    custom("PT-SCOPE-07", "wildcard-covers-the-probed-types", scope_07),
    custom("PT-DP-01", "search-equals-designated-date-window", dp_01),
    custom("PT-DP-02", "read-outside-window-404", dp_02),
    custom("PT-DP-07", "patient-exempt-from-window", dp_07),
    custom("PT-DP-10", "start-only-window", dp_10_start),
    custom("PT-DP-10", "end-only-window", dp_10_end),
    custom(
        "PT-RS-03",
        "paging-links-and-total-inside-grant",
        rs_03_paging,
    ),
    custom("PT-RS-03", "include-does-not-escape", rs_03_include),
    custom("PT-RS-03", "revinclude-does-not-escape", rs_03_revinclude),
    custom("PT-RS-03", "chaining-does-not-escape", rs_03_chain),
    custom("PT-RS-04", "reads-agree-with-searches", rs_04),
];

/// Redeems the baseline ticket with `access` replaced.
pub(super) async fn token_with(c: &Ctx, access: Value) -> Result<Token, Stop> {
    let mut p = c.base_payload();
    p.insert("access".into(), access);
    c.redeem_ok(&c.mint(p)?).await
}

/// The narrowed scope's type and query.
pub(super) fn narrow(c: &Ctx) -> Result<(String, String), Stop> {
    let s = &c.config.probe.narrow_scope;
    let (head, query) = s.split_once('?').unwrap_or((s, ""));
    match super::scope::scope_type(head) {
        Some(t) => Ok((t.to_owned(), query.to_owned())),
        None => fail(format!("probe.narrow_scope {s:?} is not a SMART v2 scope")),
    }
}

/// Broad set, expected set (broad grant + explicit filter), narrowed token.
struct Narrowed {
    ty: String,
    all: BTreeSet<String>,
    expected: BTreeSet<String>,
    token: Token,
}

async fn narrowed(c: &Ctx) -> Result<Narrowed, Stop> {
    let (ty, query) = narrow(c)?;
    let broad = c.baseline().await?;
    let all = search_ok(c, broad, &ty, "").await?.ids;
    let expected = search_ok(c, broad, &ty, &query).await?.ids;
    if expected.is_empty() || expected.len() == all.len() {
        return skip(format!(
            "probe.narrow_scope does not split the patient's {ty} records ({} of {} match); choose another",
            expected.len(),
            all.len()
        ));
    }
    let token = token_with(c, json!({"smart_scopes": [c.config.probe.narrow_scope]})).await?;
    Ok(Narrowed {
        ty,
        all,
        expected,
        token,
    })
}

pub(super) fn compare(what: &str, got: &BTreeSet<String>, want: &BTreeSet<String>) -> R {
    let extra: Vec<_> = got.difference(want).take(5).collect();
    let missing: Vec<_> = want.difference(got).take(5).collect();
    if !extra.is_empty() {
        return fail(format!("{what}: released outside the grant: {extra:?}"));
    }
    if !missing.is_empty() {
        return fail(format!("{what}: granted records missing: {missing:?}"));
    }
    Ok(())
}

pub(super) async fn read_code(c: &Ctx, t: &Token, ty: &str, id: &str) -> Result<u16, Stop> {
    let ex = c.fhir(&format!("{}/{ty}/{id}", c.base()), t).await;
    crate::expect::transport(&ex)?;
    Ok(ex.code())
}

pub(super) async fn not_readable(
    c: &Ctx,
    t: &Token,
    ty: &str,
    ids: impl Iterator<Item = &String>,
) -> R {
    for id in ids.take(5) {
        let code = read_code(c, t, ty, id).await?;
        if code != 404 && code != 403 {
            return fail(format!(
                "GET {ty}/{id} outside the grant answered {code}, not 404"
            ));
        }
    }
    Ok(())
}

fn scope_04_search(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let n = narrowed(c).await?;
        let got = search_ok(c, &n.token, &n.ty, "").await?.ids;
        compare(
            &format!("GET {} under {}", n.ty, c.config.probe.narrow_scope),
            &got,
            &n.expected,
        )
    })
}

fn scope_04_read(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let n = narrowed(c).await?;
        not_readable(c, &n.token, &n.ty, n.all.difference(&n.expected)).await
    })
}

fn scope_06(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let (ty, _) = narrow(c)?;
        let t = token_with(c, json!({"smart_scopes": [format!("patient/{ty}.r")]})).await?;
        match search(c, &t, &ty, "").await? {
            Searched::Refused(403) => Ok(()),
            Searched::Refused(code) => fail(format!(
                "search under a .r-only grant answered {code}, not 403"
            )),
            Searched::Found(s) if s.ids.is_empty() => {
                fail("search under a .r-only grant answered 200 (empty), not 403")
            }
            Searched::Found(s) => fail(format!(
                "search under a .r-only grant returned {} records",
                s.ids.len()
            )),
        }
    })
}

/// The window's explicit search on the designated parameter.
fn window_query(c: &Ctx, ty: &str) -> String {
    period_query(c, ty, &c.config.probe.data_period)
}

fn period_query(c: &Ctx, ty: &str, period: &Period) -> String {
    let p = designated_date_param(&c.config.probe, ty);
    let mut q = Vec::new();
    if let Some(s) = &period.start {
        q.push(format!("{p}=ge{s}"));
    }
    if let Some(e) = &period.end {
        q.push(format!("{p}=le{e}"));
    }
    q.join("&")
}

async fn windowed_token(c: &Ctx) -> Result<Token, Stop> {
    period_token(c, &c.config.probe.data_period).await
}

async fn period_token(c: &Ctx, period: &Period) -> Result<Token, Stop> {
    let mut scopes: Vec<String> = vec!["patient/Patient.rs".into()];
    scopes.extend(
        c.config
            .probe
            .data_period_types
            .iter()
            .map(|t| format!("patient/{t}.rs")),
    );
    token_with(
        c,
        json!({"smart_scopes": scopes, "data_period": period.to_json()}),
    )
    .await
}

struct Window {
    all: BTreeSet<String>,
    inside: BTreeSet<String>,
}

async fn window(c: &Ctx, ty: &str) -> Result<Window, Stop> {
    period_window(c, ty, &c.config.probe.data_period).await
}

async fn period_window(c: &Ctx, ty: &str, period: &Period) -> Result<Window, Stop> {
    let broad = c.baseline().await?;
    let all = search_ok(c, broad, ty, "").await?.ids;
    let inside = search_ok(c, broad, ty, &period_query(c, ty, period))
        .await?
        .ids;
    if inside.is_empty() || inside.len() == all.len() {
        return skip(format!(
            "probe.data_period does not split the patient's {ty} records ({} of {}); choose another window",
            inside.len(),
            all.len()
        ));
    }
    Ok(Window { all, inside })
}

fn dp_01(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let t = windowed_token(c).await?;
        for ty in &c.config.probe.data_period_types {
            let w = window(c, ty).await?;
            let got = search_ok(c, &t, ty, "").await?.ids;
            compare(
                &format!(
                    "GET {ty} under data_period (vs {ty}?{})",
                    window_query(c, ty)
                ),
                &got,
                &w.inside,
            )?;
        }
        Ok(())
    })
}

fn dp_02(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let t = windowed_token(c).await?;
        for ty in &c.config.probe.data_period_types {
            let w = window(c, ty).await?;
            not_readable(c, &t, ty, w.all.difference(&w.inside)).await?;
            for id in w.inside.iter().take(3) {
                let code = read_code(c, &t, ty, id).await?;
                if code != 200 {
                    return fail(format!("GET {ty}/{id} inside the window answered {code}"));
                }
            }
        }
        Ok(())
    })
}

fn dp_07(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let t = windowed_token(c).await?;
        let id = c.patient_id().await?;
        let code = read_code(c, &t, "Patient", &id).await?;
        if code != 200 {
            return fail(format!(
                "Patient/{id} under a data_period grant answered {code}: Patient is exempt"
            ));
        }
        Ok(())
    })
}

fn rs_03_paging(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let n = narrowed(c).await?;
        let page = c.config.probe.page_size;
        let set = search_ok(
            c,
            &n.token,
            &n.ty,
            &format!("_count={page}&_total=accurate"),
        )
        .await?;
        if let Some(bad) = set
            .next_links
            .iter()
            .find(|l| !l.starts_with(&format!("{}/", c.base())))
        {
            return fail(format!("a next link leaves the FHIR base: {bad}"));
        }
        if n.expected.len() > page as usize && set.pages < 2 {
            return fail(format!(
                "{} matches with _count={page} came in one page",
                n.expected.len()
            ));
        }
        compare("the paged search", &set.ids, &n.expected)?;
        if let Some(total) = set.total
            && total != n.expected.len() as u64
        {
            return fail(format!(
                "Bundle.total {total} but the grant releases {}",
                n.expected.len()
            ));
        }
        // `_summary=count`: the count of the grant, not of the store.
        if let Searched::Found(s) = search(c, &n.token, &n.ty, "_summary=count").await?
            && let Some(total) = s.total
            && total != n.expected.len() as u64
        {
            return fail(format!(
                "_summary=count total {total} but the grant releases {}",
                n.expected.len()
            ));
        }
        Ok(())
    })
}

/// A search that either is refused or returns only what the grant releases.
fn inside_or_refused(what: &str, s: &Searched, allowed: &BTreeSet<String>) -> R {
    match s {
        Searched::Refused(_) => Ok(()),
        Searched::Found(set) => {
            let escaped: Vec<_> = set
                .included
                .iter()
                .chain(&set.foreign)
                .filter(|x| !allowed.contains(*x))
                .take(5)
                .collect();
            if !escaped.is_empty() {
                return fail(format!("{what} released outside the grant: {escaped:?}"));
            }
            Ok(())
        }
    }
}

fn rs_03_include(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        // The narrowed grant has no Patient scope: an included Patient escapes it.
        let n = narrowed(c).await?;
        let s = search(c, &n.token, &n.ty, &format!("_include={}:patient", n.ty)).await?;
        let allowed: BTreeSet<String> = n
            .expected
            .iter()
            .map(|id| format!("{}/{id}", n.ty))
            .collect();
        inside_or_refused("_include", &s, &allowed)?;
        if let Searched::Found(set) = &s {
            compare("the matches of the _include search", &set.ids, &n.expected)?;
        }
        Ok(())
    })
}

fn rs_03_revinclude(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let t = windowed_token(c).await?;
        let mut allowed = BTreeSet::new();
        for ty in &c.config.probe.data_period_types {
            let w = window(c, ty).await?;
            allowed.extend(w.inside.iter().map(|id| format!("{ty}/{id}")));
        }
        for ty in &c.config.probe.data_period_types {
            let s = search(c, &t, "Patient", &format!("_revinclude={ty}:patient")).await?;
            inside_or_refused(&format!("Patient?_revinclude={ty}:patient"), &s, &allowed)?;
        }
        Ok(())
    })
}

fn rs_03_chain(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let n = narrowed(c).await?;
        let q = format!("patient.birthdate={}", c.config.patient.birth_date);
        match search(c, &n.token, &n.ty, &q).await? {
            Searched::Refused(_) => Ok(()),
            Searched::Found(set) => {
                let escaped: Vec<_> = set.ids.difference(&n.expected).take(5).collect();
                if !escaped.is_empty() {
                    return fail(format!(
                        "{}?{q} released outside the grant: {escaped:?}",
                        n.ty
                    ));
                }
                Ok(())
            }
        }
    })
}

fn rs_04(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let n = narrowed(c).await?;
        for id in n.expected.iter().take(10) {
            let code = read_code(c, &n.token, &n.ty, id).await?;
            if code != 200 {
                return fail(format!(
                    "{}/{id} is in the granted search but its read answered {code}",
                    n.ty
                ));
            }
        }
        not_readable(c, &n.token, &n.ty, n.all.difference(&n.expected)).await
    })
}

/// A `data_period` with one bound: `ge` only, or `le` only.
async fn open_window(c: &Ctx, keep_start: bool) -> R {
    let p = &c.config.probe.data_period;
    let period = if keep_start {
        Period {
            start: p.start.clone(),
            end: None,
        }
    } else {
        Period {
            start: None,
            end: p.end.clone(),
        }
    };
    if period.start.is_none() && period.end.is_none() {
        return skip("probe.data_period lacks that bound");
    }
    let t = period_token(c, &period).await?;
    for ty in &c.config.probe.data_period_types {
        let w = period_window(c, ty, &period).await?;
        let got = search_ok(c, &t, ty, "").await?.ids;
        compare(
            &format!("GET {ty} under data_period {}", period.to_json()),
            &got,
            &w.inside,
        )?;
    }
    Ok(())
}

fn dp_10_start(c: &Ctx) -> Fut<'_> {
    Box::pin(open_window(c, true))
}

fn dp_10_end(c: &Ctx) -> Fut<'_> {
    Box::pin(open_window(c, false))
}

fn scope_02(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let n = narrowed(c).await?;
        let Some(other) = c
            .config
            .probe
            .data_period_types
            .iter()
            .find(|t| **t != n.ty)
        else {
            return skip("probe.data_period_types names no type besides the narrowed one");
        };
        let t = token_with(
            c,
            json!({"smart_scopes": [c.config.probe.narrow_scope, format!("patient/{other}.rs")]}),
        )
        .await?;
        let got = search_ok(c, &t, &n.ty, "").await?.ids;
        compare(&format!("GET {} under the union", n.ty), &got, &n.expected)?;
        let all_other = search_ok(c, c.baseline().await?, other, "").await?.ids;
        let got_other = search_ok(c, &t, other, "").await?.ids;
        compare(
            &format!("GET {other} under the union"),
            &got_other,
            &all_other,
        )
    })
}

fn scope_07(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let t = token_with(c, json!({"smart_scopes": ["patient/*.rs"]})).await?;
        let broad = c.baseline().await?;
        let mut types = vec!["Patient".to_owned()];
        types.extend(c.config.probe.data_period_types.iter().cloned());
        for ty in &types {
            let want = search_ok(c, broad, ty, "").await?.ids;
            let got = search_ok(c, &t, ty, "").await?.ids;
            compare(&format!("GET {ty} under patient/*.rs"), &got, &want)?;
        }
        Ok(())
    })
}

/// A `system|code` of `code.coding` carried by some but not all of `set`'s matches, made of
/// characters a scope carries verbatim.
fn splitting_code(set: &crate::fhir::SearchSet) -> Option<String> {
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b":/._-".contains(&b))
    };
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for r in set.resources.values() {
        let mut seen = BTreeSet::new();
        for c in r
            .pointer("/code/coding")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(s), Some(k)) = (
                c.get("system").and_then(Value::as_str),
                c.get("code").and_then(Value::as_str),
            ) && plain(s)
                && plain(k)
            {
                seen.insert(format!("{s}|{k}"));
            }
        }
        for k in seen {
            *counts.entry(k).or_default() += 1;
        }
    }
    let n = set.resources.len();
    counts
        .into_iter()
        .filter(|(_, k)| *k < n)
        .max_by_key(|(_, k)| *k)
        .map(|(code, _)| code)
}

fn scope_03(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let (ty, query) = narrow(c)?;
        let broad = c.baseline().await?;
        let narrowed = search_ok(c, broad, &ty, &query).await?;
        let Some(code) = splitting_code(&narrowed) else {
            return skip(format!(
                "no code splits the patient's {ty} records matching probe.narrow_scope; choose \
                 another narrowing"
            ));
        };
        let both = format!("{query}&code={code}");
        let expected = search_ok(c, broad, &ty, &both).await?.ids;
        if expected.is_empty() || expected.len() == narrowed.ids.len() {
            return skip(format!(
                "{ty}?{both} does not split the narrowed records ({} of {})",
                expected.len(),
                narrowed.ids.len()
            ));
        }
        let scope = format!("{}&code={code}", c.config.probe.narrow_scope);
        let t = token_with(c, json!({"smart_scopes": [scope]})).await?;
        let got = search_ok(c, &t, &ty, "").await?.ids;
        compare(&format!("GET {ty} under {scope}"), &got, &expected)?;
        not_readable(c, &t, &ty, narrowed.ids.difference(&expected)).await
    })
}
