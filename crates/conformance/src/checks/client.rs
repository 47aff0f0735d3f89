//! Client authentication, Layer 1 (PT-CA): `private_key_jwt` assertions broken one way at a
//! time, replay, unknown clients, and Layer 1 before Layer 2.

use serde_json::{Map, Value};
use tessera_jose::{Alg, PrivateJwk, sign_compact};

use super::{Check, Fut, custom, expire, form, remove, ticket};
use crate::ctx::{Ctx, Stop, fail};
use crate::expect::{self, CLIENT, Expect};

pub(super) const CHECKS: &[Check] = &[
    form(
        "PT-CA-01",
        "no-client-authentication",
        |f| {
            remove(f, "client_assertion");
            remove(f, "client_assertion_type");
        },
        CLIENT,
    ),
    custom("PT-CA-02", "assertion-signed-by-other-key", ca_02),
    custom("PT-CA-03", "iss-differs-from-sub", ca_03),
    custom("PT-CA-04", "assertion-aud-not-token-endpoint", ca_04_aud),
    custom("PT-CA-04", "assertion-expired", ca_04_exp),
    custom("PT-CA-05", "assertion-replayed", ca_05),
    custom("PT-CA-06", "unknown-client-id", ca_06),
    custom("PT-CA-07", "bad-assertion-and-expired-ticket", ca_07),
    ticket(
        "PT-CA-08",
        "ticket-client-id-claim-ignored",
        |_, m| {
            m.insert("client_id".into(), "someone-else".into());
            Ok(())
        },
        Expect::Token,
    ),
];

/// Which way the assertion is wrong.
#[derive(Clone, Copy)]
enum Defect {
    OtherKey,
    IssNotSub,
    WrongAud,
    Expired,
    UnknownClient,
}

async fn bad_assertion(c: &Ctx, defect: Defect) -> Result<String, Stop> {
    let aud = c.token_endpoint().await?;
    let id = &c.config.client.client_id;
    let now = c.now();
    let jti = uuid::Uuid::new_v4().to_string();
    let mut claims = tessera_client::jwt::assertion_claims(id, &aud, now, &jti);
    let other;
    let mut key = c.keys.client.jwk();
    match defect {
        Defect::OtherKey => {
            other = PrivateJwk::generate(Alg::Es256).map_err(|e| Stop::Fail(e.to_string()))?;
            key = &other;
        }
        Defect::IssNotSub => claims["iss"] = "kit-someone-else".into(),
        Defect::WrongAud => claims["aud"] = "https://elsewhere.conformance.invalid/token".into(),
        Defect::Expired => {
            claims["iat"] = (now - 900).into();
            claims["exp"] = (now - 600).into();
        }
        Defect::UnknownClient => {
            let unknown = format!("kit-unregistered-{}", &jti[..8]);
            claims["iss"] = unknown.clone().into();
            claims["sub"] = unknown.into();
        }
    }
    let signer = key.signer().map_err(|e| Stop::Fail(e.to_string()))?;
    let mut header = Map::new();
    header.insert("typ".into(), "JWT".into());
    let payload = serde_json::to_vec(&claims).map_err(|e| Stop::Fail(e.to_string()))?;
    sign_compact(&header, &payload, &signer).map_err(|e| Stop::Fail(e.to_string()))
}

async fn with_assertion(
    c: &Ctx,
    ticket: &str,
    assertion: String,
) -> Result<crate::probe::Exchange, Stop> {
    let mut f = c.form(ticket).await?;
    super::replace(&mut f, "client_assertion", &assertion);
    c.post_form(&f, None).await
}

async fn defect_check(c: &Ctx, defect: Defect) -> crate::ctx::R {
    let ticket = c.mint(c.base_payload())?;
    let a = bad_assertion(c, defect).await?;
    let ex = with_assertion(c, &ticket, a).await?;
    expect::check(&ex, CLIENT)
}

fn ca_02(c: &Ctx) -> Fut<'_> {
    Box::pin(defect_check(c, Defect::OtherKey))
}
fn ca_03(c: &Ctx) -> Fut<'_> {
    Box::pin(defect_check(c, Defect::IssNotSub))
}
fn ca_04_aud(c: &Ctx) -> Fut<'_> {
    Box::pin(defect_check(c, Defect::WrongAud))
}
fn ca_04_exp(c: &Ctx) -> Fut<'_> {
    Box::pin(defect_check(c, Defect::Expired))
}
fn ca_06(c: &Ctx) -> Fut<'_> {
    Box::pin(defect_check(c, Defect::UnknownClient))
}

fn ca_05(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let ticket = c.mint(c.base_payload())?;
        let assertion = c.assertion().await?;
        let first = with_assertion(c, &ticket, assertion.clone()).await?;
        expect::token(&first).map_err(|e| match e {
            Stop::Fail(m) => Stop::Fail(format!("first use of the assertion: {m}")),
            s => s,
        })?;
        let second = with_assertion(c, &ticket, assertion).await?;
        if second.code() == 200 {
            return fail("the same client assertion (same jti) was accepted twice");
        }
        expect::check(&second, CLIENT)
    })
}

fn ca_07(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let mut p = c.base_payload();
        expire(c, &mut p);
        let ticket = c.sign(&Value::Object(p), crate::tickets::Sign::Es256)?;
        let a = bad_assertion(c, Defect::OtherKey).await?;
        let ex = with_assertion(c, &ticket, a).await?;
        expect::check(&ex, CLIENT)
    })
}
