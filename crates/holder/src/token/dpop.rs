//! DPoP proofs (RFC 9449), optional sender-constraining of access tokens (OP-12): a proof at
//! the token endpoint binds the token to the proof key (`token_type: DPoP`, stored `cnf.jkt`);
//! every FHIR request with such a token then needs a fresh proof by the same key carrying the
//! token's hash (`ath`). Proof `jti`s go through the replay cache.

use aws_lc_rs::digest::{SHA256, digest};
use serde_json::Value;
use tessera_jose::{Limits, decode};
use tessera_store::durable::{OnceKey, SetOutcome, WriteSet};
use tessera_store::group_commit::GroupCommit;

use crate::token::replay_guard::{KeyKind, ReplayGuard, SpendError};

/// How far in the past a proof's `iat` may lie (seconds).
pub const MAX_PROOF_AGE: i64 = 300;
/// Largest accepted proof.
pub const MAX_PROOF_LEN: usize = 8 * 1024;

/// What the proof must say.
#[derive(Debug, Clone, Copy)]
pub struct ProofExpectation<'a> {
    /// HTTP method.
    pub htm: &'a str,
    /// Request URL without query and fragment.
    pub htu: &'a str,
    /// The access token the proof must be bound to (`ath`), on resource requests.
    pub access_token: Option<&'a str>,
    /// Now.
    pub now: i64,
    /// Leeway for a proof `iat` slightly in the future.
    pub leeway: i64,
}

/// A proof that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// RFC 7638 thumbprint of the proof key.
    pub jkt: String,
    /// Proof `jti`.
    pub jti: String,
    /// Proof `iat`.
    pub iat: i64,
}

/// Why a proof is not acceptable (logged; the client sees `invalid_dpop_proof`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DpopError(pub &'static str);

/// Verifies a proof's form, signature and claims (no replay check).
pub fn verify_proof(proof: &str, want: ProofExpectation<'_>) -> Result<VerifiedProof, DpopError> {
    let limits = Limits {
        max_token_len: MAX_PROOF_LEN,
        ..Limits::client()
    };
    let jws = decode(proof, &limits).map_err(|_| DpopError("malformed proof"))?;
    let header = jws.header();
    if header.typ.as_deref() != Some("dpop+jwt") {
        return Err(DpopError("typ must be dpop+jwt"));
    }
    let jwk = header.jwk.as_ref().ok_or(DpopError("no jwk in header"))?;
    jwk.check_alg(header.alg)
        .map_err(|_| DpopError("jwk does not fit alg"))?;
    jws.verify_with(jwk)
        .map_err(|_| DpopError("bad signature"))?;
    let c = jws.claims();
    if c.get("htm").and_then(Value::as_str) != Some(want.htm) {
        return Err(DpopError("htm mismatch"));
    }
    let htu = c
        .get("htu")
        .and_then(Value::as_str)
        .ok_or(DpopError("no htu"))?;
    let htu = htu.split(['?', '#']).next().unwrap_or(htu);
    if htu != want.htu {
        return Err(DpopError("htu mismatch"));
    }
    let iat = c
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(DpopError("no iat"))?;
    if iat > want.now + want.leeway || iat < want.now - MAX_PROOF_AGE {
        return Err(DpopError("iat outside the acceptance window"));
    }
    let jti = match c.get("jti") {
        Some(Value::String(j)) if !j.is_empty() && j.len() <= 256 => j.clone(),
        _ => return Err(DpopError("jti required")),
    };
    if let Some(token) = want.access_token {
        let expected = tessera_jose::b64::encode(digest(&SHA256, token.as_bytes()).as_ref());
        if c.get("ath").and_then(Value::as_str) != Some(expected.as_str()) {
            return Err(DpopError("ath mismatch"));
        }
    }
    Ok(VerifiedProof {
        jkt: jwk.thumbprint(),
        jti,
        iat,
    })
}

/// Verifies a proof and spends its `jti` in the request's pending writes (token endpoint):
/// the key commits with the request's token and audit row.
pub fn verify_and_spend(
    guard: &ReplayGuard,
    proof: &str,
    want: ProofExpectation<'_>,
) -> Result<VerifiedProof, DpopError> {
    let p = verify_proof(proof, want)?;
    match guard.spend(
        &replay_namespace(&p.jkt),
        &p.jti,
        want.now + MAX_PROOF_AGE + want.leeway,
        KeyKind::DpopProof,
    ) {
        Ok(()) => Ok(p),
        Err(SpendError::Replayed) => Err(DpopError("proof replayed")),
    }
}

/// Verifies a proof and durably spends its `jti` on its own (FHIR requests, which have no
/// other durable effect), through the shared group commit.
pub async fn verify_and_commit(
    writer: &GroupCommit,
    proof: &str,
    want: ProofExpectation<'_>,
) -> Result<VerifiedProof, DpopError> {
    let p = verify_proof(proof, want)?;
    let set = WriteSet {
        now: want.now,
        once: vec![OnceKey {
            namespace: replay_namespace(&p.jkt),
            key: p.jti.clone(),
            keep_until: want.now + MAX_PROOF_AGE + want.leeway,
            on_conflict: None,
        }],
        ..WriteSet::default()
    };
    match writer.commit(set).await {
        Ok(SetOutcome::Committed) => Ok(p),
        Ok(SetOutcome::Conflict(_) | SetOutcome::RefreshReused) => Err(DpopError("proof replayed")),
        Err(_) => Err(DpopError("replay cache unavailable")),
    }
}

/// Proof `jti`s are unique per key (RFC 9449 §11.1), namespaced apart from client ids.
fn replay_namespace(jkt: &str) -> String {
    format!("dpop:{jkt}")
}
