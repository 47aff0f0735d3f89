//! The kit as an OpenID Federation client and ticket issuer (PT-BIND-08, PT-TRUST-02/03),
//! under its own trust anchor (`[federation]`; see `crate::federation`). The client
//! authenticates with its entity ID as `client_id` and its trust chain in the assertion's
//! `trust_chain` header; the issuer's ticket keys are its `smart_permission_ticket_issuer`
//! metadata, never its federation key.

use serde_json::{Map, json};
use tessera_client::ClientKey;

use super::framework::{self, OTHER_FRAMEWORK, redeem_as};
use super::{Check, Fut, custom};
use crate::ctx::{Ctx, Stop, skip};
use crate::expect::{self, CLIENT, Expect, GRANT, grant};
use crate::federation::Federation;
use crate::tickets::sign_claims;

const MISMATCH: Expect = grant("Ticket presenter binding mismatch");

pub(super) const CHECKS: &[Check] = &[
    custom("PT-BIND-08", "trust-chain-to-the-anchor", |c| {
        client(c, Case::Entity, Expect::Token)
    }),
    custom("PT-BIND-08", "binding-names-another-anchor", |c| {
        client(c, Case::OtherAnchor, MISMATCH)
    }),
    custom("PT-BIND-08", "binding-names-another-entity", |c| {
        client(c, Case::OtherEntity, MISMATCH)
    }),
    custom(
        "PT-BIND-08",
        "assertion-signed-with-the-federation-key",
        |c| client(c, Case::FederationKey, CLIENT),
    ),
    custom(
        "PT-TRUST-02",
        "ticket-signed-with-the-issuer-metadata-key",
        |c| issuer(c, false, Expect::Token),
    ),
    custom(
        "PT-TRUST-03",
        "ticket-signed-with-the-federation-key",
        |c| issuer(c, true, GRANT),
    ),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    Entity,
    OtherAnchor,
    OtherEntity,
    FederationKey,
}

fn setup(c: &Ctx) -> Result<&Federation, Stop> {
    if c.config.federation.is_none() {
        return skip(
            "needs setup: an OpenID Federation whose anchor the target trusts ([federation] in \
             kit.toml)",
        );
    }
    match &c.federation {
        Some(f) => Ok(f),
        None => skip(
            "needs setup: the key file has no federation anchor key (`federation_anchor`); \
             rerun `tessera conformance init` in an empty directory",
        ),
    }
}

fn client(c: &Ctx, case: Case, want: Expect) -> Fut<'_> {
    Box::pin(async move {
        let fed = setup(c)?;
        let anchor = if case == Case::OtherAnchor {
            OTHER_FRAMEWORK
        } else {
            fed.anchor.id.as_str()
        };
        let entity = if case == Case::OtherEntity {
            &fed.issuer.id
        } else {
            &fed.client.id
        };
        let federation_key;
        let key = if case == Case::FederationKey {
            federation_key =
                ClientKey::new(fed.client.key.clone()).map_err(|e| Stop::Fail(e.to_string()))?;
            &federation_key
        } else {
            &c.keys.client
        };
        let mut header = Map::new();
        header.insert("trust_chain".into(), json!(fed.client_chain));
        let assertion = tessera_client::jwt::client_assertion_with_header(
            key,
            &fed.client.id,
            &c.token_endpoint().await?,
            c.now(),
            &uuid::Uuid::new_v4().to_string(),
            &header,
        )
        .map_err(|e| Stop::Fail(format!("kit cannot sign its client assertion: {e}")))?;
        let ex = redeem_as(c, framework::binding(anchor, "oidf", entity), &assertion).await?;
        expect::check(&ex, want)
    })
}

/// The baseline ticket from the federation's issuer entity, signed with its metadata key (the
/// kit's ES256 issuer key) or its federation key.
fn issuer(c: &Ctx, federation_key: bool, want: Expect) -> Fut<'_> {
    Box::pin(async move {
        let fed = setup(c)?;
        let mut m = c.base_payload();
        m.insert("iss".into(), fed.issuer.id.clone().into());
        let ticket = if federation_key {
            let signer = fed
                .issuer
                .key
                .signer()
                .map_err(|e| Stop::Fail(e.to_string()))?;
            sign_claims(&Map::new(), &m, &signer)?
        } else {
            c.mint(m)?
        };
        let ex = c.redeem(&ticket).await?;
        expect::check(&ex, want)
    })
}
