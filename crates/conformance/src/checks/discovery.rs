//! Discovery (PT-DISC): `.well-known/smart-configuration` against what the target accepts.

use serde_json::Value;

use super::{Check, Fut, custom};
use crate::config::{DELEGATED_ACCESS, SELF_ACCESS};
use crate::ctx::{Ctx, fail, set_type};

/// The ticket types the specification registers.
const KNOWN_TYPES: [&str; 5] = [
    SELF_ACCESS,
    DELEGATED_ACCESS,
    "https://smarthealthit.org/permission-ticket-type/payer-claims-adjudication-v1",
    "https://smarthealthit.org/permission-ticket-type/payer-quality-gap-v1",
    "https://smarthealthit.org/permission-ticket-type/public-health-investigation-v1",
];

pub(super) const CHECKS: &[Check] = &[
    custom("PT-DISC-01", "token-exchange-grant-advertised", disc_01),
    custom("PT-DISC-02", "ticket-types-advertised", disc_02),
    custom(
        "PT-DISC-03",
        "each-advertised-individual-type-redeems",
        disc_03,
    ),
    custom("PT-DISC-04", "no-sketch-types-advertised", disc_04),
    custom("PT-DISC-05", "auth-methods-and-algs-consistent", disc_05),
];

fn strings<'a>(v: &'a Value, key: &str) -> Result<Vec<&'a str>, crate::ctx::Stop> {
    match v.get(key) {
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map_or_else(|| fail(format!("`{key}` holds a non-string")), Ok)
            })
            .collect(),
        Some(_) => fail(format!("`{key}` is not an array")),
        None => fail(format!("discovery lacks `{key}`")),
    }
}

fn disc_01(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let d = c.discovery().await?;
        let grants = strings(d, "grant_types_supported")?;
        if !grants.contains(&tessera_client::TOKEN_EXCHANGE_GRANT) {
            return fail(format!(
                "grant_types_supported lacks token exchange: {grants:?}"
            ));
        }
        Ok(())
    })
}

fn disc_02(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let d = c.discovery().await?;
        let types = strings(d, "smart_permission_ticket_types_supported")?;
        if types.is_empty() {
            return fail("smart_permission_ticket_types_supported is empty");
        }
        for t in &c.config.issuer.ticket_types {
            if !types.contains(&t.as_str()) {
                return fail(format!(
                    "{t} is trusted for the kit's issuer (kit.toml) but not advertised"
                ));
            }
        }
        Ok(())
    })
}

fn disc_03(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let d = c.discovery().await?;
        let types = strings(d, "smart_permission_ticket_types_supported")?;
        // The kit can build valid tickets of the individual-access types it is trusted for.
        for t in [SELF_ACCESS, DELEGATED_ACCESS] {
            if !types.contains(&t) || !c.config.issuer.ticket_types.iter().any(|x| x == t) {
                continue;
            }
            let mut p = c.base_payload();
            set_type(&mut p, t);
            let ticket = c.mint(p)?;
            c.redeem_ok(&ticket)
                .await
                .map_err(|e| prefix(e, &format!("advertised type {t}: ")))?;
        }
        Ok(())
    })
}

fn prefix(e: crate::ctx::Stop, p: &str) -> crate::ctx::Stop {
    match e {
        crate::ctx::Stop::Fail(m) => crate::ctx::Stop::Fail(format!("{p}{m}")),
        other => other,
    }
}

fn disc_04(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let d = c.discovery().await?;
        let unknown: Vec<&str> = strings(d, "smart_permission_ticket_types_supported")?
            .into_iter()
            .filter(|t| !KNOWN_TYPES.contains(t))
            .collect();
        if !unknown.is_empty() {
            return fail(format!(
                "advertises ticket types the specification does not define: {unknown:?}"
            ));
        }
        Ok(())
    })
}

fn disc_05(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let d = c.discovery().await?;
        let endpoint = c.token_endpoint().await?;
        if url::Url::parse(&endpoint).is_err() {
            return fail(format!(
                "token_endpoint {endpoint:?} is not an absolute URL"
            ));
        }
        let methods = strings(d, "token_endpoint_auth_methods_supported")?;
        if !methods.contains(&"private_key_jwt") {
            return fail(format!(
                "token_endpoint_auth_methods_supported lacks private_key_jwt: {methods:?}"
            ));
        }
        let algs = strings(d, "token_endpoint_auth_signing_alg_values_supported")?;
        let alg = c.keys.client.alg().as_str();
        if !algs.contains(&alg) {
            return fail(format!(
                "token_endpoint_auth_signing_alg_values_supported lacks {alg}: {algs:?}"
            ));
        }
        // What is advertised is accepted: the baseline redemption uses exactly these.
        c.baseline().await.map(|_| ())
    })
}
