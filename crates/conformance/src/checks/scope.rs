//! What a ticket grants at the token endpoint (PT-ACC, PT-SCOPE-01), kernel fields (PT-FIELD),
//! the individual-access type rules (PT-TYPE-02/03), malformed constraints (PT-DP-11,
//! PT-DHF-02/08) and reuse (PT-LIFE-01).

use serde_json::{Map, Value, json};

use super::{Check, Fut, custom, set_access, ticket};
use crate::config::SELF_ACCESS;
use crate::ctx::{Ctx, R, Stop, fail, skip};
use crate::expect::{self, Expect, GRANT, SCOPE, grant};

pub(super) const CHECKS: &[Check] = &[
    custom("PT-ACC-02", "request-narrower-than-ticket", acc_02),
    custom("PT-ACC-03", "request-broader-than-ticket", acc_03),
    custom("PT-ACC-04", "empty-intersection", acc_04),
    custom("PT-ACC-05", "scope-omitted", acc_05),
    custom("PT-ACC-06", "malformed-scope", acc_06),
    custom("PT-ACC-10", "bearer-token-type", acc_10),
    ticket(
        "PT-SCOPE-01",
        "not-smart-v2",
        |_, m| scopes(m, json!(["Observation.read"])),
        GRANT,
    ),
    ticket(
        "PT-SCOPE-01",
        "empty-array",
        |_, m| scopes(m, json!([])),
        GRANT,
    ),
    ticket(
        "PT-SCOPE-01",
        "not-an-array",
        |_, m| scopes(m, json!("patient/Patient.rs")),
        GRANT,
    ),
    ticket(
        "PT-SCOPE-05",
        "unsupported-narrowing-parameter",
        |_, m| scopes(m, json!(["patient/Observation.rs?kit-unknown-parameter=1"])),
        GRANT,
    ),
    ticket(
        "PT-SENS-06",
        "withhold-without-codes-or-unlisted",
        |_, m| access(m, "sensitivity_withhold", json!({})),
        GRANT,
    ),
    ticket(
        "PT-TYPE-02",
        "self-access-with-requester",
        self_with_requester,
        GRANT,
    ),
    ticket(
        "PT-TYPE-03",
        "smart-scopes-missing",
        |_, m| {
            if let Some(Value::Object(a)) = m.get_mut("access") {
                a.remove("smart_scopes");
            }
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-FIELD-01",
        "unknown-top-level-claim-ignored",
        |_, m| {
            m.insert("x_kit_note".into(), json!(1));
            Ok(())
        },
        Expect::Token,
    ),
    ticket(
        "PT-FIELD-02",
        "unknown-access-member",
        |_, m| access(m, "kit_unknown_member", json!(true)),
        grant("Unsupported access constraint"),
    ),
    ticket(
        "PT-FIELD-03",
        "url-named-extension-constraint",
        |_, m| {
            access(
                m,
                "https://conformance.invalid/encounter-class-filter",
                json!(["AMB"]),
            )
        },
        GRANT,
    ),
    ticket(
        "PT-FIELD-05",
        "legacy-permissions-member",
        |_, m| {
            access(
                m,
                "permissions",
                json!([{"resource_type": "Observation", "interactions": ["read"]}]),
            )
        },
        GRANT,
    ),
    ticket(
        "PT-FIELD-06",
        "must-understand-non-empty",
        |_, m| {
            m.insert("must_understand".into(), json!(["kit_extension"]));
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-DP-11",
        "not-an-object",
        |_, m| access(m, "data_period", json!("2024")),
        GRANT,
    ),
    ticket(
        "PT-DP-11",
        "neither-start-nor-end",
        |_, m| access(m, "data_period", json!({})),
        GRANT,
    ),
    ticket(
        "PT-DP-11",
        "unparseable-date",
        |_, m| access(m, "data_period", json!({"start": "2024-13-45"})),
        GRANT,
    ),
    ticket(
        "PT-DP-11",
        "start-after-end",
        |_, m| {
            access(
                m,
                "data_period",
                json!({"start": "2024-06-01", "end": "2024-01-01"}),
            )
        },
        GRANT,
    ),
    ticket(
        "PT-DHF-02",
        "no-entry-matches",
        |_, m| {
            access(
                m,
                "data_holder_filter",
                json!([{"kind": "organization", "organization": [{"identifier": {
                    "system": "https://conformance.invalid/org", "value": "kit-nobody"}}]}]),
            )
        },
        GRANT,
    ),
    ticket(
        "PT-DHF-08",
        "unknown-kind",
        |_, m| access(m, "data_holder_filter", json!([{"kind": "kit_unknown"}])),
        GRANT,
    ),
    ticket(
        "PT-DHF-08",
        "empty-filter-array",
        |_, m| access(m, "data_holder_filter", json!([])),
        GRANT,
    ),
    custom("PT-LIFE-01", "same-ticket-redeemed-twice", life_01),
];

fn scopes(m: &mut Map<String, Value>, v: Value) -> R {
    set_access(m, "smart_scopes", v);
    Ok(())
}

fn access(m: &mut Map<String, Value>, k: &str, v: Value) -> R {
    set_access(m, k, v);
    Ok(())
}

fn self_with_requester(c: &Ctx, m: &mut Map<String, Value>) -> R {
    if c.config.baseline_type() != SELF_ACCESS {
        return skip("the kit's issuer is not trusted for self access");
    }
    m.insert(
        "requester".into(),
        json!({"resourceType": "RelatedPerson", "name": [{"family": "Kit"}]}),
    );
    Ok(())
}

/// The resource type of a SMART v2 scope (`patient/Observation.rs?x` ⇒ `Observation`).
pub(super) fn scope_type(s: &str) -> Option<&str> {
    let rest = s.split_once('/')?.1;
    let end = rest.find(['.', '?']).unwrap_or(rest.len());
    Some(&rest[..end])
}

async fn with_scope(c: &Ctx, scope: Option<&str>) -> Result<crate::probe::Exchange, Stop> {
    let ticket = c.mint(c.base_payload())?;
    let mut f = c.form(&ticket).await?;
    if let Some(s) = scope {
        super::replace(&mut f, "scope", s);
    }
    c.post_form(&f, None).await
}

fn granted(t: &crate::ctx::Token) -> Result<Vec<String>, Stop> {
    match &t.scope {
        Some(s) if !s.trim().is_empty() => Ok(s.split_whitespace().map(str::to_owned).collect()),
        _ => fail("the token response has no granted `scope`"),
    }
}

fn acc_02(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let Some(asked) = c
            .config
            .probe
            .scopes
            .iter()
            .find(|s| scope_type(s) != Some("Patient"))
        else {
            return skip("probe.scopes has no non-Patient scope to request alone");
        };
        let want = scope_type(asked).unwrap_or_default().to_owned();
        let t = expect::token(&with_scope(c, Some(asked)).await?)?;
        let wider: Vec<String> = granted(&t)?
            .into_iter()
            .filter(|g| scope_type(g) != Some(want.as_str()))
            .collect();
        if !wider.is_empty() {
            return fail(format!("requested {asked} only, also granted {wider:?}"));
        }
        Ok(())
    })
}

