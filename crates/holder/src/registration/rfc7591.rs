//! RFC 7591 registration of plain `private_key_jwt` clients (SMART apps without a software
//! statement): the client registers its public keys, inline (`jwks`) or by reference
//! (`jwks_uri`, only when `[registration] allow_jwks_uri = true`, fetched through the bounded
//! outbound client, no redirects, at registration and then per cache lifetime), and receives
//! a `client_id` with an RFC 7592 registration access token. Only the token's SHA-256 is
//! stored; the token itself is in the `201` response alone.
//!
//! Such a client has no framework identity: it can redeem tickets bound to its key (`jkt`) or
//! unbound individual tickets, never a `trust_framework_client` binding.

use axum::http::StatusCode;
use serde_json::{Map, Value};
use tessera_jose::JwkSet;
use tessera_store::registrations::ClientRegistration;
use url::Url;

use crate::config::KeySourceConfig;
use crate::registration::error::RegistrationError;
use crate::registration::metadata::validate;
use crate::registration::{Registered, Trail};
use crate::state::HolderState;
use crate::token::access_token::{new_token_string, token_hash};
use crate::trust::keys::KeySource;

/// `kind` of an RFC 7591 registration row.
pub const KIND_JWKS: &str = "jwks";
/// Most keys one registration may carry.
pub const MAX_REGISTERED_KEYS: usize = 8;
/// Longest `jwks_uri`.
pub const MAX_JWKS_URI_LEN: usize = 2048;

fn bad(d: impl Into<String>) -> RegistrationError {
    RegistrationError::InvalidClientMetadata(d.into())
}

/// Registers an RFC 7591 `private_key_jwt` client.
pub async fn register_jwks_client(
    state: &HolderState,
    req: &Map<String, Value>,
    now: i64,
    trail: &mut Trail,
) -> Result<Registered, RegistrationError> {
    // Members we do not understand are ignored (RFC 7591 §2); the response echoes only what
    // was registered, so the client sees what took effect.
    let meta = validate(req, false)?;
    if meta.grant_types.is_empty() {
        return Err(bad(
            "grant_types must not be empty (delete a registration with RFC 7592 instead)",
        ));
    }
    let keys = key_metadata(state, req, now).await?;
    trail.details.insert("keys".into(), keys.audit());
    let client_id = uuid::Uuid::new_v4().to_string();
    let token = new_token_string().map_err(RegistrationError::Internal)?;
    let mut registered = meta.to_json();
    keys.insert_into(&mut registered);
    if let Some(Value::String(s)) = req.get("software_id") {
        registered.insert("software_id".into(), clip(s).into());
    }
    registered.insert("client_id_issued_at".into(), now.into());
    let row = ClientRegistration {
        client_id: client_id.clone(),
        kind: KIND_JWKS.into(),
        trust_framework: None,
        san: None,
        metadata: Value::Object(registered.clone()).to_string(),
        token_hash: Some(token_hash(&token)),
        created_at: now,
        updated_at: now,
    };
    // Made durable by the handler, in one write set with its audit row.
    let change = tessera_store::durable::RegistrationChange::Put(row);
    let mut audit = Map::new();
    audit.insert("action".into(), "registered".into());
    audit.insert("kind".into(), KIND_JWKS.into());
    audit.insert("keys".into(), keys.audit());
    let mut body = registered;
    body.insert("client_id".into(), client_id.clone().into());
    body.insert("registration_access_token".into(), token.into());
    body.insert(
        "registration_client_uri".into(),
        registration_client_uri(state, &client_id).into(),
    );
    Ok(Registered {
        status: StatusCode::CREATED,
        body,
        audit,
        change,
    })
}

/// `[base]/register/{client_id}` (RFC 7592 §2).
pub fn registration_client_uri(state: &HolderState, client_id: &str) -> String {
    format!("{}/register/{client_id}", state.config().base_url)
}

/// The registered keys: a validated inline set, or a URL whose set was fetched once.
enum Keys {
    Inline(Value, Vec<String>),
    Uri(Url, Vec<String>),
}

impl Keys {
    fn audit(&self) -> Value {
        match self {
            Keys::Inline(_, jkts) => serde_json::json!({"jwks": jkts}),
            Keys::Uri(u, jkts) => serde_json::json!({"jwks_uri": u.as_str(), "jwks": jkts}),
        }
    }

    fn insert_into(&self, m: &mut Map<String, Value>) {
        match self {
            Keys::Inline(v, _) => m.insert("jwks".into(), v.clone()),
            Keys::Uri(u, _) => m.insert("jwks_uri".into(), u.as_str().into()),
        };
    }
}

