//! Payer claims adjudication (PT-TYPE-01/08..11, PT-BIND-10, PT-CL-01..06, PT-SUBJ-06), with
//! `[payer_claims]`: the kit mints as `{issuer.url}/self-issuer`, an identity the target marks
//! as its own (self-issued), unbound tickets for a payer the kit's client acts for, linking the
//! test patient's encounters. The release is judged on records the operator names: reads and
//! searches with the payer's token.

use serde_json::{Map, Value, json};

use super::{Check, Fut, custom, set_access, ticket};
use crate::config::{IdentifierConfig, PAYER_CLAIMS, PayerClaimsConfig, split_record};
use crate::ctx::{Ctx, R, Stop, Token, fail, skip};
use crate::expect::{self, Expect, GRANT};
use crate::fhir::{Searched, search};

pub(super) const CHECKS: &[Check] = &[
    ticket(
        "PT-TYPE-08",
        "claims-ticket-accepted",
        claims,
        Expect::Token,
    ),
    ticket(
        "PT-TYPE-08",
        "requester-missing",
        |c, m| {
            bound_claims(c, m)?;
            m.remove("requester");
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-TYPE-08",
        "requester-not-an-organization",
        |c, m| {
            bound_claims(c, m)?;
            m.insert("requester".into(), related_person());
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-TYPE-08",
        "claim-linkage-missing",
        |c, m| {
            claims(c, m)?;
            m.insert("access".into(), json!({}));
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-TYPE-01",
        "claims-claim-linkage-not-an-object",
        |c, m| {
            claims(c, m)?;
            set_access(m, "claim_linkage", json!("Encounter/kit"));
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-TYPE-09",
        "claims-ticket-with-data-period",
        |c, m| {
            claims(c, m)?;
            set_access(m, "data_period", c.config.probe.data_period.to_json());
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-TYPE-10",
        "claims-ticket-from-another-trusted-issuer",
        |c, m| {
            claims(c, m)?;
            // The kit's ordinary issuer: trusted by the target, but not one of its own.
            m.insert("iss".into(), c.host.url.clone().into());
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-TYPE-11",
        "client-acting-for-the-requester",
        claims,
        Expect::Token,
    ),
    ticket(
        "PT-TYPE-11",
        "client-not-acting-for-the-requester",
        |c, m| {
            claims(c, m)?;
            m.insert(
                "requester".into(),
                organization(
                    &IdentifierConfig {
                        system: "https://conformance.invalid/payer".into(),
                        value: "kit-unrelated-payer".into(),
                    },
                    "Unrelated Health Plan",
                ),
            );
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-BIND-10",
        "unbound-claims-ticket-redeemed",
        claims,
        Expect::Token,
    ),
    ticket(
        "PT-BIND-10",
        "unbound-claims-ticket-aud-still-checked",
        |c, m| {
            claims(c, m)?;
            m.insert(
                "aud".into(),
                "https://elsewhere.conformance.invalid/fhir".into(),
            );
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-CL-01",
        "with-claim-reference",
        |c, m| {
            claims(c, m)?;
            linkage_member(
                m,
                "claim",
                json!({"type": "Claim", "identifier": {
                    "system": "https://conformance.invalid/claims", "value": "KIT-CLM-0001"}}),
            );
            Ok(())
        },
        Expect::Token,
    ),
    ticket(
        "PT-CL-01",
        "encounter-empty",
        |c, m| {
            claims(c, m)?;
            linkage_member(m, "encounter", json!([]));
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-CL-01",
        "encounter-missing",
        |c, m| {
            claims(c, m)?;
            set_access(m, "claim_linkage", json!({}));
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-CL-01",
        "extra-member",
        |c, m| {
            claims(c, m)?;
            linkage_member(m, "kit_unknown_member", json!(true));
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-CL-01",
        "claim-not-a-single-reference",
        |c, m| {
            claims(c, m)?;
            linkage_member(
                m,
                "claim",
                json!([{"type": "Claim", "identifier": {
                    "system": "https://conformance.invalid/claims", "value": "KIT-CLM-0001"}}]),
            );
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-CL-02",
        "unknown-encounter",
        |c, m| {
            claims(c, m)?;
            let e = format!("{}/Encounter/kit-unknown-encounter", c.base());
            linkage_member(m, "encounter", json!([{"reference": e}]));
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-CL-02",
        "encounter-of-another-patient",
        |c, m| {
            claims(c, m)?;
            let Some(e) = &section(c)?.other_patient_encounter else {
                return skip("needs setup: [payer_claims] other_patient_encounter in kit.toml");
            };
            linkage_member(m, "encounter", json!([encounter(c, e)]));
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-CL-02",
        "encounter-at-another-server",
        |c, m| {
            claims(c, m)?;
            let e = section(c)?.encounters.first().cloned().unwrap_or_default();
            let r = format!("https://elsewhere.conformance.invalid/fhir/{e}");
            linkage_member(m, "encounter", json!([{"reference": r}]));
            Ok(())
        },
        GRANT,
    ),
    custom("PT-CL-03", "linked-records-released", cl_03_linked),
    custom("PT-CL-03", "unlinked-records-not-released", cl_03_unlinked),
    custom("PT-CL-04", "current-problems-released", cl_04_current),
    custom(
        "PT-CL-04",
        "resolved-unlinked-problems-not-released",
        cl_04_resolved,
    ),
    custom(
        "PT-CL-05",
        "withheld-types-token-issued-without-them",
        cl_05,
    ),
    custom("PT-CL-06", "restricted-records-excluded-silently", cl_06),
    custom(
        "PT-SUBJ-06",
        "recipient-record-reference-resolves",
        subj_06_reference,
    ),
    custom(
        "PT-SUBJ-06",
        "recipient-record-identifier-resolves",
        subj_06_identifier,
    ),
];

fn section(c: &Ctx) -> Result<&PayerClaimsConfig, Stop> {
    match &c.config.payer_claims {
        Some(p) => Ok(p),
        None => skip(
            "needs setup: one of the target's own issuing identities, a payer the kit's client \
             acts for, the test patient's encounters ([payer_claims] in kit.toml)",
        ),
    }
}

/// An Organization requester.
pub(super) fn organization(id: &IdentifierConfig, name: &str) -> Value {
    json!({
        "resourceType": "Organization",
        "identifier": [{"system": id.system, "value": id.value}],
        "name": name,
    })
}

/// A RelatedPerson requester (not valid for the B2B types).
pub(super) fn related_person() -> Value {
    json!({
        "resourceType": "RelatedPerson",
        "relationship": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "DELEGATEE"}]}],
        "name": [{"family": "Conformance", "given": ["Delegate"]}]
    })
}

/// A Reference to one of the target's Encounters by its absolute URL (the issuer is the
/// target: its own resource URLs).
fn encounter(c: &Ctx, local: &str) -> Value {
    json!({"reference": format!("{}/{local}", c.base())})
}

/// The payer claims ticket: self-issued, unbound, the payer as requester, the configured
/// encounters linked, no `smart_scopes`.
pub(super) fn claims(c: &Ctx, m: &mut Map<String, Value>) -> R {
    let p = section(c)?;
    m.insert("iss".into(), c.config.self_issuer_iss().into());
    m.insert("ticket_type".into(), PAYER_CLAIMS.into());
    m.remove("presenter_binding");
    m.insert(
        "requester".into(),
        organization(&p.payer, "Conformance Kit Health Plan"),
    );
    let encounters: Vec<Value> = p.encounters.iter().map(|e| encounter(c, e)).collect();
    m.insert(
        "access".into(),
        json!({"claim_linkage": {"encounter": encounters}}),
    );
    Ok(())
}

/// The claims ticket bound (`jkt`) to the kit's client: without a requester to act for, an
/// unbound ticket would be refused at the binding step, before the type's rules.
fn bound_claims(c: &Ctx, m: &mut Map<String, Value>) -> R {
    claims(c, m)?;
    m.insert(
        "presenter_binding".into(),
        json!({"method": "jkt", "jkt": c.keys.client.thumbprint()}),
    );
    Ok(())
}

/// Sets `access.claim_linkage.<key>`.
fn linkage_member(m: &mut Map<String, Value>, key: &str, v: Value) {
    if let Some(Value::Object(l)) = m.get_mut("access").and_then(|a| a.get_mut("claim_linkage")) {
        l.insert(key.into(), v);
    }
}

/// Redeems the claims ticket changed by `edit`; a token is required.
async fn claims_token(
    c: &Ctx,
    edit: impl FnOnce(&mut Map<String, Value>) -> R,
) -> Result<Token, Stop> {
    let mut p = c.base_payload();
    claims(c, &mut p)?;
    edit(&mut p)?;
    c.redeem_ok(&c.mint(p)?).await
}

/// The records of a `[payer_claims]` key, or a skip naming it.
fn named<'a>(records: &'a [String], key: &str) -> Result<&'a [String], Stop> {
    if records.is_empty() {
        return skip(format!("needs setup: [payer_claims] {key} in kit.toml"));
    }
    Ok(records)
}

/// Each record is released: read 200 (that resource), and found by a search of its type.
pub(super) async fn released(c: &Ctx, t: &Token, records: &[String]) -> R {
    for r in records {
        let Some((ty, id)) = split_record(r) else {
            return fail(format!("{r:?} is not Type/id"));
        };
        let ex = c.fhir(&format!("{}/{ty}/{id}", c.base()), t).await;
        expect::transport(&ex)?;
        let body = ex.json();
        let same = body.as_ref().is_some_and(|b| {
            b.get("resourceType").and_then(Value::as_str) == Some(ty)
                && b.get("id").and_then(Value::as_str) == Some(id)
        });
        if ex.code() != 200 {
            return fail(format!(
                "{}: {r} should be released, got {}",
                ex.summary(),
                ex.code()
            ));
        }
        if !same {
            return fail(format!("{}: 200 but not {r}", ex.summary()));
        }
        match search(c, t, ty, "").await? {
            Searched::Found(s) if s.ids.contains(id) => {}
            Searched::Found(_) => return fail(format!("GET {ty} does not return {r}")),
            Searched::Refused(code) => {
                return fail(format!(
                    "GET {ty} was refused ({code}) although {r} is released"
                ));
            }
        }
    }
    Ok(())
}

/// No record is released: read 403 or 404, absent from a search of its type (or the search
/// refused).
pub(super) async fn withheld(c: &Ctx, t: &Token, records: &[String]) -> R {
    for r in records {
        let Some((ty, id)) = split_record(r) else {
            return fail(format!("{r:?} is not Type/id"));
        };
        let code = super::fhir::read_code(c, t, ty, id).await?;
        if code != 404 && code != 403 {
            return fail(format!(
                "GET {ty}/{id}: {r} must not be released, got {code} (not 404/403)"
            ));
        }
        if let Searched::Found(s) = search(c, t, ty, "").await?
            && s.ids.contains(id)
        {
            return fail(format!("GET {ty} returns {r}, which must not be released"));
        }
    }
    Ok(())
}

fn cl_03_linked(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let records = named(&section(c)?.released, "released")?;
        let t = claims_token(c, |_| Ok(())).await?;
        released(c, &t, records).await
    })
}

fn cl_03_unlinked(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let records = named(&section(c)?.unlinked, "unlinked")?;
        let t = claims_token(c, |_| Ok(())).await?;
        withheld(c, &t, records).await
    })
}

fn cl_04_current(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let records = named(&section(c)?.current, "current")?;
        let t = claims_token(c, |_| Ok(())).await?;
        released(c, &t, records).await
    })
}

fn cl_04_resolved(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let records = named(&section(c)?.not_current, "not_current")?;
        let t = claims_token(c, |_| Ok(())).await?;
        withheld(c, &t, records).await
    })
}