fn acc_03(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let t = expect::token(&with_scope(c, Some("patient/*.rs")).await?)?;
        let ticket_types: Vec<&str> = c
            .config
            .probe
            .scopes
            .iter()
            .filter_map(|s| scope_type(s))
            .collect();
        let outside: Vec<String> = granted(&t)?
            .into_iter()
            .filter(|g| scope_type(g).is_none_or(|ty| ty == "*" || !ticket_types.contains(&ty)))
            .collect();
        if !outside.is_empty() {
            return fail(format!(
                "a patient/*.rs request was granted beyond the ticket: {outside:?}"
            ));
        }
        Ok(())
    })
}

fn acc_04(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let s = format!("patient/{}.rs", c.config.probe.ungranted_type);
        expect::check(&with_scope(c, Some(&s)).await?, SCOPE)
    })
}

fn acc_05(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let t = expect::token(&with_scope(c, None).await?)?;
        granted(&t).map(|_| ())
    })
}

fn acc_06(c: &Ctx) -> Fut<'_> {
    Box::pin(async move { expect::check(&with_scope(c, Some("foo")).await?, SCOPE) })
}

fn acc_10(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let t = c.baseline().await?;
        if !t.token_type.eq_ignore_ascii_case("Bearer") {
            return fail(format!("token_type is {:?}", t.token_type));
        }
        Ok(())
    })
}

fn life_01(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let ticket = c.mint(c.base_payload())?;
        for n in ["first", "second"] {
            c.redeem_ok(&ticket)
                .await
                .map_err(|e| e.within(format!("{n} redemption")))?;
        }
        Ok(())
    })
}
