//! Public health investigation (PT-TYPE-01/18), with `[public_health]` and the kit's issuer
//! trusted for the type: an Organization requester, a `reportable_condition` the target has a
//! disclosure policy for, and the release narrowed to that condition (or the ticket refused).
//! The tickets keep the baseline's `jkt` binding.

use serde_json::{Map, Value, json};

use super::payer::{organization, related_person};
use super::{Check, Fut, custom, ticket};
use crate::config::{CodingConfig, PUBLIC_HEALTH, PublicHealthConfig, codings};
use crate::ctx::{Ctx, R, Stop, Token, fail, skip};
use crate::expect::{self, Expect, GRANT};
use crate::fhir::{Searched, search};

/// Conditions read to judge the narrowing.
const MAX_READS: usize = 25;

pub(super) const CHECKS: &[Check] = &[
    ticket(
        "PT-TYPE-18",
        "public-health-ticket-accepted",
        public_health,
        Expect::Token,
    ),
    ticket(
        "PT-TYPE-18",
        "reportable-condition-missing",
        |c, m| {
            public_health(c, m)?;
            m.remove("reportable_condition");
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-TYPE-18",
        "requester-not-an-organization",
        |c, m| {
            public_health(c, m)?;
            m.insert("requester".into(), related_person());
            Ok(())
        },
        GRANT,
    ),
    custom(
        "PT-TYPE-18",
        "release-narrowed-to-the-condition",
        ph_narrowed,
    ),
    custom(
        "PT-TYPE-18",
        "condition-without-policy-narrowed-or-refused",
        ph_unknown_condition,
    ),
    ticket(
        "PT-TYPE-01",
        "public-health-requester-missing",
        |c, m| {
            public_health(c, m)?;
            m.remove("requester");
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-TYPE-01",
        "public-health-reportable-condition-not-a-codeable-concept",
        |c, m| {
            public_health(c, m)?;
            m.insert("reportable_condition".into(), json!("COVID-19"));
            Ok(())
        },
        GRANT,
    ),
];

fn section(c: &Ctx) -> Result<&PublicHealthConfig, Stop> {
    let Some(p) = &c.config.public_health else {
        return skip(
            "needs setup: a reportable condition the target has a disclosure policy for \
             ([public_health] in kit.toml)",
        );
    };
    if !c
        .config
        .issuer
        .ticket_types
        .iter()
        .any(|t| t == PUBLIC_HEALTH)
    {
        return skip(format!(
            "needs setup: the kit's issuer trusted for public health ({PUBLIC_HEALTH} in \
             issuer.ticket_types)"
        ));
    }
    Ok(p)
}

/// The baseline made a public-health ticket for `condition`.
fn make(c: &Ctx, m: &mut Map<String, Value>, condition: &[CodingConfig]) -> R {
    let p = section(c)?;
    m.insert("ticket_type".into(), PUBLIC_HEALTH.into());
    m.insert(
        "requester".into(),
        organization(&p.requester, "Conformance Kit Public Health Agency"),
    );
    m.insert(
        "reportable_condition".into(),
        json!({"coding": codings(condition)}),
    );
    m.insert("access".into(), json!({"smart_scopes": p.scopes}));
    Ok(())
}

fn public_health(c: &Ctx, m: &mut Map<String, Value>) -> R {
    let condition = section(c)?.condition.clone();
    make(c, m, &condition)
}

/// Whether the ticket asks for Conditions (else the narrowing cannot be seen).
fn asks_conditions(p: &PublicHealthConfig) -> R {
    if !p
        .scopes
        .iter()
        .any(|s| super::scope::scope_type(s) == Some("Condition"))
    {
        return skip("needs setup: a Condition scope among [public_health] scopes in kit.toml");
    }
    Ok(())
}

/// Every Condition released under `t` carries one of `allowed` (at most [`MAX_READS`] read).
async fn conditions_within(c: &Ctx, t: &Token, allowed: &[CodingConfig], what: &str) -> R {
    let ids = match search(c, t, "Condition", "").await? {
        Searched::Found(s) => s.ids,
        Searched::Refused(_) => return Ok(()),
    };
    for id in ids.iter().take(MAX_READS) {
        let ex = c.fhir(&format!("{}/Condition/{id}", c.base()), t).await;
        expect::transport(&ex)?;
        let Some(r) = ex.json().filter(|_| ex.code() == 200) else {
            return fail(format!(
                "{}: Condition/{id} is returned by the search but not readable",
                ex.summary()
            ));
        };
        let coded = r
            .pointer("/code/coding")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|cd| {
                allowed.iter().any(|a| {
                    cd.get("system").and_then(Value::as_str) == Some(a.system.as_str())
                        && cd.get("code").and_then(Value::as_str) == Some(a.code.as_str())
                })
            });
        if !coded {
            return fail(format!(
                "Condition/{id} is released under a public-health ticket for {what} but is not \
                 that condition"
            ));
        }
    }
    Ok(())
}

fn ph_narrowed(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let p = section(c)?;
        asks_conditions(p)?;
        let mut m = c.base_payload();
        make(c, &mut m, &p.condition)?;
        let t = c.redeem_ok(&c.mint(m)?).await?;
        conditions_within(c, &t, &p.condition, "the configured condition").await
    })
}

fn ph_unknown_condition(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let p = section(c)?;
        asks_conditions(p)?;
        let unknown = [CodingConfig {
            system: "https://conformance.invalid/conditions".into(),
            code: "kit-not-reportable".into(),
        }];
        let mut m = c.base_payload();
        make(c, &mut m, &unknown)?;
        let ex = c.redeem(&c.mint(m)?).await?;
        expect::transport(&ex)?;
        if ex.code() != 200 {
            // Refused: as a ticket failure or an empty grant, nothing else.
            let refused = expect::check(&ex, GRANT)
                .or_else(|_| expect::check(&ex, expect::SCOPE))
                .map_err(|_| {
                    Stop::Fail(format!(
                        "{}: a condition without policy must be refused with invalid_grant or \
                         invalid_scope, or the release narrowed",
                        ex.summary()
                    ))
                });
            return refused;
        }
        let t = expect::token(&ex)?;
        conditions_within(c, &t, &unknown, "a condition without policy").await
    })
}
