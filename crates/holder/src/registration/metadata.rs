//! Client metadata validation shared by UDAP DCR and RFC 7591 registration: what a client may
//! register here. Grant types: the token-exchange grant and `client_credentials` (the IG's B2B
//! grant; our `/token` serves token exchange only, so it grants nothing more); authentication
//! only `private_key_jwt`; `scope` a list of SMART v2 scopes (a ceiling, parsed as registered
//! scopes); no redirect-based flows.

use serde_json::{Map, Value};
use tessera_access::scope::{Syntax, parse_scope};

use crate::registration::error::RegistrationError;
use crate::token::request::TOKEN_EXCHANGE;

/// Grant types a client may register.
pub const REGISTRABLE_GRANT_TYPES: [&str; 2] = [TOKEN_EXCHANGE, "client_credentials"];
/// Most scopes one registration may name.
pub const MAX_REGISTERED_SCOPES: usize = 64;
/// Longest `client_name`.
pub const MAX_CLIENT_NAME: usize = 256;

/// Validated metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMetadata {
    /// Registered grant types (empty: a UDAP cancellation).
    pub grant_types: Vec<String>,
    /// `client_name`.
    pub client_name: Option<String>,
    /// `scope`, normalized to single spaces.
    pub scope: Option<String>,
    /// `contacts`.
    pub contacts: Vec<String>,
}

impl ClientMetadata {
    /// The registered metadata as JSON (what RFC 7591 §3.2.1 echoes).
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("grant_types".into(), self.grant_types.clone().into());
        m.insert("token_endpoint_auth_method".into(), "private_key_jwt".into());
        if let Some(n) = &self.client_name {
            m.insert("client_name".into(), n.clone().into());
        }
        if let Some(s) = &self.scope {
            m.insert("scope".into(), s.clone().into());
        }
        if !self.contacts.is_empty() {
            m.insert("contacts".into(), self.contacts.clone().into());
        }
        m
    }
}

fn bad(d: impl Into<String>) -> RegistrationError {
    RegistrationError::InvalidClientMetadata(d.into())
}

/// Validates the metadata members of `m` (software statement claims or the request body).
/// `client_name_required`: UDAP requires it.
pub fn validate(
    m: &Map<String, Value>,
    client_name_required: bool,
) -> Result<ClientMetadata, RegistrationError> {
    let grant_types = match m.get("grant_types") {
        Some(Value::Array(list)) => list
            .iter()
            .map(|g| {
                g.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad("grant_types must be strings"))
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(bad("grant_types must be an array")),
        None => return Err(bad("grant_types is required")),
    };
    if let Some(g) = grant_types
        .iter()
        .find(|g| !REGISTRABLE_GRANT_TYPES.contains(&g.as_str()))
    {
        return Err(bad(format!(
            "grant type {} not supported (token exchange or client_credentials)",
            clip(g)
        )));
    }
    if grant_types.is_empty() {
        // A cancellation: nothing else matters.
        return Ok(ClientMetadata {
            grant_types,
            client_name: None,
            scope: None,
            contacts: Vec::new(),
        });
    }
    match m.get("token_endpoint_auth_method") {
        Some(Value::String(a)) if a == "private_key_jwt" => {}
        None => return Err(bad("token_endpoint_auth_method must be private_key_jwt")),
        Some(_) => return Err(bad("token_endpoint_auth_method must be private_key_jwt")),
    }
    if m.contains_key("redirect_uris") || m.contains_key("response_types") {
        return Err(bad(
            "redirect_uris and response_types are not supported (no authorization_code grant)",
        ));
    }
    let client_name = match m.get("client_name") {
        Some(Value::String(n)) if !n.is_empty() && n.len() <= MAX_CLIENT_NAME => Some(n.clone()),
        None if !client_name_required => None,
        _ => return Err(bad("client_name is required (at most 256 characters)")),
    };
    let scope = match m.get("scope") {
        None => None,
        Some(Value::String(s)) => {
            let parts: Vec<&str> = s.split(' ').filter(|p| !p.is_empty()).collect();
            if parts.is_empty() || parts.len() > MAX_REGISTERED_SCOPES {
                return Err(bad("scope must list 1 to 64 SMART scopes"));
            }
            for p in &parts {
                parse_scope(p, Syntax::Registered)
                    .map_err(|e| bad(format!("scope {}: {e}", clip(p))))?;
            }
            Some(parts.join(" "))
        }
        Some(_) => return Err(bad("scope must be a string")),
    };
    let contacts = match m.get("contacts") {
        None => Vec::new(),
        Some(Value::Array(list)) if list.len() <= 16 => list
            .iter()
            .map(|c| {
                c.as_str()
                    .filter(|c| c.len() <= 256)
                    .map(str::to_owned)
                    .ok_or_else(|| bad("contacts must be strings"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("contacts must be an array of at most 16 strings")),
    };
    Ok(ClientMetadata {
        grant_types,
        client_name,
        scope,
        contacts,
    })
}

fn clip(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(64).collect()
}
