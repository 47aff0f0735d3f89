//! Layer 1: client authentication (spec-digest §4, §9; PT-CA). `private_key_jwt` per RFC 7523
//! as profiled by SMART Backend Services, for clients registered in configuration.
//!
//! [`ClientAuthenticator`] is the seam for trust-framework clients (UDAP `x5c`, OpenID
//! Federation `trust_chain`, Proposal 006 `well-known:` ids): each yields the same
//! [`AuthenticatedClient`], so presenter binding and access calculation do not care how the
//! client proved itself.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;
use tessera_jose::{Jws, Limits, decode};
use tessera_store::registrations::RegistrationStore;

use crate::config::{ClientConfig, FrameworkIdentityConfig, IdentifierConfig};
use crate::federation::OidfFrameworks;
use crate::federation::well_known::{WELL_KNOWN_PREFIX, WellKnownFrameworks};
use crate::token::replay_guard::{KeyKind, ReplayGuard, SpendError};
use crate::trust::keys::{KeyResolver, KeySource, verifying_key};

/// RFC 7523 §2.2 client assertion type.
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Longest accepted assertion lifetime (`exp` − `iat`, and `exp` − now), seconds.
pub const MAX_ASSERTION_LIFETIME: i64 = 300;
/// Longest accepted assertion `jti`.
pub const MAX_ASSERTION_JTI_LEN: usize = 256;
/// Largest accepted client assertion.
pub const MAX_ASSERTION_LEN: usize = 16 * 1024;

/// The authentication material of a request.
#[derive(Debug, Clone, Copy)]
pub struct ClientCredentials<'a> {
    /// `client_assertion_type`.
    pub assertion_type: Option<&'a str>,
    /// `client_assertion`.
    pub assertion: Option<&'a str>,
    /// `client_id` form parameter, if sent (must then equal the assertion's).
    pub client_id: Option<&'a str>,
}

/// A client that passed Layer 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedClient {
    /// Client id (`iss` = `sub` of the assertion).
    pub client_id: String,
    /// RFC 7638 thumbprint of the key that verified the assertion (`jkt` binding).
    pub jkt: String,
    /// Framework identity asserted by configuration, if any (`trust_framework_client`).
    pub framework_identity: Option<FrameworkIdentityConfig>,
    /// Framework identity proven by the authentication itself (UDAP: the certificate's URI
    /// SAN under the community's anchors; OIDF: the client's verified trust chain), if any.
    pub verified_framework: Option<FrameworkIdentityConfig>,
    /// Organizations this client acts for (OP-33).
    pub acts_for: Vec<IdentifierConfig>,
    /// Scope eligibility (`None` = unlimited).
    pub scopes: Option<Vec<String>>,
    /// May introspect.
    pub introspection: bool,
}

/// Why Layer 1 failed. Every variant is `invalid_client` (HTTP 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientAuthError {
    /// No client authentication in the request.
    #[error("Client authentication required")]
    Missing,
    /// A mechanism we do not support (other assertion type, HTTP Basic).
    #[error("Unsupported client authentication method")]
    UnsupportedMethod,
    /// The assertion is not a well-formed JWS with an allowed `alg`.
    #[error("Malformed client assertion")]
    Malformed,
    /// `iss`/`sub` missing or different.
    #[error("Client assertion iss and sub must both equal the client id")]
    IssSubMismatch,
    /// The `client_id` parameter names another client.
    #[error("client_id does not match the client assertion")]
    ClientIdMismatch,
    /// Not registered, or disabled.
    #[error("Unknown client")]
    UnknownClient,
    /// The client's keys could not be obtained.
    #[error("Client keys unavailable")]
    KeysUnavailable,
    /// No registered key verifies the signature.
    #[error("Client assertion signature verification failed")]
    BadSignature,
    /// `aud` is not the token endpoint URL.
    #[error("Client assertion audience must be the token endpoint URL")]
    Audience,
    /// `exp` missing or passed.
    #[error("Client assertion expired")]
    Expired,
    /// `exp` too far ahead, or `iat`/`nbf` in the future.
    #[error("Client assertion lifetime not acceptable")]
    Lifetime,
    /// `jti` missing or too long.
    #[error("Client assertion jti required")]
    MissingJti,
    /// `jti` seen before (PT-CA-05).
    #[error("Client assertion replayed")]
    Replayed,
    /// A UDAP check failed (certificate chain, revocation, signature, claims); names it.
    #[error("UDAP client authentication failed: {0}")]
    Udap(String),
    /// The replay cache could not be consulted (fail closed).
    #[error("Client authentication unavailable")]
    Unavailable,
    /// An OpenID Federation client whose trust chain or metadata failed (the check named).
    #[error("Client trust chain rejected: {0}")]
    TrustChain(String),
    /// A `well-known:` client not recognized, or whose JWKS failed (the check named).
    #[error("Well-known client rejected: {0}")]
    WellKnown(String),
}

