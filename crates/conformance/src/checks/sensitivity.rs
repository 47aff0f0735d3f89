//! Proposal 005 sensitivity rules (PT-SENS-01..05/07) on records the operator names in
//! `[sensitivity]`: a target that does not implement the profile rejects
//! `sensitivity_withhold` and ignores `sensitivity_release_authorized`; one that does withholds
//! matching categories, everything locally classified under `unlisted: true` (uncertain
//! classifications included) except what the release authorization names, and withhold beats
//! release. A record is withheld when the type search omits it and its read is refused; every
//! check first shows the record released by the same grant without the sensitivity rule.
//! The malformed rule (PT-SENS-06) is in scope.rs.

use serde_json::{Map, Value, json};

use super::{Check, Fut, custom};
use crate::config::{LabelCoding, LabelledRecord, SensitivityConfig};
use crate::ctx::{Ctx, R, Stop, Token, fail, skip};
use crate::expect::{self, GRANT};
use crate::fhir::search_ok;

pub(super) const CHECKS: &[Check] = &[
    custom(
        "PT-SENS-01",
        "withhold-answer-per-declared-support",
        sens_01,
    ),
    custom("PT-SENS-02", "release-authorized-does-not-widen", sens_02),
    custom("PT-SENS-03", "withheld-by-code", sens_03),
    custom(
        "PT-SENS-04",
        "unlisted-withholds-classified",
        sens_04_unlisted,
    ),
    custom(
        "PT-SENS-04",
        "unlisted-releases-authorized",
        sens_04_authorized,
    ),
    custom("PT-SENS-05", "unclassified-label-withheld", sens_05),
    custom("PT-SENS-07", "withhold-beats-release", sens_07_codes),
    custom(
        "PT-SENS-07",
        "withhold-beats-unlisted-release",
        sens_07_unlisted,
    ),
];

fn section(c: &Ctx) -> Result<&SensitivityConfig, Stop> {
    match &c.config.sensitivity {
        Some(s) => Ok(s),
        None => skip(
            "needs setup: whether the target implements Proposal 005, and labelled records of \
             the test patient ([sensitivity] in kit.toml)",
        ),
    }
}

/// The section, for the rules that bind only a target implementing the profile.
fn p005(c: &Ctx) -> Result<&SensitivityConfig, Stop> {
    let s = section(c)?;
    if !s.implemented {
        return skip(
            "the target does not implement Proposal 005 ([sensitivity] implemented = false)",
        );
    }
    Ok(s)
}

fn named<'a>(
    r: &'a Option<LabelledRecord>,
    key: &str,
    what: &str,
) -> Result<&'a LabelledRecord, Stop> {
    match r {
        Some(r) => Ok(r),
        None => skip(format!(
            "needs setup: sensitivity.{key} ({what}, [sensitivity] in kit.toml)"
        )),
    }
}

fn labelled(s: &SensitivityConfig) -> Result<&LabelledRecord, Stop> {
    named(
        &s.labelled,
        "labelled",
        "a record of the test patient the target classifies as sensitive",
    )
}

fn authorized(s: &SensitivityConfig) -> Result<&LabelledRecord, Stop> {
    named(
        &s.authorized,
        "authorized",
        "a record whose only sensitivity category is its label",
    )
}

/// `{codes, unlisted}`.
fn rule(codes: &[&LabelCoding], unlisted: bool) -> Value {
    let mut r = Map::new();
    if !codes.is_empty() {
        r.insert(
            "codes".into(),
            codes.iter().map(|c| c.to_json()).collect::<Vec<_>>().into(),
        );
    }
    if unlisted {
        r.insert("unlisted".into(), true.into());
    }
    Value::Object(r)
}

