//! UDAP dynamic client registration (UDAP Security IG §3; UDAP DCR): the software statement's
//! `x5c` chain is validated against each configured community's anchors in turn (with CRLs),
//! its claims checked (`iss` = a URI SAN, `sub` = `iss`, `aud` = our registration URL,
//! lifetime ≤ 5 min, `jti` never seen), the metadata validated, and the registration stored
//! under `(community, iss)`: a new statement from the same `iss` supersedes the old
//! registration (same `client_id`, new metadata); empty `grant_types` cancels it.

use axum::http::StatusCode;
use serde_json::{Map, Value};
use tessera_jose::Alg;
use tessera_store::durable::{OnceKey, RegistrationChange};
use tessera_store::registrations::ClientRegistration;
use tessera_udap::claims::{self, MAX_LIFETIME, Rules, Signer};
use tessera_udap::{Purpose, UdapError, VerifiedX5c, X5cJwt};

use crate::registration::error::RegistrationError;
use crate::registration::metadata::validate;
use crate::registration::{Registered, Trail};
use crate::state::HolderState;
use crate::udap::verify_in;

/// Replay-cache namespace for software statement `jti`s (apart from client assertions).
const STATEMENT_REPLAY_NS: &str = "udap-software-statement:";

/// Verifies the statement under the first community whose anchors accept its chain.
async fn verify_statement(
    state: &HolderState,
    statement: &str,
    now: i64,
) -> Result<(String, VerifiedX5c), RegistrationError> {
    let st = &state.inner;
    let mut first_err: Option<UdapError> = None;
    for c in st.udap.iter() {
        let jwt = X5cJwt::decode(statement, Alg::TICKET)?;
        match verify_in(
            c,
            st.udap.crl_cache(),
            st.keys.fetcher(),
            jwt,
            Purpose::Client,
            now,
        )
        .await
        {
            Ok(v) => return Ok((c.id.clone(), v)),
            Err(e) => {
                // A chain some community's anchors reach but that fails later (revoked,
                // expired, CRL unavailable) says more than "untrusted" from the others.
                if first_err
                    .as_ref()
                    .is_none_or(|f| *f == UdapError::UntrustedChain)
                {
                    first_err = Some(e);
                }
            }
        }
    }
    Err(first_err.unwrap_or(UdapError::UntrustedChain).into())
}

/// Registers (or supersedes, or cancels) a UDAP client.
pub async fn register_udap(
    state: &HolderState,
    req: &Map<String, Value>,
    statement: &str,
    now: i64,
    trail: &mut Trail,
) -> Result<Registered, RegistrationError> {
    let st = &state.inner;
    if let Ok(j) = X5cJwt::decode(statement, Alg::TICKET)
        && let Some(Value::String(iss)) = j.unverified_claims().get("iss")
    {
        trail.client_id = Some(iss.chars().take(256).collect());
    }
    match req.get("udap") {
        Some(Value::String(v)) if v == tessera_udap::UDAP_VERSION => {}
        None => {}
        _ => {
            return Err(RegistrationError::InvalidClientMetadata(
                "udap must be \"1\"".into(),
            ));
        }
    }
    let (community, v) = verify_statement(state, statement, now).await?;
    trail
        .details
        .insert("trust_framework".into(), community.clone().into());
    let register_url = format!("{}/register", st.config.base_url);
    let rules = Rules {
        audiences: std::slice::from_ref(&register_url),
        now,
        leeway: st.config.leeway,
        max_lifetime: MAX_LIFETIME,
    };
    let checked = claims::check(&v, Signer::San, rules)?;
    let meta = validate(&v.claims, true)?;
    // Spent with the request's outcome (one write set); this early read keeps the refusal
    // order, the commit's unique constraint decides a concurrent race.
    let key = OnceKey {
        namespace: format!("{STATEMENT_REPLAY_NS}{community}"),
        key: format!("{}\u{0}{}", checked.iss, checked.jti),
        keep_until: checked.exp + rules.leeway,
        on_conflict: None,
    };
    match st.db.is_spent(&key.namespace, &key.key, now) {
        Ok(false) => {}
        Ok(true) => {
            return Err(RegistrationError::InvalidSoftwareStatement(
                "software statement: jti already used (replay)".into(),
            ));
        }
        Err(e) => return Err(RegistrationError::Internal(e.to_string())),
    }
    trail.statement_key = Some(key);
    let store = st.registrations.clone();
    let (c2, iss2) = (community.clone(), checked.iss.clone());
    let existing = tokio::task::spawn_blocking(move || store.registration_by_san(&c2, &iss2))
        .await
        .map_err(|e| RegistrationError::Internal(e.to_string()))?
        .map_err(|e| RegistrationError::Internal(e.to_string()))?;
    let mut audit = Map::new();
    audit.insert("trust_framework".into(), community.clone().into());
    audit.insert("framework_type".into(), "udap".into());
    audit.insert("san".into(), checked.iss.clone().into());
    audit.insert("anchor".into(), v.chain.anchor_subject.clone().into());
    if meta.grant_types.is_empty() {
        let Some(old) = existing else {
            return Err(RegistrationError::InvalidClientMetadata(
                "empty grant_types cancels a registration, and there is none for this iss".into(),
            ));
        };
        audit.insert("action".into(), "cancelled".into());
        let mut body = Map::new();
        body.insert("client_id".into(), old.client_id.clone().into());
        body.insert("grant_types".into(), Value::Array(Vec::new()));
        return Ok(Registered {
            status: StatusCode::OK,
            body,
            audit,
            change: RegistrationChange::Delete(old.client_id),
        });
    }
    let (client_id, created_at, action) = match &existing {
        Some(old) => (old.client_id.clone(), old.created_at, "superseded"),
        None => (uuid::Uuid::new_v4().to_string(), now, "registered"),
    };
    let registered = meta.to_json();
    let row = ClientRegistration {
        client_id: client_id.clone(),
        kind: "udap".into(),
        trust_framework: Some(community),
        san: Some(checked.iss),
        metadata: Value::Object(registered.clone()).to_string(),
        token_hash: None,
        created_at,
        updated_at: now,
    };
    audit.insert("action".into(), action.into());
    let mut body = registered;
    body.insert("client_id".into(), client_id.into());
    body.insert("software_statement".into(), statement.into());
    Ok(Registered {
        status: StatusCode::CREATED,
        body,
        audit,
        change: RegistrationChange::Put(row),
    })
}