fn cl_05(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let types = &section(c)?.withheld_types;
        if types.is_empty() {
            return skip("needs setup: [payer_claims] withheld_types in kit.toml");
        }
        let t = claims_token(c, |_| Ok(())).await?;
        for ty in types {
            if let Searched::Found(s) = search(c, &t, ty, "").await?
                && let Some(id) = s.ids.iter().next()
            {
                return fail(format!(
                    "GET {ty} returns {ty}/{id}: [payer_claims] withheld_types says the \
                     target's release policy does not release {ty} to payers"
                ));
            }
        }
        Ok(())
    })
}

fn cl_06(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let p = section(c)?;
        let records = named(&p.restricted, "restricted")?;
        let extra = p.restricted_encounter.clone();
        // Linking the restricted encounter too must not turn the exclusion into an error.
        let t = claims_token(c, |m| {
            if let Some(e) = &extra {
                let mut all: Vec<Value> = p.encounters.iter().map(|e| encounter(c, e)).collect();
                all.push(encounter(c, e));
                linkage_member(m, "encounter", Value::Array(all));
            }
            Ok(())
        })
        .await?;
        withheld(c, &t, records).await
    })
}

/// The test patient's demographics without identifiers, and a `recipient_record` hint.
async fn with_hint(c: &Ctx, hint: Value) -> R {
    let want = c.patient_id().await?;
    let mut patient = c.config.patient.to_fhir();
    if let Value::Object(p) = &mut patient {
        p.remove("identifier");
    }
    let t = claims_token(c, |m| {
        m.insert(
            "subject".into(),
            json!({"patient": patient, "recipient_record": hint}),
        );
        Ok(())
    })
    .await?;
    match t.patient.as_deref() {
        Some(p) if p == want => Ok(()),
        other => fail(format!(
            "the recipient_record hint names Patient/{want}, the token's patient is {other:?}"
        )),
    }
}

fn subj_06_reference(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        section(c)?;
        let want = c.patient_id().await?;
        with_hint(
            c,
            json!({"reference": format!("{}/Patient/{want}", c.base()), "type": "Patient"}),
        )
        .await
    })
}

fn subj_06_identifier(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        section(c)?;
        let Some(i) = c.config.patient.identifier.first() else {
            return skip("kit.toml [patient] has no identifier");
        };
        with_hint(
            c,
            json!({"identifier": {"system": i.system, "value": i.value}, "type": "Patient"}),
        )
        .await
    })
}