/// The baseline payload granting the configured scopes plus `patient/{T}.rs` of `records`.
fn payload(c: &Ctx, records: &[&LabelledRecord]) -> Map<String, Value> {
    let mut scopes = c.config.probe.scopes.clone();
    for r in records {
        if let Some((ty, _)) = r.split() {
            let s = format!("patient/{ty}.rs");
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
    }
    let mut p = c.base_payload();
    p.insert("access".into(), json!({"smart_scopes": scopes}));
    p
}

/// Redeems `p` with `access.sensitivity_withhold` = `withhold` and the top-level
/// `sensitivity_release_authorized` = `release`; the target must issue a token.
async fn token(
    c: &Ctx,
    mut p: Map<String, Value>,
    withhold: Option<Value>,
    release: Option<Value>,
) -> Result<Token, Stop> {
    if let (Some(w), Some(Value::Object(a))) = (withhold, p.get_mut("access")) {
        a.insert("sensitivity_withhold".into(), w);
    }
    if let Some(r) = release {
        p.insert("sensitivity_release_authorized".into(), r);
    }
    let ticket = c.mint_p005(p)?;
    c.redeem_ok(&ticket).await
}

/// Whether `t` releases the record: in its type's search, and readable.
async fn released(c: &Ctx, t: &Token, r: &LabelledRecord) -> Result<(bool, bool), Stop> {
    let Some((ty, id)) = r.split() else {
        return fail(format!("{} is not Type/id", r.record));
    };
    let found = search_ok(c, t, ty, "").await?.ids.contains(id);
    let code = super::fhir::read_code(c, t, ty, id).await?;
    Ok((found, code == 200))
}

/// The record is released without a sensitivity rule (else the configuration is wrong).
async fn visible(c: &Ctx, r: &LabelledRecord) -> R {
    let t = token(c, payload(c, &[r]), None, None).await?;
    match released(c, &t, r).await? {
        (true, true) => Ok(()),
        (found, read) => fail(format!(
            "{} is not released by the grant without a sensitivity rule (in search: {found}, \
             readable: {read}); check [sensitivity] in kit.toml",
            r.record
        )),
    }
}

async fn must_withhold(c: &Ctx, t: &Token, r: &LabelledRecord, why: &str) -> R {
    match released(c, t, r).await? {
        (false, false) => Ok(()),
        (found, read) => fail(format!(
            "{} ({}|{}) is released under {why} (in search: {found}, readable: {read})",
            r.record, r.label.system, r.label.code
        )),
    }
}

async fn must_release(c: &Ctx, t: &Token, r: &LabelledRecord, why: &str) -> R {
    match released(c, t, r).await? {
        (true, true) => Ok(()),
        (found, read) => fail(format!(
            "{} ({}|{}) is withheld under {why} (in search: {found}, readable: {read})",
            r.record, r.label.system, r.label.code
        )),
    }
}

/// No released record of `ty` carries `label` in `meta.security`.
async fn none_labelled(c: &Ctx, t: &Token, ty: &str, label: &LabelCoding) -> R {
    let set = search_ok(c, t, ty, "").await?;
    let carrying: Vec<&String> = set
        .resources
        .iter()
        .filter(|(_, r)| {
            r.pointer("/meta/security")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|s| {
                    s.get("system").and_then(Value::as_str) == Some(label.system.as_str())
                        && s.get("code").and_then(Value::as_str) == Some(label.code.as_str())
                })
        })
        .map(|(id, _)| id)
        .take(5)
        .collect();
    if !carrying.is_empty() {
        return fail(format!(
            "{ty} {carrying:?} carry {}|{} in meta.security but are released under a rule \
             withholding it",
            label.system, label.code
        ));
    }
    Ok(())
}

fn sens_01(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let s = section(c)?;
        let fallback = LabelCoding {
            system: "http://terminology.hl7.org/CodeSystem/v3-ActCode".into(),
            code: "ETH".into(),
        };
        let label = s.labelled.as_ref().map_or(&fallback, |r| &r.label);
        let mut p = c.base_payload();
        super::set_access(&mut p, "sensitivity_withhold", rule(&[label], false));
        if s.implemented {
            c.redeem_ok(&c.mint_p005(p)?).await.map(|_| ())
        } else {
            let ticket = c.sign(&Value::Object(p), crate::tickets::Sign::Es256)?;
            expect::check(&c.redeem(&ticket).await?, GRANT)
        }
    })
}

