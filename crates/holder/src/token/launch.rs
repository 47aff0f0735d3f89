//! Proposal 001 launch values (draft; spec-digest §11, §19): when the switch is on and the
//! subject of an otherwise acceptable consumer ticket cannot be resolved, the token endpoint
//! answers `interaction_required` with a `launch` value instead of `invalid_grant`.
//!
//! A launch value is 256 random bits, kept only as its SHA-256, bound to the client that
//! received it and to the ticket (`iss`, `jti`, the client key thumbprint the binding matched),
//! short-lived, and single-use: [`LaunchRegistry::consume`] removes it whether or not it
//! matches. Nothing is promised durably — a restart forgets every launch, which fails closed.
//! The SMART authorization leg that would consume a launch (`/authorize`, presenter binding
//! re-checked at code exchange) is not built; see docs/decisions.md.

use std::collections::HashMap;
use std::sync::Mutex;

use subtle::ConstantTimeEq;
use tessera_ticket::TicketType;

use crate::state::HolderState;
use crate::token::access_token::{new_token_string, token_hash};
use crate::token::client_auth::AuthenticatedClient;
use crate::token::error::TokenError;

/// Largest number of live launch values (oldest dropped beyond it).
pub const MAX_LIVE_LAUNCHES: usize = 4096;

/// What a launch value stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchContext {
    /// The client it was issued to.
    pub client_id: String,
    /// The ticket's `iss`.
    pub ticket_iss: String,
    /// The ticket's `jti`.
    pub ticket_jti: String,
    /// Thumbprint of the client key the ticket's binding was verified against.
    pub client_jkt: String,
    /// Expiry, unix seconds.
    pub expires_at: i64,
}

/// Live launch values by hash.
#[derive(Debug, Default)]
pub struct LaunchRegistry {
    live: Mutex<HashMap<Vec<u8>, LaunchContext>>,
}

impl LaunchRegistry {
    /// Issues a new launch value for `ctx`.
    pub fn issue(&self, ctx: LaunchContext, now: i64) -> Result<String, String> {
        let launch = new_token_string()?;
        let mut live = match self.live.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        live.retain(|_, c| c.expires_at > now);
        if live.len() >= MAX_LIVE_LAUNCHES {
            let oldest = live
                .iter()
                .min_by_key(|(_, c)| c.expires_at)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                live.remove(&k);
            }
        }
        live.insert(token_hash(&launch), ctx);
        Ok(launch)
    }

    /// Takes a launch value: `Some` only for the client it was issued to, before expiry, once.
    pub fn consume(&self, launch: &str, client_id: &str, now: i64) -> Option<LaunchContext> {
        let mut live = match self.live.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let ctx = live.remove(&token_hash(launch))?;
        let same_client = bool::from(ctx.client_id.as_bytes().ct_eq(client_id.as_bytes()));
        (same_client && now < ctx.expires_at).then_some(ctx)
    }
}

/// A patient id no record has: the grant dry run of [`interaction_fallback`]'s caller checks
/// every other ceiling without a resolved patient (the grant is discarded).
pub const UNRESOLVED_PATIENT: &str = "unresolved";

/// What step 14 knows when resolution failed.
#[derive(Debug, Clone, Copy)]
pub struct FallbackRequest<'a> {
    /// The verified ticket's type.
    pub ticket_type: TicketType,
    /// Ticket `iss`.
    pub ticket_iss: &'a str,
    /// Ticket `jti`.
    pub ticket_jti: &'a str,
    /// The authenticated client.
    pub client: &'a AuthenticatedClient,
    /// Every later check (the access intersection) would pass.
    pub otherwise_acceptable: bool,
    /// Now.
    pub now: i64,
}

/// Step 14 failed with `failure` (unresolved or ambiguous): the error to answer. With the
/// switch on, a consumer ticket (self or delegated access) that is otherwise acceptable gets
/// `interaction_required` and a fresh launch value; everything else — the switch off, B2B
/// types (Proposal 001: SHOULD NOT), a ticket that would fail later anyway — keeps `failure`.
/// Never called after a successful resolution (SHALL NOT).
pub fn interaction_fallback(
    state: &HolderState,
    failure: TokenError,
    req: FallbackRequest<'_>,
) -> TokenError {
    let cfg = state.config().subject_resolution;
    let consumer = matches!(
        req.ticket_type,
        TicketType::SelfAccess | TicketType::DelegatedAccess
    );
    let resolution_failure = matches!(
        failure,
        TokenError::SubjectUnresolved | TokenError::SubjectAmbiguous
    );
    if !cfg.interaction_fallback || !consumer || !resolution_failure || !req.otherwise_acceptable {
        return failure;
    }
    let ctx = LaunchContext {
        client_id: req.client.client_id.clone(),
        ticket_iss: req.ticket_iss.to_owned(),
        ticket_jti: req.ticket_jti.to_owned(),
        client_jkt: req.client.jkt.clone(),
        expires_at: req.now + cfg.launch_ttl,
    };
    match state.inner.launches.issue(ctx, req.now) {
        Ok(launch) => TokenError::InteractionRequired(launch),
        // No randomness, no launch: the plain failure is still correct.
        Err(_) => failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(expires_at: i64) -> LaunchContext {
        LaunchContext {
            client_id: "app1".into(),
            ticket_iss: "https://issuer.example".into(),
            ticket_jti: "j1".into(),
            client_jkt: "jkt".into(),
            expires_at,
        }
    }

    // Proposal 001: unguessable, short-lived, single-use, bound to the receiving client.
    #[test]
    fn launch_values_are_random_bound_short_lived_and_single_use() {
        let r = LaunchRegistry::default();
        let a = r.issue(ctx(1300), 1000).unwrap();
        let b = r.issue(ctx(1300), 1000).unwrap();
        assert_ne!(a, b);
        assert_eq!(tessera_jose::b64::decode(&a).unwrap().len(), 32);
        // Only the hash is kept.
        assert!(
            r.live
                .lock()
                .unwrap()
                .keys()
                .all(|k| k.len() == 32 && *k != a.as_bytes())
        );
        // Another client: refused, and the value is burnt.
        assert_eq!(r.consume(&a, "app2", 1001), None);
        assert_eq!(r.consume(&a, "app1", 1001), None);
        // The right client once, then never again.
        assert_eq!(r.consume(&b, "app1", 1001), Some(ctx(1300)));
        assert_eq!(r.consume(&b, "app1", 1002), None);
        // Expired.
        let c = r.issue(ctx(1300), 1000).unwrap();
        assert_eq!(r.consume(&c, "app1", 1300), None);
        assert_eq!(r.consume("guess", "app1", 1001), None);
    }
}
