//! Presenter binding (PT-BIND): `jkt` against the key that verified the client assertion, the
//! binding adds to client authentication, strict shapes, bearer tokens afterwards.

use serde_json::{Map, Value, json};

use super::{Check, Fut, custom, foreign_jkt, replace, ticket, unchanged};
use crate::ctx::{Ctx, R, fail};
use crate::expect::{self, CLIENT, Expect, GRANT, grant};

pub(super) const CHECKS: &[Check] = &[
    ticket(
        "PT-BIND-01",
        "jkt-matches-client-key",
        unchanged,
        Expect::Token,
    ),
    ticket(
        "PT-BIND-02",
        "jkt-of-another-key",
        |_, m| foreign_jkt(m),
        grant("Ticket presenter binding mismatch"),
    ),
    ticket(
        "PT-BIND-04",
        "individual-access-unbound",
        |_, m| {
            m.remove("presenter_binding");
            Ok(())
        },
        GRANT,
    ),
    custom(
        "PT-BIND-05",
        "bound-key-but-bad-assertion-signature",
        bind_05,
    ),
    ticket(
        "PT-BIND-09",
        "unknown-method",
        |c, m| {
            binding(
                m,
                json!({"method": "kit_unknown", "jkt": c.keys.client.thumbprint()}),
            )
        },
        GRANT,
    ),
    ticket(
        "PT-BIND-09",
        "extra-member",
        |c, m| {
            binding(
                m,
                json!({"method": "jkt", "jkt": c.keys.client.thumbprint(), "kit": 1}),
            )
        },
        GRANT,
    ),
    ticket(
        "PT-BIND-09",
        "array-value",
        |c, m| {
            binding(
                m,
                json!([{"method": "jkt", "jkt": c.keys.client.thumbprint()}]),
            )
        },
        GRANT,
    ),
    ticket(
        "PT-BIND-09",
        "unknown-framework-type",
        |_, m| {
            binding(
                m,
                json!({"method": "trust_framework_client", "trust_framework": "https://framework.conformance.invalid",
                       "framework_type": "kit_unknown", "entity_uri": "https://entity.conformance.invalid"}),
            )
        },
        GRANT,
    ),
    custom("PT-BIND-11", "token-is-bearer", bind_11),
];

fn binding(m: &mut Map<String, Value>, b: Value) -> R {
    m.insert("presenter_binding".into(), b);
    Ok(())
}

fn bind_05(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let ticket = c.mint(c.base_payload())?;
        let assertion = c.assertion().await?;
        // Same key, same claims, one signature byte changed.
        let Some((input, sig)) = assertion.rsplit_once('.') else {
            return fail("kit produced a non-compact assertion");
        };
        let mut bytes =
            tessera_jose::b64::decode(sig).map_err(|e| crate::ctx::Stop::Fail(e.to_string()))?;
        if let Some(b) = bytes.first_mut() {
            *b ^= 0x01;
        }
        let broken = format!("{input}.{}", tessera_jose::b64::encode(bytes));
        let mut f = c.form(&ticket).await?;
        replace(&mut f, "client_assertion", &broken);
        let ex = c.post_form(&f, None).await?;
        expect::check(&ex, CLIENT)
    })
}

fn bind_11(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let t = c.baseline().await?;
        if !t.token_type.eq_ignore_ascii_case("Bearer") {
            return fail(format!(
                "token_type {:?} after a jkt-bound redemption without DPoP",
                t.token_type
            ));
        }
        let url = format!("{}/Patient/{}", c.base(), c.patient_id().await?);
        let ex = c.fhir(&url, t).await;
        expect::transport(&ex)?;
        if ex.code() != 200 {
            return fail(format!(
                "{}: the bearer token does not read the patient",
                ex.summary()
            ));
        }
        Ok(())
    })
}
