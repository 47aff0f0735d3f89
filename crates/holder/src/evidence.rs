//! Identity evidence (spec-digest §10, PT-EVID): embedded OIDC ID tokens about the subject or
//! the requester, verified against separately configured identity providers.
//!
//! Checks, in order: strict slot shape (`source: embedded`, `token_type: id_token`); the ID
//! token's `iss` is a configured identity provider (never a ticket issuer by virtue of being
//! one, PT-EVID-02/PT-TRUST-06); signature with that provider's keys; accepted `acr`; valid at
//! the ticket's `iat` (PT-EVID-03/04); issued to the ticket issuer or the presenting client, by
//! exact match or the provider's `audience_map` (`azp` required with several audiences;
//! PT-EVID-05/06/07). Unverifiable evidence is never valid: every failure is
//! `invalid_grant` "Invalid identity evidence".

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use tessera_jose::{Limits, decode};
use tessera_ticket::claims::IdentityEvidence;
use tessera_ticket::evidence::verify_id_token;

use crate::config::IdentityProviderConfig;
use crate::subject::EvidenceDemographics;
use crate::token::error::TokenError;
use crate::trust::keys::{KeyResolver, KeySource};

/// A configured identity provider.
#[derive(Debug, Clone)]
pub struct IdentityProvider {
    /// OIDC issuer.
    pub iss: String,
    /// Its keys.
    pub keys: KeySource,
    /// OIDC client id → ticket issuer or client id it stands for.
    pub audience_map: BTreeMap<String, String>,
    /// Accepted `acr` values (empty = any).
    pub acr_values: Vec<String>,
}

/// The evidence-trust policy.
#[derive(Debug, Clone, Default)]
pub struct IdentityProviders {
    by_iss: HashMap<String, IdentityProvider>,
}

impl IdentityProviders {
    /// From configuration; a bad static key set names the provider.
    pub fn from_config(list: &[IdentityProviderConfig]) -> Result<IdentityProviders, String> {
        let mut by_iss = HashMap::new();
        for (i, c) in list.iter().enumerate() {
            let keys = KeySource::from_config(&c.keys)
                .map_err(|e| format!("config key `identity_provider[{i}]` keys: {e}"))?;
            by_iss.insert(
                c.iss.clone(),
                IdentityProvider {
                    iss: c.iss.clone(),
                    keys,
                    audience_map: c.audience_map.clone(),
                    acr_values: c.acr_values.clone(),
                },
            );
        }
        Ok(IdentityProviders { by_iss })
    }
}

/// What the checks compare against.
#[derive(Debug, Clone, Copy)]
pub struct EvidenceContext<'a> {
    /// Ticket `iss`.
    pub ticket_iss: &'a str,
    /// Ticket `iat`.
    pub ticket_iat: i64,
    /// Authenticated client id.
    pub client_id: &'a str,
    /// Clock leeway.
    pub leeway: i64,
    /// Now (for key-cache freshness only).
    pub now: i64,
}

/// Evidence that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEvidence {
    /// Evidence issuer.
    pub iss: String,
    /// `acr`, if any.
    pub acr: Option<String>,
    /// Verified demographics.
    pub demographics: EvidenceDemographics,
    /// Evidence `iss` equals the ticket `iss`: valid, but no independent assurance (PT-EVID-14).
    pub issuer_attested: bool,
}

/// Verifies one evidence slot.
pub async fn verify_evidence(
    idps: &IdentityProviders,
    keys: &KeyResolver,
    ev: &IdentityEvidence,
    ctx: EvidenceContext<'_>,
) -> Result<VerifiedEvidence, TokenError> {
    let bad = TokenError::InvalidEvidence;
    if ev.source != "embedded" || ev.token_type != "id_token" || ev.jwt.is_empty() {
        return Err(bad("unsupported evidence source or token type"));
    }
    let unverified = decode(&ev.jwt, &Limits::id_token()).map_err(|_| bad("malformed ID token"))?;
    let iss = unverified
        .claims()
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(bad("ID token without iss"))?;
    let idp = idps
        .by_iss
        .get(iss)
        .ok_or(bad("evidence issuer not trusted"))?;
    let set = keys
        .key_set(&idp.keys, unverified.header().kid.as_deref(), ctx.now)
        .await
        .map_err(|_| bad("evidence issuer keys unavailable"))?;
    let token = verify_id_token(&ev.jwt, &set).map_err(|_| bad("ID token signature"))?;
    let acr = token
        .claims
        .get("acr")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if !idp.acr_values.is_empty() && !acr.as_ref().is_some_and(|a| idp.acr_values.contains(a)) {
        return Err(bad("acr not accepted"));
    }
    if !token.valid_at(ctx.ticket_iat, ctx.leeway) {
        return Err(bad("not valid at ticket iat"));
    }
    let entries = token.aud.entries();
    let issued_to = match (&token.azp, entries.as_slice()) {
        (Some(azp), _) if entries.contains(&azp.as_str()) => azp.as_str(),
        (Some(_), _) => return Err(bad("azp not among aud")),
        (None, [one]) => one,
        (None, _) => return Err(bad("several audiences without azp")),
    };
    let party = idp
        .audience_map
        .get(issued_to)
        .map(String::as_str)
        .unwrap_or(issued_to);
    if party != ctx.ticket_iss && party != ctx.client_id {
        return Err(bad(
            "ID token not issued to the ticket issuer or the presenter",
        ));
    }
    let text = |name: &str| {
        token
            .claims
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    Ok(VerifiedEvidence {
        iss: token.iss.clone(),
        acr,
        demographics: EvidenceDemographics {
            family: text("family_name"),
            given: text("given_name"),
            birth_date: text("birthdate"),
        },
        issuer_attested: token.iss == ctx.ticket_iss,
    })
}
