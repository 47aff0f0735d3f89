//! The final step of every token-endpoint request: its spent keys, issued token and audit
//! row become ONE [`WriteSet`] committed through the group-commit writer, and the response
//! is released only once that set is durable (docs/design/002-durable-writes.md).
//!
//! A key found spent at commit time (a concurrent request, another node) turns the answer
//! into that key's refusal, audited as such; a failed batch turns it into an internal error
//! with nothing written.

use tessera_store::audit::AuditRecord;
use tessera_store::durable::{OnceKey, SetOutcome, WriteSet};
use tessera_store::tokens::TokenRecord;

use crate::state::HolderState;
use crate::token::client_auth::ClientAuthError;
use crate::token::error::TokenError;
use crate::token::replay_guard::KeyKind;

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

/// Commits the request's durable effects and returns what may be answered.
pub async fn commit_request<T>(
    state: &HolderState,
    keys: Vec<(OnceKey, KeyKind)>,
    token: Option<TokenRecord>,
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
        tokens: token.into_iter().collect(),
        audit: vec![audit],
    };
    match state.inner.writer.commit(set).await {
        Ok(SetOutcome::Committed) => result,
        Ok(SetOutcome::Conflict(i)) => {
            let kind = kinds.get(i).copied().unwrap_or(KeyKind::Assertion);
            Err(replay_refusal(kind).1)
        }
        // No answer leaves without its durable record.
        Err(e) => Err(TokenError::Internal(format!("durable write failed: {e}"))),
    }
}
