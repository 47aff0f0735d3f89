//! Ticket parsing, signature, type, trust and envelope (PT-VAL), and the pipeline order: each
//! PT-VAL-15 row carries two defects and requires the error of the earlier step.

use super::{
    Check, Fut, custom, expire, foreign_jkt, form, replace, revoke, set_access, signed, ticket,
};
use crate::ctx::{Ctx, R, fail, set_type, skip};
use crate::expect::{self, Expect, GRANT, grant};
use crate::tickets::Sign;
use serde_json::{Map, Value, json};

const MALFORMED: Expect = grant("Malformed permission ticket");
const BAD_SIGNATURE: Expect = grant("Ticket signature verification failed");
const NOT_TRUSTED: Expect = grant("Ticket issuer not trusted");
const EXPIRED: Expect = grant("Ticket expired");
const UNSUPPORTED_TYPE: Expect = grant("Unsupported ticket type");

/// An unregistered ticket type URI.
const UNKNOWN_TYPE: &str = "https://conformance.invalid/permission-ticket-type/unknown-v1";

pub(super) const CHECKS: &[Check] = &[
    form(
        "PT-VAL-01",
        "two-segments",
        |f| replace(f, "subject_token", "eyJhbGciOiJFUzI1NiJ9.e30"),
        MALFORMED,
    ),
    form(
        "PT-VAL-01",
        "bad-base64url",
        |f| replace(f, "subject_token", "eyJhbGciOiJFUzI1NiJ9.e3+/0=.c2ln"),
        MALFORMED,
    ),
    form(
        "PT-VAL-01",
        "header-not-json",
        |f| replace(f, "subject_token", "bm90IGpzb24.e30.c2ln"),
        MALFORMED,
    ),
    custom("PT-VAL-02", "payload-is-an-array", val_02),
    signed(
        "PT-VAL-03",
        "payload-changed-after-signing",
        super::unchanged,
        Sign::Tampered,
        BAD_SIGNATURE,
    ),
    signed(
        "PT-VAL-04",
        "rs256-accepted",
        super::unchanged,
        Sign::Rs256,
        Expect::Token,
    ),
    signed(
        "PT-VAL-05",
        "alg-none",
        super::unchanged,
        Sign::AlgNone,
        GRANT,
    ),
    signed(
        "PT-VAL-05",
        "hs256-keyed-with-public-jwk",
        super::unchanged,
        Sign::Hs256,
        GRANT,
    ),
    signed(
        "PT-VAL-06",
        "kid-missing",
        super::unchanged,
        Sign::NoKid,
        GRANT,
    ),
    signed(
        "PT-VAL-06",
        "kid-unknown",
        super::unchanged,
        Sign::UnknownKid,
        GRANT,
    ),
    custom("PT-VAL-07", "issuer-jwks-unavailable", val_07),
    ticket(
        "PT-VAL-08",
        "ticket-type-missing",
        |_, m| {
            m.remove("ticket_type");
            Ok(())
        },
        grant("Missing ticket type"),
    ),
    ticket(
        "PT-VAL-09",
        "ticket-type-unknown",
        |_, m| {
            m.insert("ticket_type".into(), UNKNOWN_TYPE.into());
            Ok(())
        },
        UNSUPPORTED_TYPE,
    ),
    ticket(
        "PT-VAL-10",
        "type-not-trusted-for-issuer",
        untrusted_type,
        NOT_TRUSTED,
    ),
    custom("PT-VAL-11", "unknown-issuer-keys-never-fetched", val_11),
    ticket(
        "PT-VAL-12",
        "expired",
        |c, m| {
            expire(c, m);
            Ok(())
        },
        EXPIRED,
    ),
    ticket(
        "PT-VAL-13",
        "iss-missing",
        |_, m| drop_claim(m, "iss"),
        GRANT,
    ),
    ticket(
        "PT-VAL-13",
        "aud-missing",
        |_, m| drop_claim(m, "aud"),
        GRANT,
    ),
    ticket(
        "PT-VAL-13",
        "exp-missing",
        |_, m| drop_claim(m, "exp"),
        GRANT,
    ),
    ticket(
        "PT-VAL-13",
        "iat-missing",
        |_, m| drop_claim(m, "iat"),
        GRANT,
    ),
    ticket(
        "PT-VAL-13",
        "jti-missing",
        |_, m| drop_claim(m, "jti"),
        GRANT,
    ),
    ticket(
        "PT-VAL-13",
        "subject-missing",
        |_, m| drop_claim(m, "subject"),
        GRANT,
    ),
    ticket(
        "PT-VAL-13",
        "access-missing",
        |_, m| drop_claim(m, "access"),
        GRANT,
    ),
    ticket(
        "PT-VAL-13",
        "exp-is-a-string",
        |_, m| {
            let exp = m.get("exp").cloned().unwrap_or_default();
            m.insert("exp".into(), exp.to_string().into());
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-VAL-13",
        "jti-empty",
        |_, m| {
            m.insert("jti".into(), "".into());
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-VAL-14",
        "iat-one-hour-ahead",
        |c, m| {
            let now = c.now();
            m.insert("iat".into(), (now + 3600).into());
            m.insert("exp".into(), (now + 7200).into());
            Ok(())
        },
        GRANT,
    ),
    // The pipeline order (PT-VAL-15): two defects, the earlier step's error.
    signed(
        "PT-VAL-15",
        "signature+expired",
        expired_only,
        Sign::Tampered,
        BAD_SIGNATURE,
    ),
    ticket(
        "PT-VAL-15",
        "unknown-type+expired",
        |c, m| {
            expire(c, m);
            m.insert("ticket_type".into(), UNKNOWN_TYPE.into());
            Ok(())
        },
        UNSUPPORTED_TYPE,
    ),
    ticket(
        "PT-VAL-15",
        "type-not-trusted+expired",
        |c, m| {
            untrusted_type(c, m)?;
            expire(c, m);
            Ok(())
        },
        NOT_TRUSTED,
    ),
    ticket(
        "PT-VAL-15",
        "expired+revoked",
        |c, m| {
            expire(c, m);
            revoke(c, m);
            Ok(())
        },
        EXPIRED,
    ),
    ticket(
        "PT-VAL-15",
        "aud-mismatch+revoked",
        |c, m| {
            m.insert(
                "aud".into(),
                "https://elsewhere.conformance.invalid/fhir".into(),
            );
            revoke(c, m);
            Ok(())
        },
        grant("Ticket not valid for this server"),
    ),
    ticket(
        "PT-VAL-15",
        "revoked+binding-mismatch",
        |c, m| {
            revoke(c, m);
            foreign_jkt(m)
        },
        grant("Ticket has been revoked"),
    ),
    ticket(
        "PT-VAL-15",
        "binding-mismatch+unknown-access-member",
        |_, m| {
            foreign_jkt(m)?;
            set_access(m, "kit_unknown_member", json!(true));
            Ok(())
        },
        grant("Ticket presenter binding mismatch"),
    ),
    ticket(
        "PT-VAL-15",
        "unknown-access-member+missing-required-claim",
        |_, m| {
            m.insert("access".into(), json!({"kit_unknown_member": true}));
            Ok(())
        },
        grant("Unsupported access constraint"),
    ),
    ticket(
        "PT-VAL-15",
        "missing-required-claim+unresolvable-subject",
        |_, m| {
            m.insert("access".into(), json!({}));
            unknown_subject(m);
            Ok(())
        },
        grant("Ticket missing required claim"),
    ),
    custom(
        "PT-VAL-15",
        "unresolvable-subject+empty-scope",
        val_15_subject_scope,
    ),
];

fn drop_claim(m: &mut Map<String, Value>, k: &str) -> R {
    m.remove(k);
    Ok(())
}

fn expired_only(c: &Ctx, m: &mut Map<String, Value>) -> R {
    expire(c, m);
    Ok(())
}

/// Makes the ticket an advertised type the target does not trust the kit's issuer for.
fn untrusted_type(c: &Ctx, m: &mut Map<String, Value>) -> R {
    match &c.config.issuer.untrusted_ticket_type {
        Some(t) => {
            set_type(m, t);
            Ok(())
        }
        None => skip("kit.toml names no issuer.untrusted_ticket_type"),
    }
}

/// Demographics no local patient has.
pub(super) fn unknown_subject(m: &mut Map<String, Value>) {
    m.insert(
        "subject".into(),
        json!({"patient": {
            "resourceType": "Patient",
            "name": [{"family": "Nobody-Conformance-Kit", "given": ["Unmatched"]}],
            "birthDate": "1901-01-01"
        }}),
    );
}

fn val_02(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let t = c.sign(&json!([]), Sign::Es256)?;
        let ex = c.redeem(&t).await?;
        expect::check(&ex, GRANT)
    })
}

