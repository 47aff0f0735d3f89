//! The final step of every token-endpoint request: its spent keys, issued tokens, refresh
//! changes and audit row become ONE [`WriteSet`] committed through the group-commit writer,
//! and the response is released only once that set is durable
//! (docs/design/002-durable-writes.md).
//!
//! A key found spent at commit time (a concurrent request, another node) turns the answer
//! into that key's refusal, audited as such; a refresh token found used turns it into reuse
//! (family revoked); a failed batch turns it into an internal error with nothing written.

use tessera_store::audit::AuditRecord;
use tessera_store::durable::{OnceKey, SetOutcome, WriteSet};

use crate::state::HolderState;
use crate::token::client_auth::ClientAuthError;
use crate::token::error::TokenError;
use crate::token::replay_guard::KeyKind;

/// The description sent for a reused refresh token.
pub const REFRESH_REUSE: &str =
    "Refresh token reuse detected; every token of this grant is revoked";

/// Fills the refusal fields of an audit record.
pub fn mark_rejected(rec: &mut AuditRecord, step: &str, error: &TokenError) {
    let (_, code, description) = error.oauth();
    rec.outcome = "rejected".into();
    rec.step = Some(step.to_owned());
    rec.error = Some(code.to_owned());
    rec.error_description = Some(description);
}

/// The refusal a key of this kind means when already spent, and the step it belongs to.
fn replay_refusal(kind: KeyKind) -> (&'static str, TokenError) {
    match kind {
        KeyKind::Assertion => (
            "client_authentication",
            TokenError::InvalidClient(ClientAuthError::Replayed),
        ),
        KeyKind::DpopProof => ("dpop", TokenError::InvalidDpop("proof replayed")),
    }
}

/// Commits the request's durable effects and returns what may be answered. `effects` holds
/// what the request writes besides its keys and audit row (tokens, refresh families, a
/// rotation, revocations); its `now`, `once` and `audit` are filled here.
pub async fn commit_request<T>(
    state: &HolderState,
    keys: Vec<(OnceKey, KeyKind)>,
    effects: WriteSet,
    audit: AuditRecord,
    result: Result<T, TokenError>,
) -> Result<T, TokenError> {
    let kinds: Vec<KeyKind> = keys.iter().map(|(_, k)| *k).collect();
    let once = keys
        .into_iter()
        .map(|(mut key, kind)| {
            let mut rec = audit.clone();
            let (step, err) = replay_refusal(kind);
            mark_rejected(&mut rec, step, &err);
            rec.scopes = None;
            key.on_conflict = Some(rec);
            key
        })
        .collect();
    let set = WriteSet {
        now: audit.at,
        once,
        audit: vec![audit],
        ..effects
    };
    match state.inner.writer.commit(set).await {
        Ok(SetOutcome::Committed) => result,
        Ok(SetOutcome::Conflict(i)) => {
            let kind = kinds.get(i).copied().unwrap_or(KeyKind::Assertion);
            Err(replay_refusal(kind).1)
        }
        // A concurrent refresh spent the same token first; the family is revoked.
        Ok(SetOutcome::RefreshReused) => Err(TokenError::Refresh(REFRESH_REUSE)),
        // No answer leaves without its durable record.
        Err(e) => Err(TokenError::Internal(format!("durable write failed: {e}"))),
    }
}

/// A refusal that names only its audit row (no keys, no other effects).
pub async fn commit_refusal(
    state: &HolderState,
    audit: AuditRecord,
    error: TokenError,
) -> TokenError {
    match commit_request(
        state,
        Vec::new(),
        WriteSet::default(),
        audit,
        Err::<(), _>(error),
    )
    .await
    {
        Ok(()) => TokenError::Internal("unreachable: a refusal committed as success".into()),
        Err(e) => e,
    }
}
