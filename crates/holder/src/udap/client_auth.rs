//! UDAP JWT-based client authentication at `/token` (UDAP Security IG §5.2.2; UDAP JWT Client
//! Authentication): the assertion carries the client certificate chain in `x5c`; the chain is
//! re-validated at each use against the anchors of the community the client registered in
//! (with CRLs), `iss` = `sub` = the registered `client_id`, the leaf still has the URI SAN it
//! registered with, lifetime ≤ 5 min, and the `jti` is spent through the request's replay
//! guard (committed with the request's token and audit row).
//!
//! [`Authenticators`] is the Data Holder's one [`ClientAuthenticator`]: an assertion with an
//! `x5c` header goes to [`UdapClients`], every other to the configured/registered clients.

use std::sync::Arc;

use serde_json::Value;
use tessera_jose::Alg;
use tessera_store::registrations::RegistrationStore;
use tessera_udap::claims::{self, MAX_LIFETIME, Rules, Signer};
use tessera_udap::{Purpose, X5cJwt};

use crate::config::FrameworkIdentityConfig;
use crate::token::client_auth::{
    AuthContext, AuthFuture, AuthenticatedClient, ClientAuthError, ClientAuthenticator,
    ClientCredentials, JWT_BEARER_ASSERTION, RegisteredClients,
};
use crate::token::replay_guard::{KeyKind, SpendError};
use crate::trust::fetch::Fetcher;
use crate::udap::{Communities, verify_in};

/// Clients registered by UDAP DCR.
#[derive(Debug)]
pub struct UdapClients {
    communities: Arc<Communities>,
    registrations: Arc<dyn RegistrationStore>,
    fetcher: Fetcher,
}

impl UdapClients {
    /// Over the communities and the registration store; assertion `jti`s are spent through
    /// the request's replay guard (`AuthContext::replay`).
    pub fn new(
        communities: Arc<Communities>,
        registrations: Arc<dyn RegistrationStore>,
        fetcher: Fetcher,
    ) -> UdapClients {
        UdapClients {
            communities,
            registrations,
            fetcher,
        }
    }

    async fn run(
        &self,
        assertion: &str,
        creds: ClientCredentials<'_>,
        ctx: AuthContext<'_>,
    ) -> Result<AuthenticatedClient, ClientAuthError> {
        let udap = |e: tessera_udap::UdapError| ClientAuthError::Udap(e.to_string());
        let jwt = X5cJwt::decode(assertion, Alg::CLIENT).map_err(udap)?;
        let client_id = match jwt.unverified_claims().get("iss") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err(ClientAuthError::IssSubMismatch),
        };
        if creds.client_id.is_some_and(|c| c != client_id) {
            return Err(ClientAuthError::ClientIdMismatch);
        }
        let reg = self
            .registrations
            .registration(&client_id)
            .map_err(|e| {
                tracing::error!(error = %e, "registration store unavailable");
                ClientAuthError::Unavailable
            })?
            .filter(|r| r.kind == "udap")
            .ok_or(ClientAuthError::UnknownClient)?;
        let (Some(tf), Some(san)) = (reg.trust_framework.as_deref(), reg.san.as_deref()) else {
            return Err(ClientAuthError::UnknownClient);
        };
        let community = self
            .communities
            .get(tf)
            .ok_or(ClientAuthError::UnknownClient)?;
        let v = verify_in(
            community,
            self.communities.crl_cache(),
            &self.fetcher,
            jwt,
            Purpose::Client,
            ctx.now,
        )
        .await
        .map_err(udap)?;
        let rules = Rules {
            audiences: ctx.audiences,
            now: ctx.now,
            leeway: ctx.leeway,
            max_lifetime: MAX_LIFETIME,
        };
        let checked = claims::check(
            &v,
            Signer::Client {
                client_id: &client_id,
                san,
            },
            rules,
        )
        .map_err(udap)?;
        // After the signature, so unauthenticated requests cannot fill the table.
        ctx.replay
            .spend(
                &client_id,
                &checked.jti,
                checked.exp + ctx.leeway,
                KeyKind::Assertion,
            )
            .map_err(|SpendError::Replayed| ClientAuthError::Replayed)?;
        let metadata: Value = serde_json::from_str(&reg.metadata).unwrap_or(Value::Null);
        let scopes = metadata
            .get("scope")
            .and_then(Value::as_str)
            .map(|s| s.split(' ').map(str::to_owned).collect());
        Ok(AuthenticatedClient {
            client_id,
            jkt: v.chain.leaf_key.thumbprint(),
            framework_identity: None,
            verified_framework: Some(FrameworkIdentityConfig {
                trust_framework: tf.to_owned(),
                framework_type: "udap".into(),
                entity_uri: san.to_owned(),
            }),
            acts_for: Vec::new(),
            scopes,
            introspection: false,
        })
    }
}

/// The Data Holder's client authentication: UDAP (`x5c`) or registered keys.
#[derive(Debug)]
pub struct Authenticators {
    /// UDAP-registered clients.
    pub udap: UdapClients,
    /// Configured and RFC 7591-registered `private_key_jwt` clients.
    pub registered: RegisteredClients,
}

fn has_x5c(assertion: &str) -> bool {
    // Routing only: the header segment is enough, and the authenticator chosen decodes the
    // whole assertion once, under its own limits.
    if assertion.len() > tessera_udap::MAX_X5C_JWT_LEN {
        return false;
    }
    let Some((header, _)) = assertion.split_once('.') else {
        return false;
    };
    tessera_jose::b64::decode(header)
        .ok()
        .and_then(|bytes| {
            tessera_jose::json::parse_object(
                &bytes,
                tessera_jose::jws::DEFAULT_MAX_JSON_DEPTH,
                "header",
            )
            .ok()
        })
        .is_some_and(|h| h.contains_key("x5c"))
}

impl ClientAuthenticator for Authenticators {
    fn authenticate<'a>(
        &'a self,
        creds: ClientCredentials<'a>,
        ctx: AuthContext<'a>,
    ) -> AuthFuture<'a> {
        match (creds.assertion_type, creds.assertion) {
            (Some(JWT_BEARER_ASSERTION), Some(a)) if has_x5c(a) => {
                Box::pin(self.udap.run(a, creds, ctx))
            }
            _ => self.registered.authenticate(creds, ctx),
        }
    }
}
