//! The kit as a Proposal 006 well-known client (PT-CA-09, PT-BIND-07): its entity is
//! `{issuer.url}/well-known-client`, whose `/.well-known/jwks.json` the kit serves (the client
//! key); the target recognizes the entity under `[well_known] framework`. A second entity with
//! the same keys, `{issuer.url}/unlisted-client`, is one the target must not recognize.

use tessera_client::ClientKey;
use tessera_jose::{Alg, PrivateJwk};

use super::framework::{self, OTHER_FRAMEWORK, redeem_as};
use super::{Check, Fut, custom};
use crate::ctx::{Ctx, Stop, skip};
use crate::expect::{self, CLIENT, Expect, grant};
use crate::host::{UNLISTED_CLIENT_PATH, WELL_KNOWN_CLIENT_PATH};

const MISMATCH: Expect = grant("Ticket presenter binding mismatch");

pub(super) const CHECKS: &[Check] = &[
    custom("PT-CA-09", "recognized-entity", |c| {
        run(c, Case::Entity, Expect::Token)
    }),
    custom("PT-CA-09", "entity-the-framework-does-not-list", |c| {
        run(c, Case::Unlisted, CLIENT)
    }),
    custom("PT-CA-09", "signed-by-a-key-not-in-the-entity-jwks", |c| {
        run(c, Case::OtherKey, CLIENT)
    }),
    custom("PT-BIND-07", "entity-uri-is-the-client-entity", |c| {
        run(c, Case::Entity, Expect::Token)
    }),
    custom("PT-BIND-07", "entity-uri-is-another-entity", |c| {
        run(c, Case::OtherEntity, MISMATCH)
    }),
    custom("PT-BIND-07", "another-trust-framework", |c| {
        run(c, Case::OtherFramework, MISMATCH)
    }),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    /// The recognized entity, bound to itself.
    Entity,
    /// The unlisted entity (same keys), bound to itself.
    Unlisted,
    /// The recognized entity, assertion signed by a key its JWKS lacks.
    OtherKey,
    /// The recognized entity, ticket bound to the unlisted one.
    OtherEntity,
    /// The recognized entity, ticket naming another framework.
    OtherFramework,
}

fn run(c: &Ctx, case: Case, want: Expect) -> Fut<'_> {
    Box::pin(async move {
        let Some(w) = c.config.well_known.as_ref() else {
            return skip(
                "needs setup: a well-known framework listing the kit's entity ([well_known] in \
                 kit.toml)",
            );
        };
        let entity = format!("{}{WELL_KNOWN_CLIENT_PATH}", c.host.url);
        let unlisted = format!("{}{UNLISTED_CLIENT_PATH}", c.host.url);
        let client_entity = if case == Case::Unlisted {
            &unlisted
        } else {
            &entity
        };
        let bound_entity = match case {
            Case::Unlisted | Case::OtherEntity => &unlisted,
            _ => &entity,
        };
        let tf = if case == Case::OtherFramework {
            OTHER_FRAMEWORK
        } else {
            w.framework.as_str()
        };
        let other;
        let key = if case == Case::OtherKey {
            let k = PrivateJwk::generate(Alg::Es256).map_err(|e| Stop::Fail(e.to_string()))?;
            other = ClientKey::new(k).map_err(|e| Stop::Fail(e.to_string()))?;
            &other
        } else {
            &c.keys.client
        };
        let aud = c.token_endpoint().await?;
        let assertion = tessera_client::jwt::client_assertion(
            key,
            &format!("well-known:{client_entity}"),
            &aud,
            c.now(),
            &uuid::Uuid::new_v4().to_string(),
        )
        .map_err(|e| Stop::Fail(format!("kit cannot sign its client assertion: {e}")))?;
        let binding = framework::binding(tf, "well-known", bound_entity);
        let ex = redeem_as(c, binding, &assertion).await?;
        expect::check(&ex, want)
    })
}
