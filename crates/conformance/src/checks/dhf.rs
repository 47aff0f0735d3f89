//! `data_holder_filter` against the target's own identity (PT-DHF-01/03..07/10): entries
//! naming its jurisdictions, its organization identifiers and the organizations it answers
//! for, each alone and among entries that match nothing. The malformed shapes and the plain
//! mismatch are in scope.rs (PT-DHF-02/08).

use serde_json::{Map, Value, json};

use super::{Check, Fut, custom, set_access, ticket};
use crate::config::{DataHolderConfig, IdentifierConfig, JurisdictionConfig};
use crate::ctx::{Ctx, R, Stop, Token, fail, skip};
use crate::expect::{self, Expect, GRANT};
use crate::fhir::search_ok;

pub(super) const CHECKS: &[Check] = &[
    custom("PT-DHF-01", "own-jurisdiction-matches", dhf_01),
    ticket(
        "PT-DHF-02",
        "jurisdiction-elsewhere",
        |_, m| filter(m, json!([elsewhere()])),
        GRANT,
    ),
    ticket(
        "PT-DHF-03",
        "one-jurisdiction-among-mismatches",
        |c, m| {
            let j = jurisdiction(c, 0)?;
            filter(m, json!([nobody(), elsewhere(), j]))
        },
        Expect::Token,
    ),
    ticket(
        "PT-DHF-03",
        "organization-after-a-mismatch",
        |c, m| {
            let o = org_entry(&[own(c)?], None);
            filter(m, json!([elsewhere(), o]))
        },
        Expect::Token,
    ),
    ticket(
        "PT-DHF-04",
        "identifier-matches-display-ignored",
        |c, m| {
            let o = org_entry(&[own(c)?], Some("Not the target's name (conformance kit)"));
            filter(m, json!([o]))
        },
        Expect::Token,
    ),
    ticket(
        "PT-DHF-04",
        "one-of-several-identifiers",
        |c, m| {
            let nobody = IdentifierConfig {
                system: NOBODY_SYSTEM.into(),
                value: "kit-nobody".into(),
            };
            let o = org_entry(&[nobody, own(c)?], None);
            filter(m, json!([o]))
        },
        Expect::Token,
    ),
    ticket(
        "PT-DHF-04",
        "same-value-other-system",
        |c, m| {
            let mut id = own(c)?;
            id.system = NOBODY_SYSTEM.into();
            filter(m, json!([org_entry(&[id], None)]))
        },
        GRANT,
    ),
    ticket(
        "PT-DHF-05",
        "served-organization-matches",
        |c, m| {
            let o = org_entry(&[served(c)?], None);
            filter(m, json!([o]))
        },
        Expect::Token,
    ),
    custom("PT-DHF-06", "each-jurisdiction-matches", dhf_06),
    custom("PT-DHF-07", "whole-record-after-own-match", dhf_07_own),
    custom("PT-DHF-07", "served-match-stays-inside", dhf_07_served),
    custom("PT-DHF-10", "single-organization-shape", dhf_10),
];

/// A system no Data Holder's identifier uses.
const NOBODY_SYSTEM: &str = "https://conformance.invalid/org";

fn filter(m: &mut Map<String, Value>, v: Value) -> R {
    set_access(m, "data_holder_filter", v);
    Ok(())
}

/// An organization entry no Data Holder matches.
fn nobody() -> Value {
    json!({"kind": "organization", "organization": [{"identifier": {
        "system": NOBODY_SYSTEM, "value": "kit-nobody"}}]})
}

/// A jurisdiction no Data Holder is in (Antarctica).
fn elsewhere() -> Value {
    json!({"kind": "jurisdiction", "address": {"country": "AQ"}})
}

fn section(c: &Ctx) -> Result<&DataHolderConfig, Stop> {
    match &c.config.data_holder {
        Some(d) => Ok(d),
        None => skip(
            "needs setup: the target's own organization identifiers and jurisdictions \
             ([data_holder] in kit.toml)",
        ),
    }
}

fn jurisdiction_entry(j: &JurisdictionConfig) -> Value {
    json!({"kind": "jurisdiction", "address": j.to_json()})
}

fn jurisdiction(c: &Ctx, i: usize) -> Result<Value, Stop> {
    match section(c)?.jurisdictions.get(i) {
        Some(j) => Ok(jurisdiction_entry(j)),
        None => skip("needs setup: data_holder.jurisdictions is empty ([data_holder] in kit.toml)"),
    }
}

fn own(c: &Ctx) -> Result<IdentifierConfig, Stop> {
    match section(c)?.organization.first() {
        Some(i) => Ok(i.clone()),
        None => skip("needs setup: data_holder.organization is empty ([data_holder] in kit.toml)"),
    }
}

fn served(c: &Ctx) -> Result<IdentifierConfig, Stop> {
    match section(c)?.served_organizations.first() {
        Some(i) => Ok(i.clone()),
        None => skip(
            "needs setup: data_holder.served_organizations is empty (an organization the target \
             answers for, [data_holder] in kit.toml)",
        ),
    }
}