fn val_07(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let t = c.mint(c.base_payload())?;
        c.host.set_jwks_down(true);
        let ex = c.redeem(&t).await;
        c.host.set_jwks_down(false);
        expect::check(&ex?, grant("Unable to retrieve issuer keys"))
    })
}

fn val_11(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let mut p = c.base_payload();
        p.insert(
            "iss".into(),
            format!("{}{}", c.host.url, crate::host::UNTRUSTED_PREFIX).into(),
        );
        let before = c.host.requests_matching(crate::host::UNTRUSTED_PREFIX);
        let t = c.sign(&Value::Object(p), Sign::Es256)?;
        let ex = c.redeem(&t).await?;
        expect::check(&ex, NOT_TRUSTED)?;
        if c.host.requests_matching(crate::host::UNTRUSTED_PREFIX) != before {
            return fail("the target fetched keys for an issuer no trust policy names (SSRF)");
        }
        Ok(())
    })
}

fn val_15_subject_scope(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let mut p = c.base_payload();
        unknown_subject(&mut p);
        let t = c.sign(&Value::Object(p), Sign::Es256)?;
        let mut f = c.form(&t).await?;
        let scope = format!("patient/{}.rs", c.config.probe.ungranted_type);
        replace(&mut f, "scope", &scope);
        let ex = c.post_form(&f, None).await?;
        // Not "otherwise acceptable" (the scope fails too), so no Proposal 001 answer either.
        expect::check(&ex, grant("Unable to resolve ticket subject"))
    })
}
