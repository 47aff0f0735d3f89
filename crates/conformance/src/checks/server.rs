//! The resource server's gate (PT-RS-01, PT-RS-02, PT-ACC-08): no token, a bad token or a
//! DPoP-bound token without its proof is 401 with `WWW-Authenticate`; operations are never
//! granted; only the resolved patient is visible.

use serde_json::{Value, json};

use super::{Check, Fut, custom};
use crate::ctx::{Ctx, R, Stop, fail, skip};
use crate::expect;
use crate::probe::Exchange;

pub(super) const CHECKS: &[Check] = &[
    custom("PT-RS-01", "no-token-401-www-authenticate", rs_01_none),
    custom(
        "PT-RS-01",
        "unknown-token-401-www-authenticate",
        rs_01_bogus,
    ),
    custom("PT-RS-01", "dpop-bound-token-needs-its-proof", rs_01_dpop),
    custom("PT-RS-01", "dpop-proof-for-another-url", rs_01_dpop_htu),
    custom("PT-ACC-08", "operations-never-granted", acc_08),
    custom("PT-RS-02", "only-the-resolved-patient", rs_02_patients),
    custom("PT-RS-02", "other-patient-not-readable", rs_02_other),
];

fn unauthorized(ex: &Exchange) -> R {
    expect::transport(ex)?;
    if ex.code() != 401 {
        return fail(format!("{}: expected 401", ex.summary()));
    }
    match ex.header("www-authenticate") {
        Some(v) if !v.trim().is_empty() => Ok(()),
        _ => fail(format!("{}: 401 without WWW-Authenticate", ex.summary())),
    }
}

async fn patient_url(c: &Ctx) -> Result<String, Stop> {
    Ok(format!("{}/Patient/{}", c.base(), c.patient_id().await?))
}

fn rs_01_none(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let url = patient_url(c).await?;
        unauthorized(&c.get(&url, &[("Accept", "application/fhir+json")]).await)
    })
}

fn rs_01_bogus(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let url = patient_url(c).await?;
        let auth = format!("Bearer kit-{}", uuid::Uuid::new_v4().simple());
        unauthorized(&c.get(&url, &[("Authorization", &auth)]).await)
    })
}

async fn dpop_token(c: &Ctx) -> Result<crate::ctx::Token, Stop> {
    let ticket = c.mint(c.base_payload())?;
    let form = c.form(&ticket).await?;
    let endpoint = c.token_endpoint().await?;
    let proof = c.dpop_proof("POST", &endpoint, None)?;
    let ex = c.post_form(&form, Some(proof)).await?;
    if ex.code() == 400
        && ex.json().and_then(|v| v.get("error").cloned()) == Some(json!("invalid_dpop_proof"))
    {
        return fail("a valid DPoP proof was refused at the token endpoint");
    }
    let t = expect::token(&ex)?;
    if !t.dpop {
        return skip(format!(
            "the target ignores DPoP at the token endpoint (token_type {:?}); DPoP is optional",
            t.token_type
        ));
    }
    Ok(t)
}

fn rs_01_dpop(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let t = dpop_token(c).await?;
        let url = patient_url(c).await?;
        let ok = c.fhir(&url, &t).await;
        if ok.code() != 200 {
            return fail(format!(
                "{}: the DPoP-bound token with its proof is not accepted",
                ok.summary()
            ));
        }
        let bearer = format!("Bearer {}", t.access_token);
        unauthorized(&c.get(&url, &[("Authorization", &bearer)]).await)?;
        let dpop_no_proof = format!("DPoP {}", t.access_token);
        unauthorized(&c.get(&url, &[("Authorization", &dpop_no_proof)]).await)
    })
}

fn rs_01_dpop_htu(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let t = dpop_token(c).await?;
        let url = patient_url(c).await?;
        let other = format!("{}/Observation", c.base());
        let proof = c.dpop_proof("GET", &other, Some(&t.access_token))?;
        let auth = format!("DPoP {}", t.access_token);
        unauthorized(
            &c.get(&url, &[("Authorization", &auth), ("DPoP", &proof)])
                .await,
        )
    })
}

fn acc_08(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let t = c.baseline().await?;
        let id = c.patient_id().await?;
        for path in [
            format!("Patient/{id}/$everything"),
            "$export".into(),
            "Patient/$export".into(),
        ] {
            let ex = c.fhir(&format!("{}/{path}", c.base()), t).await;
            expect::transport(&ex)?;
            if !(400..500).contains(&ex.code()) {
                return fail(format!(
                    "{}: an operation must be refused (403)",
                    ex.summary()
                ));
            }
        }
        Ok(())
    })
}

fn rs_02_patients(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let t = c.baseline().await?;
        let set = crate::fhir::search_ok(c, t, "Patient", "").await?;
        let id = c.patient_id().await?;
        if !set.ids.contains(&id) {
            return fail(format!(
                "Patient search does not return the resolved Patient/{id}"
            ));
        }
        // Every Patient visible is the ticket's subject (a multi-site record may have several).
        for other in set.ids.iter().filter(|x| **x != id) {
            let ex = c.fhir(&format!("{}/Patient/{other}", c.base()), t).await;
            let birth = ex.json().and_then(|v| v.get("birthDate").cloned());
            if birth != Some(Value::String(c.config.patient.birth_date.clone())) {
                return fail(format!(
                    "Patient/{other}, not the ticket's subject, is visible"
                ));
            }
        }
        Ok(())
    })
}

fn rs_02_other(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let Some(other) = &c.config.other_patient else {
            return skip("kit.toml has no [other_patient]");
        };
        let mut p = c.base_payload();
        p.insert("subject".into(), json!({"patient": other.to_fhir()}));
        let theirs = c.redeem_ok(&c.mint(p)?).await?;
        let Some(other_id) = theirs.patient.clone() else {
            return fail("the other patient's token response has no `patient`");
        };
        let mine = c.baseline().await?;
        let ex = c
            .fhir(&format!("{}/Patient/{other_id}", c.base()), mine)
            .await;
        expect::transport(&ex)?;
        if ex.code() != 404 && ex.code() != 403 {
            return fail(format!(
                "{}: another patient's record read with this patient's token",
                ex.summary()
            ));
        }
        let their_obs = crate::fhir::search_ok(c, &theirs, "Observation", "").await?;
        for id in their_obs.ids.iter().take(3) {
            let ex = c
                .fhir(&format!("{}/Observation/{id}", c.base()), mine)
                .await;
            if ex.code() != 404 && ex.code() != 403 {
                return fail(format!(
                    "{}: another patient's Observation is readable",
                    ex.summary()
                ));
            }
        }
        Ok(())
    })
}
