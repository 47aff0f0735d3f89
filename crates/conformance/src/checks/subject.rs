//! Subject resolution (PT-SUBJ): exactly one local patient, zero and ambiguous matches refused
//! (or, with Proposal 001, answered `interaction_required` with a launch value), identifiers
//! are not a bypass, `patient_reference` is a hint that is checked.

use serde_json::{Map, Value, json};

use super::{Check, Fut, custom};
use crate::ctx::{Ctx, R, Stop, fail, skip};
use crate::expect::{self, GRANT, grant};
use crate::probe::Exchange;

pub(super) const CHECKS: &[Check] = &[
    custom("PT-SUBJ-01", "unique-match-resolves-the-patient", subj_01),
    custom("PT-SUBJ-02", "no-match", |c| {
        Box::pin(async move {
            let mut p = c.base_payload();
            super::validation::unknown_subject(&mut p);
            let ex = c.redeem(&c.mint(p)?).await?;
            unresolved(c, &ex, "Unable to resolve ticket subject").map(drop)
        })
    }),
    custom("PT-SUBJ-03", "ambiguous-match", |c| {
        Box::pin(async move {
            let mut p = c.base_payload();
            ambiguous(c, &mut p)?;
            let ex = c.redeem(&c.mint(p)?).await?;
            unresolved(c, &ex, "Ambiguous ticket subject match").map(drop)
        })
    }),
    custom("PT-SUBJ-04", "unresolvable-hint-falls-back", |c| {
        subj_04(c, Hint::Unknown)
    }),
    custom("PT-SUBJ-04", "hint-to-the-patient", |c| {
        subj_04(c, Hint::Patient)
    }),
    custom("PT-SUBJ-05", "hint-to-another-patient", subj_05),
    custom(
        "PT-SUBJ-07",
        "identifier-with-conflicting-birth-date",
        |c| {
            Box::pin(async move {
                let mut p = c.base_payload();
                conflicting_identifier(c, &mut p)?;
                let ex = c.redeem(&c.mint(p)?).await?;
                refused(c, &ex)
            })
        },
    ),
    custom(
        "PT-SUBJ-09",
        "not-for-a-ticket-failing-before-resolution",
        subj_09_before,
    ),
    custom(
        "PT-SUBJ-09",
        "not-after-successful-resolution",
        subj_09_after,
    ),
    custom("PT-SUBJ-09", "b2b-type-keeps-invalid-grant", subj_09_b2b),
    custom(
        "PT-SUBJ-10",
        "launch-values-unguessable-and-distinct",
        subj_10,
    ),
];

/// The answer an unresolvable subject requires: `invalid_grant` with the specification's
/// description, or with Proposal 001 `interaction_required` and a launch value (returned).
pub(super) fn unresolved(
    c: &Ctx,
    ex: &Exchange,
    description: &'static str,
) -> Result<Option<String>, Stop> {
    if c.config.proposal_001.is_none() {
        return expect::check(ex, grant(description)).map(|()| None);
    }
    launch(ex).map(Some)
}

/// A Proposal 001 answer: `interaction_required` with a non-empty `launch` string.
fn launch(ex: &Exchange) -> Result<String, Stop> {
    expect::error(ex, None, "interaction_required", None)
        .map_err(|e| e.within("kit.toml says the target implements Proposal 001"))?;
    match ex
        .json()
        .as_ref()
        .and_then(|b| b.get("launch"))
        .and_then(Value::as_str)
    {
        Some(l) if !l.is_empty() => Ok(l.to_owned()),
        _ => fail("interaction_required without a non-empty string `launch`"),
    }
}

fn p001(c: &Ctx) -> R {
    match c.config.proposal_001 {
        Some(_) => Ok(()),
        None => skip(
            "kit.toml has no [proposal_001] (the target does not implement it; PT-SUBJ-02/03 test its invalid_grant answers)",
        ),
    }
}

#[derive(Clone, Copy)]
enum Hint {
    Unknown,
    Patient,
}

fn subj_04(c: &Ctx, hint: Hint) -> Fut<'_> {
    Box::pin(async move {
        let id = c.patient_id().await?;
        let target = match hint {
            Hint::Unknown => format!("kit-no-such-patient-{}", uuid::Uuid::new_v4().simple()),
            Hint::Patient => id.clone(),
        };
        let mut p = c.base_payload();
        set_hint(c, &mut p, &target);
        let t = c.redeem_ok(&c.mint(p)?).await?;
        if t.patient.as_deref() != Some(id.as_str()) {
            return fail(format!(
                "with subject.patient_reference {}/Patient/{target}, the token's patient is {:?}, not the demographic match {id}",
                c.base(),
                t.patient
            ));
        }
        Ok(())
    })
}

fn subj_05(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let Some(other) = &c.config.other_patient else {
            return skip("kit.toml has no [other_patient]");
        };
        let mut p = c.base_payload();
        p.insert("subject".into(), json!({"patient": other.to_fhir()}));
        let t = c
            .redeem_ok(&c.mint(p)?)
            .await
            .map_err(|e| e.within("a ticket for [other_patient]"))?;
        let Some(other_id) = t.patient.filter(|p| !p.is_empty()) else {
            return fail("the token response for [other_patient] carries no `patient`");
        };
        if other_id == c.patient_id().await? {
            return fail("[patient] and [other_patient] resolve to the same record");
        }
        let mut p = c.base_payload();
        set_hint(c, &mut p, &other_id);
        let ex = c.redeem(&c.mint(p)?).await?;
        refused(c, &ex)
    })
}

