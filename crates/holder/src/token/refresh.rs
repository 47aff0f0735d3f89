//! Refresh tokens derived from `continuation` tickets (spec-digest §16, OP-26; RFC 6749 §6).
//!
//! Off unless `[continuation] enabled = true`. Then a redemption of a ticket carrying
//! `continuation` (which the verifier already requires to carry `revocation`, PT-LIFE-06)
//! also returns a refresh token ([`issue_first`]), and `grant_type=refresh_token` at `/token`
//! ([`refresh`]) runs, in order:
//!
//! ```text
//! 0  feature enabled                    unsupported_grant_type
//! L1 client authentication              invalid_client (401)
//! 1  parameters (refresh_token, scope)  invalid_request / invalid_target
//!    DPoP proof (if sent)               invalid_dpop_proof
//! 2  token known, same client           invalid_grant Invalid refresh token / not issued to this client
//! 3  family not revoked                 invalid_grant Refresh token has been revoked
//! 4  token not used before              invalid_grant reuse: the whole family is revoked
//! 5  refresh_until, token expiry        invalid_grant Ticket continuation has ended / Refresh token expired
//! 6  DPoP binding kept                  invalid_dpop_proof
//! 7  issuer still trusted for the type  invalid_grant Ticket issuer not trusted
//! 8  source ticket revocation           invalid_grant Ticket has been revoked (family revoked) / undeterminable
//! 9  scope narrows the frozen Grant     invalid_scope No authorized scopes
//! 10 rotate: old used + new refresh token + access token + audit, one write set
//!    (a token found used at commit time is reuse too: the family is revoked instead)
//! ```
//!
//! No access token outlives `refresh_until`, and no refresh token either. Every outcome is
//! audited (event `refresh_token`) under the source ticket's `jti`.

use tessera_access::Grant;
use tessera_store::audit::AuditRecord;
use tessera_store::durable::{FamilyRevocation, REUSE_REASON, RefreshRotation, WriteSet};
use tessera_store::refresh::{RefreshFamily, RefreshRecord};
use tessera_store::tokens::TokenRecord;
use tessera_ticket::claims::TicketClaims;

use crate::state::HolderState;
use crate::token::access_token::{cache_token, new_token_string, token_hash};
use crate::token::commit::{REFRESH_REUSE, commit_request, mark_rejected};
use crate::token::dpop::{ProofExpectation, verify_and_spend};
use crate::token::error::TokenError;
use crate::token::exchange::authenticate_at_token_endpoint;
use crate::token::exchange::{MAX_SCOPE_PARAM, TokenResponse};
use crate::token::replay_guard::ReplayGuard;
use crate::token::request::{ACCESS_TOKEN_TYPE, FormParams};
use crate::trust::revocation::RevocationError;

/// The RFC 6749 §6 grant type.
pub const REFRESH_TOKEN: &str = "refresh_token";
/// Longest refresh token accepted (ours are 43 characters).
pub const MAX_REFRESH_TOKEN_LEN: usize = 512;
/// The audit event of a refresh request.
pub const EVENT: &str = "refresh_token";

/// A new refresh family, to be committed with the redemption that creates it.
#[derive(Debug)]
pub struct FirstRefresh {
    /// The refresh token sent to the client.
    pub token: String,
    /// The family row.
    pub family: RefreshFamily,
    /// The family's first token row.
    pub first: RefreshRecord,
}

