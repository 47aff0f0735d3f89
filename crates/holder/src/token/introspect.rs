//! Token introspection (RFC 7662) for registered clients allowed to introspect: the same
//! `private_key_jwt` Layer 1 as the token endpoint (assertion `aud` = the introspection URL or
//! the token URL), then the stored token row.

use serde_json::{Value, json};
use tessera_store::audit::AuditRecord;

use crate::state::HolderState;
use crate::token::access_token::lookup_token;
use crate::token::client_auth::{AuthContext, ClientAuthError, ClientCredentials};
use crate::token::error::TokenError;
use crate::token::request::FormParams;

/// Introspects the `token` parameter.
pub async fn introspect(state: &HolderState, params: &FormParams) -> Result<Value, TokenError> {
    let st = &state.inner;
    let now = state.now();
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
    };
    let client = st
        .clients
        .authenticate(creds, ctx)
        .await
        .map_err(TokenError::InvalidClient)?;
    if !client.introspection {
        return Err(TokenError::InvalidClient(ClientAuthError::UnknownClient));
    }
    let token = params
        .get("token")
        .ok_or(TokenError::InvalidRequest("Missing token"))?;
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
    let rec = AuditRecord {
        at: now,
        event: "introspection".into(),
        outcome: "accepted".into(),
        jti: Some(r.ticket_jti.clone()),
        iss: Some(r.ticket_iss.clone()),
        ticket_type: Some(r.ticket_type.clone()),
        client_id: Some(client.client_id.clone()),
        patient: Some(r.patient.clone()),
        scopes: Some(r.scope.clone()),
        details: "{}".into(),
        ..AuditRecord::default()
    };
    let db = st.db.clone();
    tokio::task::spawn_blocking(move || db.append_audit(&rec))
        .await
        .map_err(|e| TokenError::Internal(e.to_string()))?
        .map_err(|e| TokenError::Internal(e.to_string()))?;
    Ok(body)
}