async fn key_metadata(
    state: &HolderState,
    req: &Map<String, Value>,
    now: i64,
) -> Result<Keys, RegistrationError> {
    match (req.get("jwks"), req.get("jwks_uri")) {
        (Some(_), Some(_)) => Err(bad("give jwks or jwks_uri, not both (RFC 7591 §2)")),
        (None, None) => Err(bad(
            "jwks or jwks_uri is required for private_key_jwt (RFC 7591 §2)",
        )),
        (Some(v), None) => {
            let set = public_set(v)?;
            Ok(Keys::Inline(v.clone(), thumbprints(&set)))
        }
        (None, Some(Value::String(u))) => {
            if !state.config().registration.allow_jwks_uri {
                return Err(bad(
                    "jwks_uri is not accepted here (the Data Holder's registration policy); \
                     register the keys inline as jwks",
                ));
            }
            if u.len() > MAX_JWKS_URI_LEN {
                return Err(bad("jwks_uri too long"));
            }
            let url = Url::parse(u).map_err(|_| bad("jwks_uri is not a URL"))?;
            if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
                return Err(bad("jwks_uri must not carry a fragment or credentials"));
            }
            let keys = &state.inner.keys;
            keys.fetcher()
                .check_url(&url)
                .map_err(|e| bad(format!("jwks_uri: {e}")))?;
            let set = keys
                .key_set(&KeySource::Remote(url.clone()), None, now)
                .await
                .map_err(|e| bad(format!("jwks_uri could not be used: {e}")))?;
            if set.keys.is_empty() || set.keys.len() > MAX_REGISTERED_KEYS {
                return Err(bad(format!(
                    "jwks_uri must serve 1 to {MAX_REGISTERED_KEYS} usable keys"
                )));
            }
            Ok(Keys::Uri(url, thumbprints(&set)))
        }
        (None, Some(_)) => Err(bad("jwks_uri must be a string")),
    }
}

/// A JWK Set of 1..=8 usable public signing keys (private members refused).
fn public_set(v: &Value) -> Result<JwkSet, RegistrationError> {
    let Some(list) = v.get("keys").and_then(Value::as_array) else {
        return Err(bad("jwks must be a JWK Set ({\"keys\": [...]})"));
    };
    if list.is_empty() || list.len() > MAX_REGISTERED_KEYS {
        return Err(bad(format!(
            "jwks must hold 1 to {MAX_REGISTERED_KEYS} keys"
        )));
    }
    const PRIVATE: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];
    if list
        .iter()
        .any(|k| PRIVATE.iter().any(|m| k.get(m).is_some()))
    {
        return Err(bad(
            "jwks contains private key material; register public keys only",
        ));
    }
    let bytes = serde_json::to_vec(v).map_err(|e| RegistrationError::Internal(e.to_string()))?;
    let set = JwkSet::from_json(&bytes).map_err(|e| bad(format!("jwks: {e}")))?;
    if set.keys.len() != list.len() {
        return Err(bad("jwks: every key must be EC, RSA or OKP"));
    }
    if set
        .keys
        .iter()
        .any(|k| k.use_.as_deref().is_some_and(|u| u != "sig"))
    {
        return Err(bad("jwks: keys must be signing keys (use = sig)"));
    }
    // A declared `alg` we would never accept in an assertion is refused now, not at `/token`.
    let allowed = |a: &str| tessera_jose::Alg::CLIENT.iter().any(|x| x.as_str() == a);
    if let Some(a) = set
        .keys
        .iter()
        .filter_map(|k| k.alg.as_deref())
        .find(|a| !allowed(a))
    {
        return Err(bad(format!(
            "jwks: alg {} is not accepted for client authentication (ES256, ES384, RS256)",
            clip(a)
        )));
    }
    Ok(set)
}

fn thumbprints(set: &JwkSet) -> Vec<String> {
    set.keys.iter().map(|k| k.thumbprint()).collect()
}

/// The key source and client profile of a stored RFC 7591 registration (for `/token`).
pub fn client_of(
    reg: &ClientRegistration,
) -> Result<(KeySourceConfig, Option<Vec<String>>), String> {
    let meta: Value = serde_json::from_str(&reg.metadata).map_err(|e| e.to_string())?;
    let keys = match (
        meta.get("jwks"),
        meta.get("jwks_uri").and_then(Value::as_str),
    ) {
        (Some(set), None) => KeySourceConfig::Static(set.clone()),
        (None, Some(u)) => KeySourceConfig::Remote(Url::parse(u).map_err(|e| e.to_string())?),
        _ => return Err("registration without keys".into()),
    };
    let scopes = meta
        .get("scope")
        .and_then(Value::as_str)
        .map(|s| s.split(' ').map(str::to_owned).collect());
    Ok((keys, scopes))
}

fn clip(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(64).collect()
}