/// At the end of a successful redemption: the first refresh token of a new family, or `None`
/// when the feature is off or the ticket carries no `continuation` (PT-FIELD-07: then never).
/// Nothing is written here: the family goes into the redemption's write set, durable before
/// the response is sent.
pub fn first_family(
    state: &HolderState,
    claims: &TicketClaims,
    access: &TokenRecord,
    now: i64,
) -> Result<Option<FirstRefresh>, TokenError> {
    let cfg = state.inner.config.continuation;
    if !cfg.enabled {
        return Ok(None);
    }
    let Some(continuation) = &claims.continuation else {
        return Ok(None);
    };
    // The verifier refuses `continuation` without `revocation` (PT-LIFE-06); checked again
    // here because without the pointer a refresh could never re-check revocation.
    let revocation = claims.revocation.as_ref().ok_or(TokenError::Refresh(
        "Ticket continuation requires revocation",
    ))?;
    let expires_at = refresh_expiry(now, cfg.refresh_token_ttl, continuation.refresh_until);
    if expires_at <= now {
        // `refresh_until` already passed: the relationship ends with this access token.
        return Ok(None);
    }
    let token = new_token_string().map_err(TokenError::Internal)?;
    let family = RefreshFamily {
        family_id: new_token_string().map_err(TokenError::Internal)?,
        client_id: access.client_id.clone(),
        grant_json: access.grant_json.clone(),
        ticket_jti: access.ticket_jti.clone(),
        ticket_iss: access.ticket_iss.clone(),
        ticket_type: access.ticket_type.clone(),
        patient: access.patient.clone(),
        scope: access.scope.clone(),
        revocation_url: revocation.url.clone(),
        revocation_index: revocation.index,
        refresh_until: continuation.refresh_until,
        cnf_jkt: access.cnf_jkt.clone(),
        created_at: now,
        revoked_at: None,
        revoked_reason: None,
    };
    let first = RefreshRecord {
        token_hash: token_hash(&token),
        family_id: family.family_id.clone(),
        issued_at: now,
        expires_at,
        used_at: None,
    };
    Ok(Some(FirstRefresh {
        token,
        family,
        first,
    }))
}

/// A refresh token's expiry: the configured lifetime, never past `refresh_until`.
fn refresh_expiry(now: i64, ttl: i64, refresh_until: Option<i64>) -> i64 {
    let by_ttl = now.saturating_add(ttl);
    refresh_until.map_or(by_ttl, |until| by_ttl.min(until))
}