/// What a client authenticator needs from the request context.
#[derive(Debug, Clone, Copy)]
pub struct AuthContext<'a> {
    /// Required assertion `aud` (the token endpoint URL, or the introspection URL).
    pub audiences: &'a [String],
    /// Current time.
    pub now: i64,
    /// Clock leeway.
    pub leeway: i64,
    /// Where a verified assertion's `jti` is spent (committed with the request's outcome).
    pub replay: &'a ReplayGuard,
}

/// Boxed future returned by [`ClientAuthenticator::authenticate`].
pub type AuthFuture<'a> =
    Pin<Box<dyn Future<Output = Result<AuthenticatedClient, ClientAuthError>> + Send + 'a>>;

/// A way of authenticating clients (registered keys today; trust frameworks later).
pub trait ClientAuthenticator: Send + Sync + std::fmt::Debug {
    /// Authenticates the request's client.
    fn authenticate<'a>(
        &'a self,
        creds: ClientCredentials<'a>,
        ctx: AuthContext<'a>,
    ) -> AuthFuture<'a>;
}

/// A configured client.
#[derive(Debug, Clone)]
struct Registered {
    keys: KeySource,
    cfg: ClientConfig,
}

/// `private_key_jwt` for clients registered in configuration; assertion `jti`s are spent
/// through the request's [`ReplayGuard`].
#[derive(Debug)]
pub struct RegisteredClients {
    clients: HashMap<String, Registered>,
    keys: Arc<KeyResolver>,
    oidf: Arc<OidfFrameworks>,
    well_known: Arc<WellKnownFrameworks>,
    dynamic: Option<Arc<dyn RegistrationStore>>,
}

impl RegisteredClients {
    /// Builds the registry; a bad static key set names the client.
    pub fn new(list: &[ClientConfig], keys: Arc<KeyResolver>) -> Result<RegisteredClients, String> {
        let mut clients = HashMap::new();
        for (i, c) in list.iter().enumerate() {
            let ks = KeySource::from_config(&c.keys)
                .map_err(|e| format!("config key `client[{i}]` keys: {e}"))?;
            clients.insert(
                c.client_id.clone(),
                Registered {
                    keys: ks,
                    cfg: c.clone(),
                },
            );
        }
        Ok(RegisteredClients {
            clients,
            keys,
            oidf: Arc::default(),
            well_known: Arc::default(),
            dynamic: None,
        })
    }

    /// Also recognizes clients registered by RFC 7591 (`jwks`/`jwks_uri`) in `store`.
    pub fn with_registrations(mut self, store: Arc<dyn RegistrationStore>) -> RegisteredClients {
        self.dynamic = Some(store);
        self
    }

    /// The keys and profile of an RFC 7591-registered client, if `client_id` is one.
    fn dynamic_client(
        &self,
        client_id: &str,
    ) -> Result<Option<(KeySource, ClientConfig)>, ClientAuthError> {
        let Some(store) = &self.dynamic else {
            return Ok(None);
        };
        let unavailable = |e: String| {
            tracing::error!(error = %e, "registered client unusable");
            ClientAuthError::Unavailable
        };
        let Some(reg) = store
            .registration(client_id)
            .map_err(|e| unavailable(e.to_string()))?
            .filter(|r| r.kind == crate::registration::rfc7591::KIND_JWKS)
        else {
            return Ok(None);
        };
        let (keys, scopes) = crate::registration::rfc7591::client_of(&reg).map_err(unavailable)?;
        let source = KeySource::from_config(&keys).map_err(unavailable)?;
        Ok(Some((
            source,
            ClientConfig {
                client_id: client_id.to_owned(),
                keys,
                scopes,
                acts_for: Vec::new(),
                framework_identity: None,
                introspection: false,
                disabled: false,
            },
        )))
    }

