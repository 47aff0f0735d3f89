//! Token introspection (RFC 7662) for registered clients allowed to introspect: the same
//! `private_key_jwt` Layer 1 as the token endpoint (assertion `aud` = the introspection URL or
//! the token URL), then the stored token row. Every call that reaches here is audited —
//! rejected ones too, so probing the endpoint with bad or unauthorized credentials leaves a
//! trail (PT-AUDIT).

use serde_json::{Value, json};
use tessera_store::audit::AuditRecord;
use tessera_store::durable::WriteSet;

use crate::state::HolderState;
use crate::token::access_token::lookup_token;
use crate::token::client_auth::{
    AuthContext, ClientAuthError, ClientCredentials, claimed_client_id,
};
use crate::token::commit::{commit_request, mark_rejected};
use crate::token::error::TokenError;
use crate::token::replay_guard::ReplayGuard;
use crate::token::request::FormParams;

/// Introspects the `token` parameter and writes the audit record (durably, before
/// returning; a failed write fails the call, as at the token endpoint).
pub async fn introspect(state: &HolderState, params: &FormParams) -> Result<Value, TokenError> {
    let now = state.now();
    let mut rec = AuditRecord {
        at: now,
        event: "introspection".into(),
        client_id: params.get("client_assertion").and_then(claimed_client_id),
        details: "{}".into(),
        ..AuditRecord::default()
    };
    let mut step = "client_authentication";
    let guard = ReplayGuard::new();
    let result = run(state, params, now, &mut rec, &mut step, &guard).await;
    match &result {
        Ok(body) => {
            rec.outcome = "accepted".into();
            if body["active"] != json!(true) {
                rec.details = json!({ "active": false }).to_string();
            }
        }
        Err(e) => {
            mark_rejected(&mut rec, step, e);
            tracing::info!(step, error = %e, client = ?rec.client_id, "introspection rejected");
        }
    }
    // The assertion's jti and the audit row commit together, as at the token endpoint.
    commit_request(state, guard.into_keys(), WriteSet::default(), rec, result).await
}

async fn run(
    state: &HolderState,
    params: &FormParams,
    now: i64,
    rec: &mut AuditRecord,
    step: &mut &'static str,
    guard: &ReplayGuard,
) -> Result<Value, TokenError> {
    let st = &state.inner;
    let audiences = [
        format!("{}/introspect", st.config.base_url),
        st.config.token_url(),
    ];
    let creds = ClientCredentials {
        assertion_type: params.get("client_assertion_type"),
        assertion: params.get("client_assertion"),
        client_id: params.get("client_id"),
    };
    let ctx = AuthContext {
        audiences: &audiences,
        now,
        leeway: st.config.leeway,
        replay: guard,
    };
    let client = st
        .clients
        .authenticate(creds, ctx)
        .await
        .map_err(TokenError::InvalidClient)?;
    rec.client_id = Some(client.client_id.clone());
    *step = "introspection_permission";
    if !client.introspection {
        return Err(TokenError::InvalidClient(ClientAuthError::UnknownClient));
    }
    *step = "request";
    let token = params
        .get("token")
        .ok_or(TokenError::InvalidRequest("Missing token"))?;
    *step = "lookup";
    let info = lookup_token(state, token)
        .await
        .map_err(TokenError::Internal)?;
    let Some(info) = info else {
        return Ok(json!({ "active": false }));
    };
    let r = &info.record;
    let grant = serde_json::to_value(info.grant.as_ref()).unwrap_or(Value::Null);
    let mut body = json!({
        "active": true,
        "scope": r.scope,
        "client_id": r.client_id,
        "token_type": if r.cnf_jkt.is_some() { "DPoP" } else { "Bearer" },
        "exp": r.expires_at,
        "iat": r.issued_at,
        "patient": r.patient,
        "permission_ticket": { "jti": r.ticket_jti, "iss": r.ticket_iss, "ticket_type": r.ticket_type },
        "grant": grant,
    });
    if let Some(jkt) = &r.cnf_jkt {
        body["cnf"] = json!({ "jkt": jkt });
    }
    rec.jti = Some(r.ticket_jti.clone());
    rec.iss = Some(r.ticket_iss.clone());
    rec.ticket_type = Some(r.ticket_type.clone());
    rec.patient = Some(r.patient.clone());
    rec.scopes = Some(r.scope.clone());
    Ok(body)
}