/// No token for a subject that does not resolve to one consistent record: `invalid_grant`,
/// or with Proposal 001 also `interaction_required` (the target found no record consistent
/// with the ticket, which is a resolution failure).
pub(super) fn refused(c: &Ctx, ex: &Exchange) -> R {
    if c.config.proposal_001.is_some()
        && ex
            .json()
            .as_ref()
            .and_then(|b| b.get("error"))
            .and_then(Value::as_str)
            == Some("interaction_required")
    {
        return launch(ex).map(drop);
    }
    expect::check(ex, GRANT)
}

/// `subject.patient_reference`: the URL of `Patient/{id}` at the target.
fn set_hint(c: &Ctx, m: &mut Map<String, Value>, id: &str) {
    if let Some(Value::Object(s)) = m.get_mut("subject") {
        s.insert(
            "patient_reference".into(),
            format!("{}/Patient/{id}", c.base()).into(),
        );
    }
}

fn subj_09_before(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        p001(c)?;
        let mut p = c.base_payload();
        super::validation::unknown_subject(&mut p);
        // Its signature fails, so the ticket is not "otherwise acceptable".
        let t = c.sign(&Value::Object(p), crate::tickets::Sign::Tampered)?;
        let ex = c.redeem(&t).await?;
        expect::check(&ex, GRANT)
    })
}

fn subj_09_after(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        p001(c)?;
        // The subject resolves; the request then fails on scope: never interaction_required.
        let t = c.mint(c.base_payload())?;
        let mut f = c.form(&t).await?;
        let scope = format!("patient/{}.rs", c.config.probe.ungranted_type);
        super::replace(&mut f, "scope", &scope);
        let ex = c.post_form(&f, None).await?;
        expect::transport(&ex)?;
        let code = ex
            .json()
            .as_ref()
            .and_then(|b| b.get("error"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        if ex.code() == 200 || code.as_deref() == Some("interaction_required") {
            return fail(format!(
                "{}: a resolved subject with an unauthorized scope must be refused, not {}",
                ex.summary(),
                code.unwrap_or_else(|| "a token".into())
            ));
        }
        Ok(())
    })
}

fn subj_09_b2b(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        p001(c)?;
        // A quality-gap ticket whose member is unknown: B2B types get no interaction.
        let mut p = c.base_payload();
        super::quality::quality_gap(c, &mut p)?;
        super::validation::unknown_subject(&mut p);
        let ex = c.redeem(&c.mint(p)?).await?;
        expect::check(&ex, GRANT)
    })
}

fn subj_10(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        p001(c)?;
        // Single use and binding to the client are checked where a launch is consumed (the
        // authorization leg); what the token endpoint shows is the value itself.
        let mut seen = Vec::new();
        for _ in 0..2 {
            let mut p = c.base_payload();
            super::validation::unknown_subject(&mut p);
            let ex = c.redeem(&c.mint(p)?).await?;
            seen.push(launch(&ex)?);
        }
        if seen[0] == seen[1] {
            return fail("two interaction_required answers carried the same launch value");
        }
        for l in &seen {
            // At least 128 bits: 22 base64url characters, or 32 hex digits.
            let short = if l.chars().all(|ch| ch.is_ascii_hexdigit()) {
                l.len() < 32
            } else {
                l.len() < 22
            };
            if short || l.contains(&c.config.client.client_id) {
                return fail(format!(
                    "launch value {l:?} is too short or derived from the client id (unguessable values carry at least 128 random bits)"
                ));
            }
        }
        Ok(())
    })
}

fn ambiguous(c: &Ctx, m: &mut Map<String, Value>) -> R {
    match &c.config.ambiguous_patient {
        Some(p) => {
            m.insert("subject".into(), json!({"patient": p.to_fhir()}));
            Ok(())
        }
        None => {
            skip("kit.toml has no [ambiguous_patient] (demographics matching two local patients)")
        }
    }
}

fn conflicting_identifier(c: &Ctx, m: &mut Map<String, Value>) -> R {
    if c.config.patient.identifier.is_empty() {
        return skip("kit.toml [patient] has no identifier");
    }
    let mut p = c.config.patient.to_fhir();
    p["birthDate"] = "1901-01-01".into();
    p["name"] = json!([{"family": "Conflicting-Kit", "given": ["Other"]}]);
    m.insert("subject".into(), json!({"patient": p}));
    Ok(())
}

fn subj_01(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let t = c.baseline().await?;
        let id = c.patient_id().await?;
        let ex = c.fhir(&format!("{}/Patient/{id}", c.base()), t).await;
        expect::transport(&ex)?;
        let Some(p) = ex.json().filter(|_| ex.code() == 200) else {
            return fail(format!(
                "{}: the resolved Patient is not readable",
                ex.summary()
            ));
        };
        let want = &c.config.patient.birth_date;
        if p.get("birthDate").and_then(Value::as_str) != Some(want) {
            return fail(format!(
                "Patient/{id} does not have the ticket's birthDate {want}"
            ));
        }
        Ok(())
    })
}