/// A refusal, and the family it revokes with it (in the same transaction as its audit row).
struct Refused {
    error: TokenError,
    revoke: Option<(String, &'static str)>,
}

impl From<TokenError> for Refused {
    fn from(error: TokenError) -> Refused {
        Refused {
            error,
            revoke: None,
        }
    }
}

/// Refuses and revokes `family`: a revoked source ticket or a reused token means nothing of
/// the family is honoured again.
fn revoke_and_refuse(family: &RefreshFamily, reason: &'static str, error: TokenError) -> Refused {
    tracing::warn!(family = %family.family_id, jti = %family.ticket_jti, reason, "refresh family revoked");
    Refused {
        error,
        revoke: Some((family.family_id.clone(), reason)),
    }
}

/// A refresh that passed every check, not yet durable.
struct Rotated {
    response: TokenResponse,
    old_hash: Vec<u8>,
    next: RefreshRecord,
    access: TokenRecord,
    grant: Grant,
    binding: &'static str,
}

/// `POST /token` with `grant_type=refresh_token`. `dpop` is the `DPoP` header, if any. The
/// spent keys, the rotation (or the revocation) and the audit row commit as one write set.
pub async fn refresh(
    state: &HolderState,
    params: &FormParams,
    dpop: Option<&str>,
) -> Result<TokenResponse, TokenError> {
    let now = state.now();
    let mut audit = AuditRecord {
        at: now,
        event: EVENT.into(),
        details: "{}".into(),
        ..AuditRecord::default()
    };
    let mut step = "grant_type";
    let guard = ReplayGuard::new();
    let outcome = run(state, params, dpop, now, &mut audit, &mut step, &guard).await;
    let mut effects = WriteSet::default();
    let result = match outcome {
        Ok(r) => {
            let mut on_reuse = audit.clone();
            mark_rejected(
                &mut on_reuse,
                "refresh_token",
                &TokenError::Refresh(REFRESH_REUSE),
            );
            audit.outcome = "accepted".into();
            audit.scopes = Some(r.response.scope.clone());
            audit.binding = Some(r.binding.into());
            effects.tokens.push(r.access.clone());
            effects.rotation = Some(RefreshRotation {
                old_hash: r.old_hash.clone(),
                next: r.next.clone(),
                on_reuse,
            });
            Ok(r)
        }
        Err(refused) => {
            mark_rejected(&mut audit, step, &refused.error);
            tracing::info!(step, error = %refused.error, jti = ?audit.jti, client = ?audit.client_id, "refresh rejected");
            effects
                .revocations
                .extend(refused.revoke.map(|(family_id, reason)| FamilyRevocation {
                    family_id,
                    reason: reason.into(),
                }));
            Err(refused.error)
        }
    };
    let rotated = commit_request(state, guard.into_keys(), effects, audit, result).await?;
    cache_token(state, rotated.access, rotated.grant, now);
    Ok(rotated.response)
}

async fn run(
    state: &HolderState,
    params: &FormParams,
    dpop: Option<&str>,
    now: i64,
    audit: &mut AuditRecord,
    step: &mut &'static str,
    guard: &ReplayGuard,
) -> Result<Rotated, Refused> {
    let st = &state.inner;
    let cfg = &st.config;
    if !cfg.continuation.enabled {
        return Err(TokenError::UnsupportedGrantType.into());
    }

    *step = "client_authentication";
    let token_url = state.config().token_url();
    let client =
        authenticate_at_token_endpoint(state, params, now, guard, &mut audit.client_id, &token_url)
            .await?;

    *step = "request";
    let presented = check_parameters(state, params)?;
    let proof_jkt = match dpop {
        None => None,
        Some(proof) => {
            *step = "dpop";
            let url = cfg.token_url();
            let want = ProofExpectation {
                htm: "POST",
                htu: &url,
                access_token: None,
                now,
                leeway: cfg.leeway,
            };
            let verified =
                verify_and_spend(guard, proof, want).map_err(|e| TokenError::InvalidDpop(e.0))?;
            Some(verified.jkt)
        }
    };

    *step = "refresh_token";
    let hash = token_hash(presented);
    let db = st.db.clone();
    let h = hash.clone();
    let found = tokio::task::spawn_blocking(move || db.find_refresh(&h))
        .await
        .map_err(|e| TokenError::Internal(e.to_string()))?
        .map_err(|e| TokenError::Internal(e.to_string()))?;
    let Some((token, family)) = found else {
        return Err(TokenError::Refresh("Invalid refresh token").into());
    };
    audit.jti = Some(family.ticket_jti.clone());
    audit.iss = Some(family.ticket_iss.clone());
    audit.ticket_type = Some(family.ticket_type.clone());
    audit.patient = Some(family.patient.clone());
    audit.details = serde_json::json!({ "refresh_family": family.family_id }).to_string();
    if family.client_id != client.client_id {
        // RFC 6749 §6: a refresh token is bound to the client it was issued to.
        return Err(TokenError::Refresh("Refresh token was not issued to this client").into());
    }
    if family.revoked_at.is_some() {
        return Err(TokenError::Refresh("Refresh token has been revoked").into());
    }
    if token.used_at.is_some() {
        return Err(revoke_and_refuse(
            &family,
            REUSE_REASON,
            TokenError::Refresh(REFRESH_REUSE),
        ));
    }
    *step = "continuation";
    if family.refresh_until.is_some_and(|until| now >= until) {
        return Err(TokenError::Refresh("Ticket continuation has ended (refresh_until)").into());
    }
    if token.expires_at <= now {
        return Err(TokenError::Refresh("Refresh token expired").into());
    }

    *step = "dpop";
    match (&family.cnf_jkt, &proof_jkt) {
        (None, None) => {}
        (Some(bound), Some(jkt)) if bound == jkt => {}
        (Some(_), None) => {
            return Err(TokenError::InvalidDpop("DPoP-bound refresh token without a proof").into());
        }
        (Some(_), Some(_)) => {
            return Err(TokenError::InvalidDpop("proof key differs from the bound key").into());
        }
        (None, Some(_)) => {
            return Err(TokenError::InvalidDpop("refresh token is not DPoP-bound").into());
        }
    }

    *step = "issuer_trust";
    let still_trusted = st
        .issuers
        .get(&family.ticket_iss)
        .is_some_and(|i| i.trusted_for(&family.ticket_type));
    if !still_trusted {
        return Err(TokenError::IssuerNotTrusted(family.ticket_iss.clone()).into());
    }

    *step = "revocation";
    match st
        .revocation
        .check(&family.revocation_url, family.revocation_index, now)
        .await
    {
        Ok(()) => {}
        Err(RevocationError::Revoked) => {
            return Err(revoke_and_refuse(
                &family,
                "source ticket revoked",
                TokenError::Revoked,
            ));
        }
        // Fail closed, but the family survives: the status may be determinable later.
        Err(RevocationError::Undeterminable(r)) => {
            return Err(TokenError::RevocationUndeterminable(r).into());
        }
    }

    *step = "grant";
    let frozen: Grant = serde_json::from_str(&family.grant_json)
        .map_err(|e| TokenError::Internal(format!("stored grant: {e}")))?;
    let grant = match params.get("scope") {
        None => frozen,
        Some(s) => {
            let narrowed = frozen
                .narrowed(s, &st.policy.served_types)
                .map_err(TokenError::from)?;
            // PT-RS-02: supporting resources follow the narrowed release, never beyond the
            // frozen grant's.
            crate::token::supporting::with_supporting(state, narrowed)
                .await?
                .within_supporting_of(&frozen)
        }
    };
    let scope = grant.scope_string();

    *step = "issue";
    let lifetime = family.refresh_until.map_or(cfg.access_token_ttl, |until| {
        cfg.access_token_ttl.min(until - now)
    });
    let access_token = new_token_string().map_err(TokenError::Internal)?;
    let next_token = new_token_string().map_err(TokenError::Internal)?;
    let grant_json =
        serde_json::to_string(&grant).map_err(|e| TokenError::Internal(e.to_string()))?;
    let access = TokenRecord {
        token_hash: token_hash(&access_token),
        client_id: client.client_id.clone(),
        grant_json,
        ticket_jti: family.ticket_jti.clone(),
        ticket_iss: family.ticket_iss.clone(),
        ticket_type: family.ticket_type.clone(),
        patient: family.patient.clone(),
        scope: scope.clone(),
        issued_at: now,
        expires_at: now + lifetime,
        cnf_jkt: family.cnf_jkt.clone(),
    };
    let next = RefreshRecord {
        token_hash: token_hash(&next_token),
        family_id: family.family_id.clone(),
        issued_at: now,
        expires_at: refresh_expiry(
            now,
            cfg.continuation.refresh_token_ttl,
            family.refresh_until,
        ),
        used_at: None,
    };
    let bound = family.cnf_jkt.is_some();
    Ok(Rotated {
        response: TokenResponse {
            access_token,
            token_type: if bound { "DPoP" } else { "Bearer" }.into(),
            issued_token_type: ACCESS_TOKEN_TYPE.into(),
            expires_in: lifetime,
            scope,
            patient: family.patient,
            refresh_token: Some(next_token),
        },
        old_hash: hash,
        next,
        access,
        grant,
        binding: if bound {
            "dpop:match"
        } else {
            "refresh:same_client"
        },
    })
}

/// RFC 6749 §6 parameters; returns the presented refresh token.
fn check_parameters<'p>(
    state: &HolderState,
    params: &'p FormParams,
) -> Result<&'p str, TokenError> {
    let token = params
        .get("refresh_token")
        .filter(|t| !t.is_empty())
        .ok_or(TokenError::InvalidRequest("Missing refresh_token"))?;
    if token.len() > MAX_REFRESH_TOKEN_LEN {
        return Err(TokenError::InvalidRequest("refresh_token too long"));
    }
    for name in [
        "subject_token",
        "subject_token_type",
        "actor_token",
        "actor_token_type",
    ] {
        if params.get(name).is_some() {
            return Err(TokenError::InvalidRequest(
                "Token-exchange parameters are not allowed with grant_type=refresh_token",
            ));
        }
    }
    if params
        .get("scope")
        .is_some_and(|s| s.len() > MAX_SCOPE_PARAM)
    {
        return Err(TokenError::InvalidRequest("scope too long"));
    }
    let own = &state.inner.config.base_urls;
    for name in ["resource", "audience"] {
        if params
            .get(name)
            .is_some_and(|v| !own.iter().any(|b| b == v))
        {
            return Err(TokenError::InvalidTarget);
        }
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pt_life_05_refresh_tokens_never_outlive_refresh_until() {
        assert_eq!(refresh_expiry(100, 50, None), 150);
        assert_eq!(refresh_expiry(100, 50, Some(120)), 120);
        assert_eq!(refresh_expiry(100, 50, Some(500)), 150);
        assert_eq!(refresh_expiry(i64::MAX - 1, 50, None), i64::MAX);
    }
}