fn org_entry(ids: &[IdentifierConfig], display: Option<&str>) -> Value {
    let refs: Vec<Value> = ids
        .iter()
        .map(|i| {
            let mut r = json!({"identifier": {"system": i.system, "value": i.value}});
            if let Some(d) = display {
                r["display"] = d.into();
            }
            r
        })
        .collect();
    json!({"kind": "organization", "organization": refs})
}

/// Redeems the baseline ticket with `data_holder_filter` = `entries`.
async fn redeem_with(c: &Ctx, entries: Value) -> Result<crate::probe::Exchange, Stop> {
    let mut p = c.base_payload();
    filter(&mut p, entries)?;
    let ticket = c.mint(p)?;
    c.redeem(&ticket).await
}

async fn token_with(c: &Ctx, entries: Value, what: &str) -> Result<Token, Stop> {
    let ex = redeem_with(c, entries).await?;
    expect::token(&ex).map_err(|e| e.within(what))
}

/// The resolved Patient is readable with `t`.
async fn patient_readable(c: &Ctx, t: &Token) -> R {
    let id = c.patient_id().await?;
    let ex = c.fhir(&format!("{}/Patient/{id}", c.base()), t).await;
    expect::transport(&ex)?;
    if ex.code() != 200 {
        return fail(format!(
            "{}: the patient is not readable after the filter matched",
            ex.summary()
        ));
    }
    Ok(())
}

fn dhf_01(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let j = jurisdiction(c, 0)?;
        let t = token_with(c, json!([j]), "a filter naming the target's jurisdiction").await?;
        patient_readable(c, &t).await
    })
}

fn dhf_06(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let all = &section(c)?.jurisdictions;
        if all.len() < 2 {
            return skip(
                "needs setup: data_holder.jurisdictions names fewer than two jurisdictions \
                 ([data_holder] in kit.toml)",
            );
        }
        for j in all {
            let what = format!("a filter naming only {}", j.to_json());
            token_with(c, json!([jurisdiction_entry(j)]), &what).await?;
        }
        Ok(())
    })
}

/// The types compared after a match: Patient and the probed types.
fn compared_types(c: &Ctx) -> Vec<String> {
    let mut types = vec!["Patient".to_owned()];
    types.extend(c.config.probe.data_period_types.iter().cloned());
    types
}

fn dhf_07_own(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let entry = org_entry(&[own(c)?], None);
        let t = token_with(
            c,
            json!([entry]),
            "a filter naming the target's organization",
        )
        .await?;
        let broad = c.baseline().await?;
        for ty in compared_types(c) {
            let want = search_ok(c, broad, &ty, "").await?.ids;
            let got = search_ok(c, &t, &ty, "").await?.ids;
            if got != want {
                let missing: Vec<_> = want.difference(&got).take(5).collect();
                let extra: Vec<_> = got.difference(&want).take(5).collect();
                return fail(format!(
                    "GET {ty} after the filter matched the target's own organization differs \
                     from the unfiltered grant (missing {missing:?}, extra {extra:?}): the \
                     filter gates the Data Holder as a whole"
                ));
            }
        }
        Ok(())
    })
}

fn dhf_07_served(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let entry = org_entry(&[served(c)?], None);
        let t = token_with(c, json!([entry]), "a filter naming a served organization").await?;
        patient_readable(c, &t).await?;
        let broad = c.baseline().await?;
        for ty in compared_types(c) {
            let all = search_ok(c, broad, &ty, "").await?.ids;
            let got = search_ok(c, &t, &ty, "").await?.ids;
            let extra: Vec<_> = got.difference(&all).take(5).collect();
            if !extra.is_empty() {
                return fail(format!(
                    "GET {ty} after a served-organization match released records the \
                     unfiltered grant does not: {extra:?}"
                ));
            }
        }
        Ok(())
    })
}

fn dhf_10(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let d = section(c)?;
        let id = own(c)?;
        // The [APR]/[J10] shape: one Organization resource instead of an array of References.
        let entry = json!({"kind": "organization", "organization": {
            "resourceType": "Organization",
            "identifier": [{"system": id.system, "value": id.value}],
            "name": "Conformance kit (older shape)"}});
        let mut p = c.base_payload();
        filter(&mut p, json!([entry]))?;
        // Signed directly: the kit's own verifier knows only the current shape.
        let ticket = c.sign(&Value::Object(p), crate::tickets::Sign::Es256)?;
        let ex = c.redeem(&ticket).await?;
        if d.legacy_organization_shape {
            expect::token(&ex).map(|_| ())
        } else {
            expect::check(&ex, GRANT).map_err(|e| match e {
                Stop::Fail(m) => Stop::Fail(format!(
                    "{m} (the older single-Organization shape is accepted only in a \
                     compatibility mode; set data_holder.legacy_organization_shape = true if \
                     the target runs one)"
                )),
                s => s,
            })
        }
    })
}
