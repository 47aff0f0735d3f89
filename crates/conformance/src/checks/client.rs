//! Client authentication, Layer 1 (PT-CA): `private_key_jwt` assertions broken one way at a
//! time, replay, unknown clients, and Layer 1 before Layer 2.

use serde_json::{Map, Value};
use tessera_jose::{Alg, PrivateJwk, sign_compact};

use super::{Check, Fut, custom, expire, form, remove, ticket};
use crate::config::RestrictedClientConfig;
use crate::ctx::{Ctx, Stop, fail};
use crate::expect::{self, CLIENT, Expect, SCOPE};

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
    custom("PT-ACC-07", "grant-within-registered-scopes", acc_07_grant),
    custom("PT-ACC-07", "request-outside-registration", acc_07_request),
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
        expect::token(&first).map_err(|e| e.within("first use of the assertion"))?;
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

fn restricted(c: &Ctx) -> Result<&RestrictedClientConfig, Stop> {
    match &c.config.restricted_client {
        Some(r) => Ok(r),
        None => crate::ctx::skip(
            "needs setup: a second client registered with fewer scopes than the baseline ticket \
             ([restricted_client] in kit.toml)",
        ),
    }
}

/// Types of the baseline ticket the restricted client is not registered for.
fn unregistered_types(c: &Ctx, r: &RestrictedClientConfig) -> Result<Vec<String>, Stop> {
    let registered: Vec<&str> = r
        .scopes
        .iter()
        .filter_map(|s| super::scope::scope_type(s))
        .collect();
    let outside: Vec<String> = c
        .config
        .probe
        .scopes
        .iter()
        .filter_map(|s| super::scope::scope_type(s))
        .filter(|t| *t != "*" && !registered.contains(t) && !registered.contains(&"*"))
        .map(str::to_owned)
        .collect();
    if outside.is_empty() {
        return crate::ctx::skip(
            "needs setup: restricted_client.scopes cover every type of probe.scopes \
             ([restricted_client] in kit.toml)",
        );
    }
    Ok(outside)
}

/// The baseline ticket redeemed by the restricted client, `scope` as given.
async fn redeem_restricted(
    c: &Ctx,
    r: &RestrictedClientConfig,
    scope: Option<&str>,
) -> Result<crate::probe::Exchange, Stop> {
    let ticket = c.mint(c.base_payload())?;
    let mut f = c.form(&ticket).await?;
    let aud = c.token_endpoint().await?;
    let assertion = tessera_client::jwt::client_assertion(
        &c.keys.client,
        &r.client_id,
        &aud,
        c.now(),
        &uuid::Uuid::new_v4().to_string(),
    )
    .map_err(|e| Stop::Fail(format!("kit cannot sign its client assertion: {e}")))?;
    super::replace(&mut f, "client_assertion", &assertion);
    if let Some(s) = scope {
        super::replace(&mut f, "scope", s);
    }
    c.post_form(&f, None).await
}

fn acc_07_grant(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let r = restricted(c)?;
        let outside = unregistered_types(c, r)?;
        let t = expect::token(&redeem_restricted(c, r, None).await?)?;
        let Some(granted) = t.scope.as_deref().filter(|s| !s.trim().is_empty()) else {
            return fail("the token response has no granted `scope`");
        };
        let beyond: Vec<&str> = granted
            .split_whitespace()
            .filter(|g| {
                super::scope::scope_type(g)
                    .is_none_or(|ty| ty == "*" || outside.iter().any(|o| o == ty))
            })
            .collect();
        if !beyond.is_empty() {
            return fail(format!(
                "client {} is registered for {:?} only, but was granted {beyond:?}",
                r.client_id, r.scopes
            ));
        }
        // The resource server agrees: an unregistered type is not released.
        for ty in outside.iter().take(2) {
            match crate::fhir::search(c, &t, ty, "").await? {
                crate::fhir::Searched::Refused(_) => {}
                crate::fhir::Searched::Found(s) if s.ids.is_empty() => {}
                crate::fhir::Searched::Found(s) => {
                    return fail(format!(
                        "GET {ty} with the restricted client's token returned {} records",
                        s.ids.len()
                    ));
                }
            }
        }
        Ok(())
    })
}

fn acc_07_request(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let r = restricted(c)?;
        let outside = unregistered_types(c, r)?;
        let Some(ty) = outside.first() else {
            return fail("no unregistered type");
        };
        let ex = redeem_restricted(c, r, Some(&format!("patient/{ty}.rs"))).await?;
        expect::check(&ex, SCOPE)
    })
}