fn sens_02(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let s = section(c)?;
        let codes: Vec<&LabelCoding> = [&s.labelled, &s.authorized, &s.unclassified]
            .into_iter()
            .flatten()
            .map(|r| &r.label)
            .collect();
        // The broadest authorization: every named category and `unlisted`.
        let release = rule(&codes, true);
        let (ty, query) = super::fhir::narrow(c)?;
        let broad = c.baseline().await?;
        let expected = search_ok(c, broad, &ty, &query).await?.ids;
        let mut p = c.base_payload();
        p.insert(
            "access".into(),
            json!({"smart_scopes": [c.config.probe.narrow_scope]}),
        );
        let t = token(c, p, None, Some(release.clone())).await?;
        let got = search_ok(c, &t, &ty, "").await?.ids;
        super::fhir::compare(
            &format!(
                "GET {ty} under {} with sensitivity_release_authorized",
                c.config.probe.narrow_scope
            ),
            &got,
            &expected,
        )?;
        if !s.implemented {
            // Ignored entirely: the same records as without it.
            let t = token(c, c.base_payload(), None, Some(release)).await?;
            for ty in c
                .config
                .probe
                .scopes
                .iter()
                .filter_map(|s| super::scope::scope_type(s))
            {
                let want = search_ok(c, broad, ty, "").await?.ids;
                let got = search_ok(c, &t, ty, "").await?.ids;
                super::fhir::compare(
                    &format!("GET {ty} with an ignored sensitivity_release_authorized"),
                    &got,
                    &want,
                )?;
            }
        }
        Ok(())
    })
}

fn sens_03(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let r = labelled(p005(c)?)?;
        visible(c, r).await?;
        let w = rule(&[&r.label], false);
        let t = token(c, payload(c, &[r]), Some(w), None).await?;
        must_withhold(c, &t, r, "sensitivity_withhold naming its label").await?;
        let (ty, _) = r.split().unwrap_or_default();
        none_labelled(c, &t, ty, &r.label).await
    })
}

fn sens_04_unlisted(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let r = labelled(p005(c)?)?;
        visible(c, r).await?;
        let t = token(c, payload(c, &[r]), Some(rule(&[], true)), None).await?;
        must_withhold(c, &t, r, "sensitivity_withhold {unlisted: true}").await
    })
}

fn sens_04_authorized(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let s = p005(c)?;
        let a = authorized(s)?;
        visible(c, a).await?;
        let mut records = vec![a];
        records.extend(s.labelled.iter());
        let release = rule(&[&a.label], false);
        let t = token(
            c,
            payload(c, &records),
            Some(rule(&[], true)),
            Some(release),
        )
        .await?;
        must_release(
            c,
            &t,
            a,
            "sensitivity_withhold {unlisted: true} with sensitivity_release_authorized naming \
             its label",
        )
        .await?;
        // What the authorization does not name stays withheld.
        if let Some(l) = &s.labelled
            && (l.label.system != a.label.system || l.label.code != a.label.code)
        {
            must_withhold(
                c,
                &t,
                l,
                "sensitivity_withhold {unlisted: true} with an authorization naming another label",
            )
            .await?;
        }
        Ok(())
    })
}

fn sens_05(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let r = named(
            &p005(c)?.unclassified,
            "unclassified",
            "a record whose only label the target does not classify",
        )?;
        visible(c, r).await?;
        let t = token(c, payload(c, &[r]), Some(rule(&[], true)), None).await?;
        must_withhold(c, &t, r, "sensitivity_withhold {unlisted: true}").await
    })
}

async fn beats(c: &Ctx, unlisted: bool) -> R {
    let a = authorized(p005(c)?)?;
    visible(c, a).await?;
    let w = rule(&[&a.label], unlisted);
    let release = rule(&[&a.label], false);
    let t = token(c, payload(c, &[a]), Some(w), Some(release)).await?;
    must_withhold(
        c,
        &t,
        a,
        "sensitivity_withhold and sensitivity_release_authorized both naming its label",
    )
    .await
}

fn sens_07_codes(c: &Ctx) -> Fut<'_> {
    Box::pin(beats(c, false))
}

fn sens_07_unlisted(c: &Ctx) -> Fut<'_> {
    Box::pin(beats(c, true))
}