    /// Also recognizes OpenID Federation clients of these federations.
    pub fn with_oidf(mut self, oidf: Arc<OidfFrameworks>) -> RegisteredClients {
        self.oidf = oidf;
        self
    }

    /// Also recognizes Proposal 006 `well-known:{entity_uri}` clients of these frameworks.
    pub fn with_well_known(mut self, well_known: Arc<WellKnownFrameworks>) -> RegisteredClients {
        self.well_known = well_known;
        self
    }

    /// Keys and the client profile of an unregistered client through a federation or a
    /// well-known framework.
    async fn federated(
        &self,
        jws: &Jws,
        client_id: &str,
        now: i64,
    ) -> Result<(Arc<tessera_jose::JwkSet>, ClientConfig), ClientAuthError> {
        use crate::federation::client::{FederatedClientError, authenticate};
        let profile = |identity| ClientConfig {
            client_id: client_id.to_owned(),
            keys: crate::config::KeySourceConfig::Static(Value::Null),
            scopes: None,
            acts_for: Vec::new(),
            framework_identity: Some(identity),
            introspection: false,
            disabled: false,
        };
        if client_id.starts_with(WELL_KNOWN_PREFIX) {
            let kid = jws.header().kid.as_deref();
            return match self
                .well_known
                .authenticate(&self.keys, client_id, kid, now)
                .await
            {
                Ok(c) => Ok((c.keys, profile(c.identity))),
                Err(e) => Err(ClientAuthError::WellKnown(
                    e.to_string().chars().take(300).collect(),
                )),
            };
        }
        match authenticate(&self.oidf, jws, client_id, now).await {
            Ok(fc) => Ok((Arc::new(fc.keys), profile(fc.identity))),
            Err(FederatedClientError::NotFederated) => Err(ClientAuthError::UnknownClient),
            Err(FederatedClientError::BadHeader) => Err(ClientAuthError::Malformed),
            Err(FederatedClientError::Chain(e)) => Err(ClientAuthError::TrustChain(
                e.to_string().chars().take(300).collect(),
            )),
        }
    }

    async fn run(
        &self,
        creds: ClientCredentials<'_>,
        ctx: AuthContext<'_>,
    ) -> Result<AuthenticatedClient, ClientAuthError> {
        let assertion = match (creds.assertion_type, creds.assertion) {
            (None, None) => return Err(ClientAuthError::Missing),
            (Some(JWT_BEARER_ASSERTION), Some(a)) => a,
            (Some(JWT_BEARER_ASSERTION), None) | (None, Some(_)) => {
                return Err(ClientAuthError::Malformed);
            }
            (Some(_), _) => return Err(ClientAuthError::UnsupportedMethod),
        };
        let limits = Limits {
            max_token_len: MAX_ASSERTION_LEN,
            ..Limits::client()
        };
        let jws = decode(assertion, &limits).map_err(|_| ClientAuthError::Malformed)?;
        let client_id = iss_sub(&jws)?;
        if creds.client_id.is_some_and(|c| c != client_id) {
            return Err(ClientAuthError::ClientIdMismatch);
        }
        let verified = !self.clients.contains_key(&client_id);
        let (set, cfg) = match self.clients.get(&client_id) {
            Some(reg) if reg.cfg.disabled => return Err(ClientAuthError::UnknownClient),
            Some(reg) => {
                let set = self
                    .keys
                    .key_set(&reg.keys, jws.header().kid.as_deref(), ctx.now)
                    .await
                    .map_err(|_| ClientAuthError::KeysUnavailable)?;
                (set, reg.cfg.clone())
            }
            None => match self.dynamic_client(&client_id)? {
                Some((source, cfg)) => {
                    let set = self
                        .keys
                        .key_set(&source, jws.header().kid.as_deref(), ctx.now)
                        .await
                        .map_err(|_| ClientAuthError::KeysUnavailable)?;
                    (set, cfg)
                }
                // Not registered: perhaps a federation entity (never fetched unless a
                // configured federation applies: a `trust_chain` to its anchor, or online
                // resolution on).
                None => self.federated(&jws, &client_id, ctx.now).await?,
            },
        };
        let key = verifying_key(&jws, &set).map_err(|_| ClientAuthError::BadSignature)?;
        let jkt = key.thumbprint();
        let exp = check_claims(&jws, ctx)?;
        let jti = match jws.claims().get("jti") {
            Some(Value::String(j)) if !j.is_empty() && j.len() <= MAX_ASSERTION_JTI_LEN => j,
            _ => return Err(ClientAuthError::MissingJti),
        };
        // After the signature, so unauthenticated requests cannot fill the table.
        ctx.replay
            .spend(&client_id, jti, exp + ctx.leeway, KeyKind::Assertion)
            .map_err(|SpendError::Replayed| ClientAuthError::Replayed)?;
        Ok(AuthenticatedClient {
            client_id,
            jkt,
            // A federation-proven identity is verified; a configured one stays asserted.
            verified_framework: if verified {
                cfg.framework_identity.clone()
            } else {
                None
            },
            framework_identity: if verified {
                None
            } else {
                cfg.framework_identity
            },
            acts_for: cfg.acts_for,
            scopes: cfg.scopes,
            introspection: cfg.introspection,
        })
    }
}

