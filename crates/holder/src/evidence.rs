//! Identity evidence (spec-digest §10, PT-EVID): embedded OIDC ID tokens about the subject or
//! the requester, verified against separately configured identity providers.
//!
//! Checks, in order: strict slot shape (`source: embedded`, `token_type: id_token`); the ID
//! token's `iss` is a configured identity provider (never a ticket issuer by virtue of being
//! one, PT-EVID-02/PT-TRUST-06) and, when the ticket type's profile lists issuers, one of them;
//! signature with that provider's keys (a configured JWK Set, or OIDC discovery from `iss`,
//! PT-EVID-01); accepted `acr` (the provider's and the type profile's lists); the profile's
//! required claims; valid at the ticket's `iat` (PT-EVID-03/04) and, under a profile
//! freshness bound, verified no longer than that before it; issued to the ticket issuer or the
//! presenting client, by exact match or the provider's `audience_map` (`azp` required with
//! several audiences; PT-EVID-05/06/07). Unverifiable evidence is never valid: every failure is
//! `invalid_grant` "Invalid identity evidence". A profile that requires a slot the ticket does
//! not carry is `invalid_grant` "Identity evidence required" (PT-EVID-13).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;
use tessera_jose::{JwkSet, Limits, decode};
use tessera_ticket::claims::IdentityEvidence;
use tessera_ticket::evidence::{IdToken, verify_id_token};
use url::Url;

use crate::config::{EvidenceProfileConfig, IdentityProviderConfig, IdpKeysConfig};
use crate::subject::EvidenceDemographics;
use crate::token::error::TokenError;
use crate::trust::keys::{KeyResolver, KeySource};
use crate::trust::oidc::OidcDiscovery;

/// Where a provider's keys come from.
#[derive(Debug, Clone)]
pub enum IdpKeys {
    /// A configured (static or `jwks_uri`) key set.
    Source(KeySource),
    /// OIDC discovery: the provider metadata URL.
    Discovery(Url),
}

/// A configured identity provider.
#[derive(Debug, Clone)]
pub struct IdentityProvider {
    /// OIDC issuer.
    pub iss: String,
    /// Its keys.
    pub keys: IdpKeys,
    /// OIDC client id → ticket issuer or client id it stands for.
    pub audience_map: BTreeMap<String, String>,
    /// Accepted `acr` values (empty = any).
    pub acr_values: Vec<String>,
}

/// The evidence-trust policy: providers, per-type profiles, and discovered metadata.
#[derive(Debug, Default)]
pub struct IdentityProviders {
    by_iss: HashMap<String, IdentityProvider>,
    profiles: HashMap<String, EvidenceProfileConfig>,
    discovery: OidcDiscovery,
}

impl IdentityProviders {
    /// From configuration; a bad static key set names the provider.
    pub fn from_config(
        list: &[IdentityProviderConfig],
        profiles: &[EvidenceProfileConfig],
    ) -> Result<IdentityProviders, String> {
        let mut by_iss = HashMap::new();
        for (i, c) in list.iter().enumerate() {
            let keys = match &c.keys {
                IdpKeysConfig::Keys(k) => IdpKeys::Source(
                    KeySource::from_config(k)
                        .map_err(|e| format!("config key `identity_provider[{i}]` keys: {e}"))?,
                ),
                IdpKeysConfig::OidcDiscovery(u) => IdpKeys::Discovery(u.clone()),
            };
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
        let profiles = profiles
            .iter()
            .map(|p| (p.ticket_type.clone(), p.clone()))
            .collect();
        Ok(IdentityProviders {
            by_iss,
            profiles,
            discovery: OidcDiscovery::default(),
        })
    }

    /// The evidence profile of a ticket type, if one is configured.
    pub fn profile(&self, ticket_type: &str) -> Option<&EvidenceProfileConfig> {
        self.profiles.get(ticket_type)
    }

    /// The key set of `idp` (through discovery when so configured).
    async fn key_set(
        &self,
        keys: &KeyResolver,
        idp: &IdentityProvider,
        kid: Option<&str>,
        now: i64,
    ) -> Result<Arc<JwkSet>, String> {
        let source = match &idp.keys {
            IdpKeys::Source(s) => s.clone(),
            IdpKeys::Discovery(config_url) => {
                let jwks_uri = self
                    .discovery
                    .jwks_uri(keys.fetcher(), config_url, &idp.iss, now)
                    .await
                    .map_err(|e| e.to_string())?;
                KeySource::Remote((*jwks_uri).clone())
            }
        };
        keys.key_set(&source, kid, now)
            .await
            .map_err(|e| e.to_string())
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
    /// The ticket type's evidence profile, if configured (PT-EVID-12).
    pub profile: Option<&'a EvidenceProfileConfig>,
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
    if let Some(p) = ctx.profile
        && !p.issuers.is_empty()
        && !p.issuers.iter().any(|i| i == iss)
    {
        return Err(bad("evidence issuer not accepted for this ticket type"));
    }
    let set = idps
        .key_set(keys, idp, unverified.header().kid.as_deref(), ctx.now)
        .await
        .map_err(|e| {
            tracing::info!(iss = %idp.iss, error = %e, "evidence issuer keys unavailable");
            bad("evidence issuer keys unavailable")
        })?;
    let token = verify_id_token(&ev.jwt, &set).map_err(|_| bad("ID token signature"))?;
    let acr = token
        .claims
        .get("acr")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let accepted =
        |list: &[String]| list.is_empty() || acr.as_ref().is_some_and(|a| list.contains(a));
    if !accepted(&idp.acr_values) || !ctx.profile.is_none_or(|p| accepted(&p.acr_values)) {
        return Err(bad("acr not accepted"));
    }
    if !token.valid_at(ctx.ticket_iat, ctx.leeway) {
        return Err(bad("not valid at ticket iat"));
    }
    if let Some(p) = ctx.profile {
        check_profile(&token, p, ctx)?;
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

/// The profile's required claims and freshness (PT-EVID-12). Freshness is measured where the
/// evidence is anchored, at the ticket's `iat` (PT-EVID-03/04): the identity verification —
/// `auth_time`, or the ID token's `iat` without one — happened at most `max_age` before it.
fn check_profile(
    token: &IdToken,
    p: &EvidenceProfileConfig,
    ctx: EvidenceContext<'_>,
) -> Result<(), TokenError> {
    let bad = TokenError::InvalidEvidence;
    for name in &p.required_claims {
        let present = match token.claims.get(name.as_str()) {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(_) => true,
        };
        if !present {
            return Err(bad("required claim missing"));
        }
    }
    if let Some(max_age) = p.max_age {
        let verified_at = match token.claims.get("auth_time") {
            None => token.iat,
            Some(v) => v.as_i64().ok_or(bad("auth_time is not a NumericDate"))?,
        };
        if ctx.ticket_iat - verified_at > max_age + ctx.leeway {
            return Err(bad("identity verification older than the profile allows"));
        }
    }
    Ok(())
}