impl ClientAuthenticator for RegisteredClients {
    fn authenticate<'a>(
        &'a self,
        creds: ClientCredentials<'a>,
        ctx: AuthContext<'a>,
    ) -> AuthFuture<'a> {
        Box::pin(self.run(creds, ctx))
    }
}

/// The client id a (not yet verified) assertion claims, for audit of failed attempts.
pub fn claimed_client_id(assertion: &str) -> Option<String> {
    let limits = Limits {
        max_token_len: MAX_ASSERTION_LEN,
        ..Limits::client()
    };
    let jws = decode(assertion, &limits).ok()?;
    let iss = jws.claims().get("iss")?.as_str()?;
    Some(iss.chars().take(256).collect())
}

fn iss_sub(jws: &Jws) -> Result<String, ClientAuthError> {
    let claims = jws.claims();
    match (claims.get("iss"), claims.get("sub")) {
        (Some(Value::String(i)), Some(Value::String(s))) if i == s && !i.is_empty() => {
            Ok(i.clone())
        }
        _ => Err(ClientAuthError::IssSubMismatch),
    }
}

/// Checks `aud`, `exp`, `iat`, `nbf`; returns `exp`.
fn check_claims(jws: &Jws, ctx: AuthContext<'_>) -> Result<i64, ClientAuthError> {
    let claims = jws.claims();
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => ctx.audiences.iter().any(|x| x == a),
        Some(Value::Array(list)) => list.iter().any(|v| {
            v.as_str()
                .is_some_and(|a| ctx.audiences.iter().any(|x| x == a))
        }),
        _ => false,
    };
    if !aud_ok {
        return Err(ClientAuthError::Audience);
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(ClientAuthError::Expired)?;
    if exp <= ctx.now - ctx.leeway {
        return Err(ClientAuthError::Expired);
    }
    if exp > ctx.now + MAX_ASSERTION_LIFETIME + ctx.leeway {
        return Err(ClientAuthError::Lifetime);
    }
    for name in ["iat", "nbf"] {
        match claims.get(name) {
            None => {}
            Some(v) => {
                let t = v.as_i64().ok_or(ClientAuthError::Lifetime)?;
                if t > ctx.now + ctx.leeway {
                    return Err(ClientAuthError::Lifetime);
                }
                // Saturating: an `iat` near i64::MIN must not wrap into a short lifetime
                // (fuzz target `client_assertion`, docs/security.md).
                if name == "iat" && exp.saturating_sub(t) > MAX_ASSERTION_LIFETIME {
                    return Err(ClientAuthError::Lifetime);
                }
            }
        }
    }
    Ok(exp)
}
